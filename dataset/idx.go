package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX is a parsed IDX file of unsigned bytes (type code 0x08): the
// dimensions from the header and the data in row-major order.
type IDX struct {
	Dims []int
	Data []byte
}

// maxIDXDims bounds the number of dimensions an IDX header may declare.
const maxIDXDims = 8

// ReadIDX parses an IDX file of unsigned bytes from r, which may be gzipped
// (detected by the magic bytes 1f 8b). name is used in error messages.
// The declared size is checked against MaxBytes before any data is read, and
// memory grows with the data actually present, so a short file with a huge
// header costs little. Data after the declared payload is an error.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	return readIDX(r, name, -1)
}

// readIDX is ReadIDX reading at most maxItems entries of the first dimension
// when maxItems >= 0; it then does not check for trailing data.
func readIDX(r io.Reader, name string, maxItems int) (*IDX, error) {
	cr, closeFn, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	defer closeFn()

	var hdr [4]byte
	if err := readFull(cr, hdr[:], name, "IDX magic"); err != nil {
		return nil, err
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, formatErr(name, 0, "not an IDX file: magic %02x%02x%02x%02x", hdr[0], hdr[1], hdr[2], hdr[3])
	}
	if hdr[2] != 0x08 {
		return nil, formatErr(name, 2, "IDX element type 0x%02x unsupported, want 0x08 (unsigned byte)", hdr[2])
	}
	nd := int(hdr[3])
	if nd < 1 || nd > maxIDXDims {
		return nil, formatErr(name, 3, "IDX header declares %d dimensions, want 1..%d", nd, maxIDXDims)
	}
	raw := make([]byte, 4*nd)
	if err := readFull(cr, raw, name, "IDX dimensions"); err != nil {
		return nil, err
	}
	dims := make([]int, nd)
	d64 := make([]int64, nd)
	for i := range dims {
		d := binary.BigEndian.Uint32(raw[4*i:])
		dims[i] = int(d)
		d64[i] = int64(d)
	}
	total, ok := checkedSize(d64...)
	if !ok {
		return nil, formatErr(name, 4, "IDX dimensions %v exceed %d bytes", dims, maxBytes)
	}
	if maxItems >= 0 && maxItems < dims[0] {
		dims[0] = maxItems
		total, _ = checkedSize(append([]int64{int64(maxItems)}, d64[1:]...)...)
	}
	data, err := readN(cr, total, name)
	if err != nil {
		return nil, err
	}
	if maxItems < 0 {
		var one [1]byte
		n, err := io.ReadFull(cr, one[:])
		if n > 0 {
			return nil, formatErr(name, cr.n-1, "trailing data after %d declared bytes", total)
		}
		if err != nil && err != io.EOF {
			return nil, &FormatError{File: name, Offset: cr.n, Err: err}
		}
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// maybeGunzip wraps r in a gzip reader if it starts with the gzip magic.
// Offsets counted by the returned reader are in the decompressed stream.
func maybeGunzip(r io.Reader, name string) (*countReader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, &FormatError{File: name, Offset: 0, Err: fmt.Errorf("gzip header: %w", err)}
		}
		return &countReader{r: zr}, func() { zr.Close() }, nil
	}
	return &countReader{r: br}, func() {}, nil
}

// readFull fills p from cr; a short read is a FormatError at the offset where
// the data ran out.
func readFull(cr *countReader, p []byte, name, what string) error {
	start := cr.n
	if _, err := io.ReadFull(cr, p); err != nil {
		return truncErr(name, cr.n, fmt.Sprintf("%s (%d bytes at offset %d)", what, len(p), start), err)
	}
	return nil
}

func truncErr(name string, off int64, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{File: name, Offset: off, Err: fmt.Errorf("truncated %s: %w", what, io.ErrUnexpectedEOF)}
	}
	return &FormatError{File: name, Offset: off, Err: fmt.Errorf("reading %s: %w", what, err)}
}

// readN reads exactly n bytes, growing the buffer as data arrives rather than
// trusting n up front.
func readN(cr *countReader, n int64, name string) ([]byte, error) {
	const chunk = 1 << 20
	start := cr.n
	buf := make([]byte, 0, min(n, chunk))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(n-int64(len(buf)), int64(cap(buf)))))
		}
		end := int(min(int64(cap(buf)), n))
		k, err := io.ReadFull(cr, buf[len(buf):end])
		buf = buf[:len(buf)+k]
		if err != nil {
			return nil, truncErr(name, cr.n, fmt.Sprintf("data (%d bytes declared from offset %d)", n, start), err)
		}
	}
	return buf, nil
}

// openIDXFile opens and parses one IDX file, reading at most maxItems
// entries when maxItems >= 0.
func openIDXFile(path string, maxItems int) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return readIDX(f, path, maxItems)
}

// idxSet builds a Set from an IDX image file (N×H×W) and an IDX label file
// (N) holding labels < len(classes). limit > 0 keeps the first limit samples.
func idxSet(name, imagesPath, labelsPath string, classes []string, limit int) (*Set, error) {
	maxItems := -1
	if limit > 0 {
		maxItems = limit
	}
	im, err := openIDXFile(imagesPath, maxItems)
	if err != nil {
		return nil, err
	}
	lb, err := openIDXFile(labelsPath, maxItems)
	if err != nil {
		return nil, err
	}
	s, err := idxToSet(name, im, imagesPath, lb, labelsPath, classes)
	if err != nil {
		return nil, err
	}
	s.files = []string{imagesPath, labelsPath}
	return s, nil
}

func idxToSet(name string, im *IDX, imagesPath string, lb *IDX, labelsPath string, classes []string) (*Set, error) {
	if len(im.Dims) != 3 {
		return nil, formatErr(imagesPath, 3, "image file has %d dimensions, want 3 (N×H×W)", len(im.Dims))
	}
	if len(lb.Dims) != 1 {
		return nil, formatErr(labelsPath, 3, "label file has %d dimensions, want 1 (N)", len(lb.Dims))
	}
	if im.Dims[0] != lb.Dims[0] {
		return nil, fmt.Errorf("dataset: %s has %d images but %s has %d labels", imagesPath, im.Dims[0], labelsPath, lb.Dims[0])
	}
	if im.Dims[1] == 0 || im.Dims[2] == 0 {
		return nil, formatErr(imagesPath, 8, "empty image size %dx%d", im.Dims[1], im.Dims[2])
	}
	hdr := int64(4 + 4*len(lb.Dims))
	for i, l := range lb.Data {
		if int(l) >= len(classes) {
			return nil, formatErr(labelsPath, hdr+int64(i), "label %d out of range [0,%d)", l, len(classes))
		}
	}
	s := &Set{Name: name, C: 1, H: im.Dims[1], W: im.Dims[2], Classes: classes, Pix: im.Data, Labels: lb.Data}
	return s, s.check()
}
