package dataset

import (
	"fmt"
	"strconv"
)

// MaxBytes is the largest pixel payload (N·C·H·W bytes) a reader accepts.
// Headers that declare more are rejected before anything is allocated.
const MaxBytes = 1 << 31

// maxBytes is the limit in force; tests and fuzz targets lower it.
var maxBytes int64 = MaxBytes

// Set is a labelled image data set held in memory as uint8 pixels in NCHW
// order. A Set is read-only once built and safe for concurrent readers.
type Set struct {
	Name    string   // e.g. "mnist/test"
	C, H, W int      // channels, height, width of every sample
	Classes []string // class names, index = label
	Pix     []uint8  // N*C*H*W, NCHW
	Labels  []uint8  // N

	// Float, when not nil, holds the samples as float32 values fed as
	// they are, N*C*H*W in NCHW order (float .npy/.npz tensors: the
	// caller's own preprocessing); Pix is then nil.
	Float []float32

	// unsplit marks a set whose files have no train/test split (.npy and
	// .npz tensors): Open returns the same samples for either split.
	unsplit bool

	// lazy, when not nil, decodes the samples on demand (Options.Lazy):
	// Pix is nil.
	lazy *lazyImages
	// files are the files the set was read from (Fingerprint); archive
	// members and image files of a lazy set are found through lazy.
	files []string
}

// Len returns the number of samples.
func (s *Set) Len() int { return len(s.Labels) }

// SampleSize returns the number of values in one sample, C*H*W.
func (s *Set) SampleSize() int { return s.C * s.H * s.W }

// scale maps a pixel byte to float32(v)/255.
var scale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// Image writes sample i to dst[:SampleSize()] as float32 values x/255 in
// [0,1] (a Float set: its values as they are), CHW order. It panics, like
// a slice index, if i is out of range or dst is shorter than SampleSize().
func (s *Set) Image(i int, dst []float32) {
	n := s.SampleSize()
	if s.Float != nil {
		copy(dst[:n], s.Float[i*n:(i+1)*n])
		return
	}
	if s.lazy != nil {
		var y [1]int32
		if err := s.gatherLazy([]int{i}, dst[:n], y[:]); err != nil {
			panic(err)
		}
		return
	}
	src := s.Pix[i*n : (i+1)*n]
	dst = dst[:n]
	for j, v := range src {
		dst[j] = scale[v]
	}
}

// Gather writes the samples idx[0], idx[1], … to x (len(idx)*SampleSize()
// values, NCHW) and their labels to y (len(idx) values). It panics, like a
// slice index, if an index is out of range or x or y is too short.
//
// A lazy set (Options.Lazy) decodes the samples here and panics on an
// image that fails to decode; Chunks returns that error instead.
func (s *Set) Gather(idx []int, x []float32, y []int32) {
	if s.lazy != nil {
		if err := s.gatherLazy(idx, x, y); err != nil {
			panic(err)
		}
		return
	}
	n := s.SampleSize()
	for k, i := range idx {
		s.Image(i, x[k*n:(k+1)*n])
		y[k] = int32(s.Labels[i])
	}
}

// Slice returns samples [from, to) as a new Set that shares Pix, Labels and
// Classes with s (no copy). It panics, like a slice expression, if the
// bounds are invalid.
func (s *Set) Slice(from, to int) *Set {
	n := s.SampleSize()
	t := *s
	if s.lazy != nil {
		t.lazy = &lazyImages{order: s.lazy.order[from:to:to]}
		t.Labels = s.Labels[from:to:to]
		return &t
	}
	if s.Float != nil {
		t.Float = s.Float[from*n : to*n : to*n]
	} else {
		t.Pix = s.Pix[from*n : to*n : to*n]
	}
	t.Labels = s.Labels[from:to:to]
	return &t
}

// Unsplit reports whether the set's files have no train/test split (.npy
// and .npz tensors), so that Open gave the same samples for either split.
func (s *Set) Unsplit() bool { return s.unsplit }

