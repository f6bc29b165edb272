package graph

import (
	"errors"
	"fmt"
	"math"
)

// Preprocess is the input transform a model was trained with, as
// torchvision users write it: x' = (x·Scale − Mean[c]) / Std[c] per
// channel c, where x is what quartz's loaders produce (pixels in [0, 1]).
// Scale 0 means 1 (use 255 for a model trained on 0–255 pixels); Mean and
// Std have one value per input channel, or one value for all, or none
// (0 and 1).
type Preprocess struct {
	Scale     float32
	Mean, Std []float32
}

// ErrPreprocessPadding reports that an input mean cannot be folded exactly
// into the first layer because that layer zero-pads its input.
var ErrPreprocessPadding = errors.New("input mean cannot be folded into a zero-padded first layer")

// IsIdentity reports whether p leaves the input unchanged.
func (p Preprocess) IsIdentity() bool {
	a, b, err := p.affine(1)
	if err != nil {
		return false
	}
	return a[0] == 1 && b[0] == 0 && (len(p.Mean) <= 1 && len(p.Std) <= 1)
}

// affine returns per-channel a, b with x' = a·x + b, computed in float64.
func (p Preprocess) affine(c int) (a, b []float64, err error) {
	scale := float64(p.Scale)
	if scale == 0 {
		scale = 1
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || scale < 0 {
		return nil, nil, fmt.Errorf("input scale %v: want a positive number", p.Scale)
	}
	pick := func(v []float32, what string, def float64) ([]float64, error) {
		out := make([]float64, c)
		switch len(v) {
		case 0:
			for i := range out {
				out[i] = def
			}
		case 1, c:
			for i := range out {
				out[i] = float64(v[min(i, len(v)-1)])
			}
		default:
			return nil, fmt.Errorf("input %s has %d values; the model's input has %d channels (give %d values, or one for all)", what, len(v), c, c)
		}
		for i, x := range out {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("input %s[%d] = %v: not a finite number", what, i, x)
			}
		}
		return out, nil
	}
	mean, err := pick(p.Mean, "mean", 0)
	if err != nil {
		return nil, nil, err
	}
	std, err := pick(p.Std, "std", 1)
	if err != nil {
		return nil, nil, err
	}
	a, b = make([]float64, c), make([]float64, c)
	for i := range a {
		if !(std[i] > 0) {
			return nil, nil, fmt.Errorf("input std[%d] = %v: must be positive", i, std[i])
		}
		a[i] = scale / std[i]
		b[i] = -mean[i] / std[i]
	}
	return a, b, nil
}

// Negative reports whether the transformed input can be negative for some
// x in [0, 1], that is whether some channel's mean is positive.
func (p Preprocess) Negative() bool {
	for _, m := range p.Mean {
		if m > 0 {
			return true
		}
	}
	return false
}

// FoldPreprocess returns a copy of m whose first layer applies p to its
// input, so that the model takes quartz's [0, 1] pixels and computes what
// m computes on (x·Scale − Mean)/Std. The first layer must be a Conv or a
// Linear (a Flatten or Dropout may precede it). Scale and Std scale the
// weights of each input channel, which is exact. Mean moves into the bias:
// b'[o] = b[o] − Σ W[o,c,·]·Mean[c]/Std[c], which is exact for a Linear or
// an unpadded Conv; a zero-padded Conv pads the transformed input with 0,
// i.e. pixels with value Mean/Scale, so its border outputs would change:
// FoldPreprocess then returns an error wrapping ErrPreprocessPadding.
//
// The folded model reads non-negative pixels, so its input needs no analog
// first layer; only an unfolded standardized input (negative values) does:
// PrependPreprocess keeps the transform as an explicit input step instead,
// which is exact in every case.
func FoldPreprocess(m *Model, p Preprocess) (*Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	if k := inputAffine(c); k >= 0 {
		return composeInput(c, k, p)
	}
	first, err := firstLinear(c)
	if err != nil {
		return nil, err
	}
	ch := c.InputShape[0]
	a, b, err := p.affine(ch)
	if err != nil {
		return nil, fmt.Errorf("input preprocessing: %w", err)
	}
	l := c.Nodes[first]
	hasMean := false
	for _, v := range b {
		hasMean = hasMean || v != 0
	}
	if l.Op == Conv && hasMean && l.Pad != [4]int{} {
		return nil, fmt.Errorf("input preprocessing: layer %q zero-pads its input (pads %v), and the model pads the standardized input with 0, i.e. with pixel value mean/scale: folding --input-mean into its bias would change every border output: %w",
			l.Name, l.Pad, ErrPreprocessPadding)
	}
	// channelOf maps an index of the layer's per-output weight row to its
	// input channel.
	var rowLen int
	var channelOf func(j int) int
	switch l.Op {
	case Conv:
		k := l.WShape[2] * l.WShape[3]
		rowLen = l.WShape[1] * k
		channelOf = func(j int) int { return j / k } // within the group
	case Linear:
		rowLen = l.WShape[1]
		hw := Size(c.InputShape) / ch
		channelOf = func(j int) int { return j / hw }
	}
	if l.B == nil {
		l.B = make([]float32, l.WShape[0])
	}
	for o := 0; o < l.WShape[0]; o++ {
		base := 0
		if l.Op == Conv {
			base = (o / (l.WShape[0] / l.Group)) * l.WShape[1]
		}
		w := l.W[o*rowLen : (o+1)*rowLen]
		bias := float64(l.B[o])
		for j := range w {
			ci := base + channelOf(j)
			bias += float64(w[j]) * b[ci]
			w[j] = float32(float64(w[j]) * a[ci])
		}
		l.B[o] = float32(bias)
	}
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	return c, c.CheckFinite()
}

