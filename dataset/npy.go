package dataset

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/internal/npy"
)

// Layouts of 4-D image tensors (Options.Layout).
const (
	LayoutAuto = ""
	LayoutNCHW = "nchw"
	LayoutNHWC = "nhwc"
)

// openNPY opens "npy:X.npy,Y.npy": images and labels in two .npy files.
func openNPY(arg string, opt Options) (*Set, error) {
	xs, ys, ok := strings.Cut(arg, ",")
	if !ok || xs == "" || ys == "" || strings.Contains(ys, ",") {
		return nil, fmt.Errorf("dataset: npy:%s: want npy:IMAGES.npy,LABELS.npy", arg)
	}
	x, err := npy.ReadFile(xs, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	y, err := npy.ReadFile(ys, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(xs), ".npy")
	return tensorSet(name, xs, ys, x, y, opt, []string{xs, ys})
}

// openNPZ opens "npz:FILE.npz" (arrays x and y) or "npz:FILE.npz:X,Y"
// (the arrays named X and Y).
func openNPZ(arg string, opt Options) (*Set, error) {
	file, keys := arg, []string{"x", "y"}
	if i := strings.LastIndex(arg, ":"); i >= 0 && strings.HasSuffix(strings.ToLower(arg[:i]), ".npz") {
		file = arg[:i]
		k := strings.Split(arg[i+1:], ",")
		if len(k) != 2 || k[0] == "" || k[1] == "" {
			return nil, fmt.Errorf("dataset: npz:%s: want npz:FILE.npz or npz:FILE.npz:IMAGES,LABELS (array names)", arg)
		}
		keys = k
	}
	a, err := npy.ReadNPZFile(file, keys, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return tensorSet(name, file+":"+keys[0], file+":"+keys[1], a[0], a[1], opt, []string{file})
}

// tensorSet builds a Set from an image array x and a label array y (xName,
// yName for errors). The same samples serve either split.
func tensorSet(name, xName, yName string, x, y *npy.Array, opt Options, files []string) (*Set, error) {
	if x.Kind != npy.Uint8 && x.Kind.Integer() {
		return nil, fmt.Errorf("dataset: %s: images of %s, want float32 (fed as they are), float64 or uint8 (pixels, read as x/255)", xName, x.Kind)
	}
	if !y.Kind.Integer() {
		return nil, fmt.Errorf("dataset: %s: labels of %s, want an integer type (int64, int32, uint8)", yName, y.Kind)
	}
	if len(y.Shape) != 1 {
		return nil, fmt.Errorf("dataset: %s: labels of shape %v, want one dimension (N,)", yName, y.Shape)
	}
	n := y.Shape[0]
	var c, h, w int
	nhwc := false
	switch len(x.Shape) {
	case 2: // N×D: flat vectors
		c, h, w = 1, 1, x.Shape[1]
	case 3: // N×H×W: one channel
		c, h, w = 1, x.Shape[1], x.Shape[2]
	case 4:
		var err error
		if nhwc, err = layout(x.Shape, opt.Layout); err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", xName, err)
		}
		c, h, w = x.Shape[1], x.Shape[2], x.Shape[3]
		if nhwc {
			h, w, c = x.Shape[1], x.Shape[2], x.Shape[3]
		}
	default:
		return nil, fmt.Errorf("dataset: %s: images of shape %v, want N×C×H×W, N×H×W×C, N×H×W or N×D", xName, x.Shape)
	}
	if x.Shape[0] != n {
		return nil, fmt.Errorf("dataset: %s has %d samples but %s has %d labels", xName, x.Shape[0], yName, n)
	}
	if c == 0 || h == 0 || w == 0 {
		return nil, fmt.Errorf("dataset: %s: empty samples (shape %v)", xName, x.Shape)
	}
	if opt.SampleSize > 0 && c*h*w != opt.SampleSize {
		return nil, fmt.Errorf("dataset: %s: samples of %d×%d×%d = %d values, the model takes %d", xName, c, h, w, c*h*w, opt.SampleSize)
	}
	s := &Set{Name: name, C: c, H: h, W: w, Labels: make([]uint8, n), files: files, unsplit: true}
	top := int64(-1)
	for i := range n {
		l := y.Int(i)
		if l < 0 || l > 255 {
			return nil, fmt.Errorf("dataset: %s: label %d of sample %d: want 0..255", yName, l, i)
		}
		s.Labels[i] = uint8(l)
		top = max(top, l)
	}
	for k := range top + 1 {
		s.Classes = append(s.Classes, strconv.FormatInt(k, 10))
	}
	if x.Kind == npy.Uint8 {
		s.Pix = x.Data
		if nhwc {
			s.Pix = toNCHW(x.Data, n, h, w, c)
		}
	} else {
		s.Float = x.Float32s()
		if nhwc {
			s.Float = toNCHW(s.Float, n, h, w, c)
		}
	}
	if opt.Limit > 0 && opt.Limit < n {
		s = s.Slice(0, opt.Limit)
	}
	return s, s.check()
}

// layout decides whether a 4-D shape is NHWC: as told (LayoutNCHW,
// LayoutNHWC), or where exactly one reading has fewer channels than
// either image side (3×32×32 is NCHW, 32×32×3 NHWC; 3×4×3 and 64×8×8 are
// ambiguous).
func layout(shape []int, told string) (bool, error) {
	switch told {
	case LayoutNCHW:
		return false, nil
	case LayoutNHWC:
		return true, nil
	case LayoutAuto:
	default:
		return false, fmt.Errorf("layout %q: want nchw or nhwc", told)
	}
	nchw := shape[1] < min(shape[2], shape[3])
	nhwc := shape[3] < min(shape[1], shape[2])
	switch {
	case nchw && !nhwc:
		return false, nil
	case nhwc && !nchw:
		return true, nil
	}
	return false, errors.New("cannot tell whether shape " + fmt.Sprint(shape) + " is N×C×H×W or N×H×W×C: give the layout (quartz: --data-layout nchw or nhwc)")
}

// toNCHW returns the N×H×W×C values v in N×C×H×W order.
func toNCHW[T uint8 | float32](v []T, n, h, w, c int) []T {
	out := make([]T, len(v))
	for i := range n {
		src, dst := v[i*h*w*c:(i+1)*h*w*c], out[i*c*h*w:(i+1)*c*h*w]
		for p := range h * w {
			for ch := range c {
				dst[ch*h*w+p] = src[p*c+ch]
			}
		}
	}
	return out
}