// Pixels reports whether the samples are pixels scaled to [0, 1] (image
// files, IDX, CIFAR binaries, uint8 tensors) rather than float tensors fed
// as they are.
func (s *Set) Pixels() bool { return s.Float == nil }

// Counts returns the number of samples of each class.
func (s *Set) Counts() []int {
	c := make([]int, len(s.Classes))
	for _, l := range s.Labels {
		if int(l) < len(c) {
			c[l]++
		}
	}
	return c
}

// String describes the set, e.g. "mnist/test: 10000 × 1×28×28, 10 classes".
func (s *Set) String() string {
	return fmt.Sprintf("%s: %d × %d×%d×%d, %d classes", s.Name, s.Len(), s.C, s.H, s.W, len(s.Classes))
}

// check verifies the invariants of a built Set.
func (s *Set) check() error {
	if s.C <= 0 || s.H <= 0 || s.W <= 0 {
		return fmt.Errorf("dataset: %s: bad sample shape %dx%dx%d", s.Name, s.C, s.H, s.W)
	}
	if s.lazy != nil {
		if len(s.lazy.order) != len(s.Labels) || s.Pix != nil {
			return fmt.Errorf("dataset: %s: lazy set of %d images for %d labels", s.Name, len(s.lazy.order), len(s.Labels))
		}
	} else if s.Float != nil {
		if s.Pix != nil || len(s.Float) != len(s.Labels)*s.SampleSize() {
			return fmt.Errorf("dataset: %s: %d values for %d samples of %d", s.Name, len(s.Float), len(s.Labels), s.SampleSize())
		}
	} else if len(s.Pix) != len(s.Labels)*s.SampleSize() {
		return fmt.Errorf("dataset: %s: %d pixel bytes for %d samples of %d", s.Name, len(s.Pix), len(s.Labels), s.SampleSize())
	}
	if len(s.Classes) > 256 {
		return fmt.Errorf("dataset: %s: %d classes, at most 256 fit a uint8 label", s.Name, len(s.Classes))
	}
	return nil
}

// FormatError reports malformed data: the file (for archives "archive:member"),
// the byte offset where the problem was found (-1 when unknown; for gzipped
// files the offset in the decompressed stream), and the cause.
type FormatError struct {
	File   string
	Offset int64
	Err    error
}

func (e *FormatError) Error() string {
	if e.Offset < 0 {
		return "dataset: " + e.File + ": " + e.Err.Error()
	}
	return "dataset: " + e.File + ": offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(file string, off int64, format string, args ...any) error {
	return &FormatError{File: file, Offset: off, Err: fmt.Errorf(format, args...)}
}

// checkedSize returns the product of dims and whether it is valid: no
// dimension negative and the product at most maxBytes, checked without
// overflow.
func checkedSize(dims ...int64) (int64, bool) {
	p := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, true
		}
		if p > maxBytes/d {
			return 0, false
		}
		p *= d
	}
	return p, p <= maxBytes
}

// Chunks gathers the samples idx (all samples in order when idx is nil) in
// chunks of at most size and calls fn with each: x holds n samples (NCHW)
// and y their labels. The buffers are allocated once and reused, so they
// are only valid during the call. Chunks stops at the first error fn
// returns and returns it.
func (s *Set) Chunks(idx []int, size int, fn func(x []float32, y []int32, n int) error) error {
	total := len(idx)
	if idx == nil {
		total = s.Len()
	}
	size = max(1, min(size, total))
	x := make([]float32, size*s.SampleSize())
	y := make([]int32, size)
	var seq []int
	if idx == nil {
		seq = make([]int, size)
	}
	for lo := 0; lo < total; lo += size {
		n := min(size, total-lo)
		part := seq
		if idx != nil {
			part = idx[lo : lo+n]
		} else {
			for i := range n {
				seq[i] = lo + i
			}
		}
		if s.lazy != nil {
			if err := s.gatherLazy(part[:n], x, y); err != nil {
				return err
			}
		} else {
			s.Gather(part[:n], x, y)
		}
		if err := fn(x[:n*s.SampleSize()], y[:n], n); err != nil {
			return err
		}
	}
	return nil
}
