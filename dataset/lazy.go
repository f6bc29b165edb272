package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
)

// decodes counts the images decoded (pixels, not headers) since the
// program started; tests read it.
var decodes atomic.Int64

// lazyImages is the source of a lazy Set (Options.Lazy): the image files
// or archive members of its samples, decoded when a sample is read.
type lazyImages struct {
	order []imgEntry
}

// Lazy reports whether s decodes its samples when they are read (Pix is
// nil): image folders and archives opened with Options.Lazy.
func (s *Set) Lazy() bool { return s.lazy != nil }

// Bytes returns the memory the set holds for its samples: the pixels, or
// for a lazy set the encoded images it keeps (archive members).
func (s *Set) Bytes() int64 {
	b := int64(len(s.Pix)+len(s.Labels)) + 4*int64(len(s.Float))
	if s.lazy != nil {
		for i := range s.lazy.order {
			b += int64(len(s.lazy.order[i].data))
		}
	}
	return b
}

// decodeInto decodes sample i of a lazy set into dst (SampleSize bytes).
func (s *Set) decodeInto(i int, dst []uint8) error {
	// The header again: the file may have changed since Open read it.
	return s.lazy.order[i].decode(s.C, s.H, s.W, dst)
}

// decode reads the image of e, checks that it is w×h, and writes it as c
// planes into dst (c·h·w bytes).
func (e *imgEntry) decode(c, h, w int, dst []uint8) error {
	r, done, err := e.open()
	if err != nil {
		return err
	}
	defer done()
	img, _, err := image.Decode(r)
	if err != nil {
		return e.err("decoding image: %w", err)
	}
	decodes.Add(1)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return e.err("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	putPixels(img, c, dst)
	return nil
}

// gatherLazy decodes the samples idx (in parallel, each into its own slot)
// and writes them as Gather does.
func (s *Set) gatherLazy(idx []int, x []float32, y []int32) error {
	n := s.SampleSize()
	buf := make([]uint8, len(idx)*n)
	err := parallelFor(len(idx), func(k int) error {
		return s.decodeInto(idx[k], buf[k*n:(k+1)*n])
	})
	if err != nil {
		return err
	}
	for k, i := range idx {
		dst := x[k*n : (k+1)*n]
		for j, v := range buf[k*n : (k+1)*n] {
			dst[j] = scale[v]
		}
		y[k] = int32(s.Labels[i])
	}
	return nil
}

// Fingerprint identifies the set's contents for caches: a SHA-256 over its
// name, shape, classes and labels, and the path, size and modification
// time of every file it was read from (an image folder: every image file);
// for a set built in memory, over its pixels. Two sets with the same
// fingerprint hold the same samples unless a file was rewritten with the
// same size and modification time.
func (s *Set) Fingerprint() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "quartz-dataset-1\x00%s\x00%d %d %d %d\x00%q\x00", s.Name, s.Len(), s.C, s.H, s.W, s.Classes)
	h.Write(s.Labels)
	var files []string
	switch {
	case s.files != nil:
		files = s.files
	case s.Float != nil:
		var b [4]byte
		for _, v := range s.Float {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	default:
		h.Write(s.Pix)
	}
	var b [16]byte
	for _, f := range files {
		if f == "" {
			continue
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return "", fmt.Errorf("dataset: %w", err)
		}
		binary.LittleEndian.PutUint64(b[:8], uint64(fi.Size()))
		binary.LittleEndian.PutUint64(b[8:], uint64(fi.ModTime().UnixNano()))
		h.Write([]byte(abs))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Subset returns the samples idx of s, in that order, as a Set held in
// memory (a lazy set's samples are decoded once, here). Its Fingerprint
// hashes its pixels.
func (s *Set) Subset(idx []int) (*Set, error) {
	n := s.SampleSize()
	if _, ok := checkedSize(int64(len(idx)), int64(n)); !ok {
		return nil, fmt.Errorf("dataset: %s: %d samples of %d values exceed %d bytes", s.Name, len(idx), n, maxBytes)
	}
	t := &Set{Name: s.Name, C: s.C, H: s.H, W: s.W, Classes: s.Classes, Labels: make([]uint8, len(idx)), unsplit: s.unsplit}
	var err error
	if s.Float != nil {
		t.Float = make([]float32, len(idx)*n)
		for k, i := range idx {
			copy(t.Float[k*n:(k+1)*n], s.Float[i*n:(i+1)*n])
		}
	} else if t.Pix = make([]uint8, len(idx)*n); s.lazy != nil {
		err = parallelFor(len(idx), func(k int) error { return s.decodeInto(idx[k], t.Pix[k*n:(k+1)*n]) })
	} else {
		for k, i := range idx {
			copy(t.Pix[k*n:(k+1)*n], s.Pix[i*n:(i+1)*n])
		}
	}
	if err != nil {
		return nil, err
	}
	for k, i := range idx {
		t.Labels[k] = s.Labels[i]
	}
	return t, t.check()
}
