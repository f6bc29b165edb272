package npy

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Keys returns the array names in an .npz archive (member names without
// ".npy"), in archive order.
func Keys(z *zip.Reader) []string {
	var k []string
	for _, f := range z.File {
		if name, ok := strings.CutSuffix(f.Name, ".npy"); ok {
			k = append(k, name)
		}
	}
	return k
}

// ReadNPZ reads the arrays keys from the .npz archive r (size bytes; name
// for errors), each payload at most maxBytes.
func ReadNPZ(r io.ReaderAt, size int64, name string, keys []string, maxBytes int64) ([]*Array, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, errf(name, -1, "not an .npz file (a zip archive): %w", err)
	}
	out := make([]*Array, len(keys))
	for i, k := range keys {
		j := slices.IndexFunc(z.File, func(f *zip.File) bool { return f.Name == k+".npy" })
		if j < 0 {
			return nil, errf(name, -1, "no array %q; it holds %s", k, keyList(Keys(z)))
		}
		f := z.File[j]
		member := name + ":" + f.Name
		if f.UncompressedSize64 > uint64(maxBytes)+MaxHeader+16 {
			return nil, errf(member, -1, "%d bytes uncompressed, more than the %d-byte limit", f.UncompressedSize64, maxBytes)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, errf(member, -1, "%w", err)
		}
		a, err := Read(rc, member, maxBytes)
		if err == nil {
			// The zip reader checks the CRC-32 at EOF, which Read reached.
			_, err = io.Copy(io.Discard, rc)
			if err != nil {
				err = errf(member, -1, "%w", err)
			}
		}
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// ReadNPZFile is ReadNPZ on a file.
func ReadNPZFile(path string, keys []string, maxBytes int64) ([]*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return ReadNPZ(f, fi.Size(), path, keys, maxBytes)
}

// ReadFile reads one .npy file.
func ReadFile(path string, maxBytes int64) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path, maxBytes)
}

func keyList(k []string) string {
	if len(k) == 0 {
		return "no .npy members"
	}
	q := make([]string, len(k))
	for i, s := range k {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
