package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrExternalData reports a tensor whose values are stored outside the
// model file where they cannot be read: no model folder is known (the
// model was not read from a file), or the location is unsafe or missing.
var ErrExternalData = errors.New("external data")

// loadExternal reads the values of a tensor stored as external data (the
// current PyTorch exporter's default) into t.RawData. The location must be
// a relative path inside the model's folder: absolute paths, ".." and
// symbolic links that leave the folder are refused.
func (c *converter) loadExternal(t *Tensor) error {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range t.ExternalData {
		var err error
		switch kv.Key {
		case "location":
			loc = kv.Value
		case "offset":
			offset, err = strconv.ParseInt(kv.Value, 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.Value, 10, 64)
		case "checksum":
		default:
			return fmt.Errorf("%w: unknown key %q", ErrExternalData, kv.Key)
		}
		if err != nil {
			return fmt.Errorf("%w: %s %q: %v", ErrExternalData, kv.Key, kv.Value, err)
		}
	}
	if loc == "" {
		return fmt.Errorf("%w: no location", ErrExternalData)
	}
	if c.opt.Dir == "" {
		return fmt.Errorf("%w in %q: the model was not read from a file, so there is no folder to read it from", ErrExternalData, loc)
	}
	path, err := safeJoin(c.opt.Dir, loc)
	if err != nil {
		return err
	}
	n, err := t.NumElements()
	if err != nil {
		return err
	}
	size := int64(n) * int64(elemSize(t.DataType))
	if elemSize(t.DataType) == 0 {
		return fmt.Errorf("unsupported data type %v", t.DataType)
	}
	if length >= 0 && length != size {
		return fmt.Errorf("%w %s: length %d, the tensor's dims %v need %d bytes", ErrExternalData, loc, length, t.Dims, size)
	}
	if offset < 0 {
		return fmt.Errorf("%w %s: negative offset %d", ErrExternalData, loc, offset)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrExternalData, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrExternalData, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w %s: not a regular file", ErrExternalData, loc)
	}
	if offset+size > st.Size() {
		return fmt.Errorf("%w %s: bytes %d..%d wanted, the file has %d", ErrExternalData, loc, offset, offset+size, st.Size())
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, offset); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w %s: %v", ErrExternalData, loc, err)
	}
	t.RawData = b
	t.DataLocation, t.ExternalData = 0, nil
	t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData = nil, nil, nil, nil
	c.external++
	return nil
}

// safeJoin joins a relative location to dir, refusing any that leaves dir,
// through ".." or a symbolic link.
func safeJoin(dir, loc string) (string, error) {
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) {
		return "", fmt.Errorf("%w location %q: absolute paths are refused (it must be a file beside the model)", ErrExternalData, loc)
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w location %q leaves the model's folder", ErrExternalData, loc)
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("%w: model folder: %v", ErrExternalData, err)
	}
	p, err := filepath.EvalSymlinks(filepath.Join(root, clean))
	if err != nil {
		return "", fmt.Errorf("%w location %q: %v", ErrExternalData, loc, err)
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w location %q leads out of the model's folder (through a symbolic link)", ErrExternalData, loc)
	}
	return p, nil
}