// PreprocessLayerName is the name PrependPreprocess gives its layer (with a
// numeric suffix if the model already has a layer of that name).
const PreprocessLayerName = "preprocess"

// PrependPreprocess returns a copy of m with p as an explicit first layer:
// an Affine layer with Scale[c] = Scale/Std[c] and Shift[c] = −Mean[c]/Std[c]
// (computed in float64, rounded once to float32), so that the model takes
// quartz's [0, 1] pixels and computes what m computes on
// (x·Scale − Mean)/Std, to float32 rounding of the transformed input. Unlike
// FoldPreprocess it is exact with a zero-padded first conv too: the conv pads
// the transformed input with 0, as in training.
//
// The transformed input is negative wherever a pixel is below Mean/Scale,
// which spikes cannot carry: package snn converts such a model only with an
// analog first layer (snn.Config.AnalogFirst), which computes the Affine
// layer and the first Conv/Linear in floating point. The Affine layer must
// therefore stay before the first Conv or Linear; m must not already have
// one. An identity p adds no layer. The result has InferShapes applied.
func PrependPreprocess(m *Model, p Preprocess) (*Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	if k := inputAffine(c); k >= 0 {
		return composeInput(c, k, p)
	}
	if p.IsIdentity() {
		return c, nil
	}
	a, b, err := p.affine(c.InputShape[0])
	if err != nil {
		return nil, fmt.Errorf("input preprocessing: %w", err)
	}
	l := &Node{Name: uniqueName(c, PreprocessLayerName), Op: Affine,
		Scale: make([]float32, len(a)), Shift: make([]float32, len(b))}
	for i := range a {
		l.Scale[i], l.Shift[i] = float32(a[i]), float32(b[i])
	}
	for _, n := range c.Nodes {
		for k := range n.Inputs {
			n.Inputs[k]++ // ModelInput (−1) becomes the new node 0
		}
	}
	l.Inputs = []int{ModelInput}
	c.Nodes = append([]*Node{l}, c.Nodes...)
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	if err := c.CheckFinite(); err != nil {
		return nil, fmt.Errorf("input preprocessing: %w", err)
	}
	return c, nil
}

// uniqueName returns name, or name_2, name_3, … if m has a layer so named.
func uniqueName(m *Model, name string) string {
	taken := map[string]bool{}
	for _, l := range m.Nodes {
		taken[l.Name] = true
	}
	n := name
	for i := 2; taken[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	return n
}

// firstLinear returns the Conv or Linear node that reads the model input,
// through Flatten or Dropout nodes only, and is the only node that does.
func firstLinear(m *Model) (int, error) {
	cons := m.Consumers()
	var readers []int
	for i, l := range m.Nodes {
		for _, j := range l.Inputs {
			if j == ModelInput {
				readers = append(readers, i)
				break
			}
		}
	}
	if len(readers) != 1 {
		return -1, fmt.Errorf("input preprocessing: %d nodes read the model input; cannot fold the transform into one", len(readers))
	}
	for i := readers[0]; ; {
		l := m.Nodes[i]
		switch l.Op {
		case Conv, Linear:
			return i, nil
		case Affine:
			return -1, fmt.Errorf("input preprocessing: node %d %q already applies an input transform (Affine); fold or prepend one transform only", i, l.Name)
		case Flatten, Dropout:
			if len(cons[i]) != 1 {
				return -1, fmt.Errorf("input preprocessing: node %d %q (%v) is read by %d nodes; cannot fold the transform into one", i, l.Name, l.Op, len(cons[i]))
			}
			i = cons[i][0]
		default:
			return -1, fmt.Errorf("input preprocessing: node %d %q (%v) comes before the first Conv or Linear; cannot fold the transform into it", i, l.Name, l.Op)
		}
	}
}

// InputTransform returns the index of the Affine node that is the only
// reader of the model input, or -1: the model's own input normalization
// (or one added by PrependPreprocess) that could not be folded into the
// first layer. Its output can be negative, so a converter computes it in
// an analog first layer.
func (m *Model) InputTransform() int { return inputAffine(m) }

// inputAffine returns the index of the Affine node that is the only reader
// of the model input (the model's own input normalization), or -1.
func inputAffine(m *Model) int {
	k := -1
	for i := range m.Nodes {
		for _, j := range m.InputsOf(i) {
			if j != ModelInput {
				continue
			}
			if k >= 0 || m.Nodes[i].Op != Affine {
				return -1
			}
			k = i
		}
	}
	return k
}

// composeInput applies p before the model's own input transform, Affine
// node k: x·a+b then ·s+t is x·(a·s) + (b·s+t), computed in float64. The
// Affine node may have one value per channel or per element; p has one per
// channel (c.InputShape[0]).
func composeInput(c *Model, k int, p Preprocess) (*Model, error) {
	l := c.Nodes[k]
	a, b, err := p.affine(c.InputShape[0])
	if err != nil {
		return nil, fmt.Errorf("input preprocessing: %w", err)
	}
	per := len(l.Scale) / c.InputShape[0] // 1 per channel, H·W per element
	for i := range l.Scale {
		s, t := float64(l.Scale[i]), float64(l.Shift[i])
		l.Scale[i], l.Shift[i] = float32(a[i/per]*s), float32(b[i/per]*s+t)
	}
	if err := c.CheckFinite(); err != nil {
		return nil, fmt.Errorf("input preprocessing: %w", err)
	}
	return c, c.InferShapes()
}
