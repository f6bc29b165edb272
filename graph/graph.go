package graph

import (
	"errors"
	"fmt"
	"math"
)

// Op is the kind of a layer.
type Op int

// Layer kinds. Structure-only layers (Flatten, Dropout) carry no arithmetic at
// inference time.
const (
	Conv          Op = iota + 1 // 2-D convolution with bias
	Linear                      // fully connected: y = W·x + b
	ReLU                        // max(x, 0)
	Clip                        // min(max(x, Min), Max), e.g. ReLU6
	MaxPool                     // 2-D max pooling
	AvgPool                     // 2-D average pooling
	GlobalAvgPool               // mean over H and W, output [C,1,1]
	BatchNorm                   // per-channel affine from running statistics
	Dropout                     // identity at inference
	Flatten                     // [C,H,W] → [C·H·W]
	LeakyReLU                   // x if x ≥ 0, else Alpha·x (ANN only: no Quartz equivalent)
	Affine                      // per input channel x·Scale[c] + Shift[c]: an explicit input transform (PrependPreprocess)
)

var opNames = map[Op]string{
	Conv: "Conv", Linear: "Linear", ReLU: "ReLU", Clip: "Clip", MaxPool: "MaxPool",
	AvgPool: "AvgPool", GlobalAvgPool: "GlobalAvgPool", BatchNorm: "BatchNorm",
	Dropout: "Dropout", Flatten: "Flatten", LeakyReLU: "LeakyReLU", Affine: "Affine",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// HasParams reports whether the op carries trainable weights. Affine does
// not: its Scale and Shift are a fixed input transform, not trained and not
// counted by Params.
func (o Op) HasParams() bool { return o == Conv || o == Linear || o == BatchNorm }

// Layer is one node of the chain. Only the fields that matter for its Op are
// set; the rest stay zero.
type Layer struct {
	Name string
	Op   Op

	// Conv and Linear. W is [Cout, Cin/Group, KH, KW] or [Out, In]; B has
	// Cout (Out) entries and may be nil (no bias).
	W, B []float32
	// WShape is the shape of W: 4 entries for Conv, 2 for Linear.
	WShape []int

	// Conv and pooling geometry.
	Kernel   [2]int // KH, KW
	Stride   [2]int
	Pad      [4]int // top, left, bottom, right
	Dilation [2]int // Conv only; 1 means dense
	Group    int    // Conv only; Cin for depthwise
	CeilMode bool   // pooling output size rounds up
	// CountIncludePad makes AvgPool divide by the full kernel area at edges.
	CountIncludePad bool

	// BatchNorm: y = Gamma·(x−Mean)/sqrt(Var+Eps) + Beta, per channel.
	Gamma, Beta, Mean, Var []float32
	Eps                    float32

	// Clip bounds.
	Min, Max float32

	// LeakyReLU negative slope (ONNX default 0.01).
	Alpha float32

	// Dropout probability (training only).
	Ratio float32

	// Affine: y[c,·] = x[c,·]·Scale[c] + Shift[c], one value per channel of
	// a [C H W] input; the shape is unchanged. It is the input transform of
	// a model trained on standardized inputs when that transform cannot be
	// folded into the first layer (see PrependPreprocess). It has no MACs
	// and no parameters in Params: the values are fixed, not trained.
	Scale, Shift []float32

	// Shapes without the batch dimension, set by InferShapes.
	InShape, OutShape []int
}

// Model is a feed-forward chain of layers.
type Model struct {
	Name       string
	InputName  string // name of the graph input in the file it came from
	OutputName string
	InputShape []int // [C, H, W]
	Layers     []*Layer
	// Producer and Opset describe the file the model came from, if any.
	Producer string
	Opset    int64
}

// Size returns the number of elements of a shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// InferShapes sets InShape and OutShape of every layer from m.InputShape and
// checks that parameters fit. It returns an error naming the first layer that
// does not fit.
func (m *Model) InferShapes() error {
	if len(m.InputShape) != 3 {
		return fmt.Errorf("model input shape %v: want [C H W]", m.InputShape)
	}
	for _, d := range m.InputShape {
		if d <= 0 {
			return fmt.Errorf("model input shape %v: dimensions must be positive", m.InputShape)
		}
	}
	in := append([]int(nil), m.InputShape...)
	for i, l := range m.Layers {
		out, err := l.outShape(in)
		if err != nil {
			return fmt.Errorf("layer %d %q (%v): %w", i, l.Name, l.Op, err)
		}
		l.InShape, l.OutShape = in, out
		in = out
	}
	return nil
}

// OutputShape is the shape of the last layer's output (InferShapes first).
func (m *Model) OutputShape() []int {
	if len(m.Layers) == 0 {
		return m.InputShape
	}
	return m.Layers[len(m.Layers)-1].OutShape
}

func poolOut(in, k, s, padA, padB, dil int, ceil bool) (int, error) {
	eff := dil*(k-1) + 1
	num := in + padA + padB - eff
	if num < 0 {
		return 0, fmt.Errorf("kernel %d (dilation %d) larger than padded input %d", k, dil, in+padA+padB)
	}
	o := num/s + 1
	if ceil && num%s != 0 {
		o++
		// The last window must start inside the input or left padding.
		if (o-1)*s >= in+padA {
			o--
		}
	}
	return o, nil
}

func (l *Layer) outShape(in []int) ([]int, error) {
	switch l.Op {
	case Conv, MaxPool, AvgPool:
		if len(in) != 3 {
			return nil, fmt.Errorf("input shape %v: want [C H W]", in)
		}
		if l.Kernel[0] <= 0 || l.Kernel[1] <= 0 || l.Stride[0] <= 0 || l.Stride[1] <= 0 {
			return nil, fmt.Errorf("kernel %v and stride %v must be positive", l.Kernel, l.Stride)
		}
		for _, p := range l.Pad {
			if p < 0 {
				return nil, fmt.Errorf("negative padding %v", l.Pad)
			}
		}
		dil := [2]int{1, 1}
		c := in[0]
		if l.Op == Conv {
			dil = l.Dilation
			if dil[0] <= 0 || dil[1] <= 0 {
				return nil, fmt.Errorf("dilation %v must be positive", dil)
			}
			if len(l.WShape) != 4 || l.WShape[2] != l.Kernel[0] || l.WShape[3] != l.Kernel[1] {
				return nil, fmt.Errorf("weight shape %v does not match kernel %v", l.WShape, l.Kernel)
			}
			if l.Group <= 0 || in[0]%l.Group != 0 || l.WShape[0]%l.Group != 0 {
				return nil, fmt.Errorf("group %d does not divide %d input and %d output channels", l.Group, in[0], l.WShape[0])
			}
			if l.WShape[1] != in[0]/l.Group {
				return nil, fmt.Errorf("weight shape %v wants %d input channels per group, input has %d/%d", l.WShape, l.WShape[1], in[0], l.Group)
			}
			if err := l.checkParams(); err != nil {
				return nil, err
			}
			c = l.WShape[0]
		}
		h, err := poolOut(in[1], l.Kernel[0], l.Stride[0], l.Pad[0], l.Pad[2], dil[0], l.CeilMode)
		if err != nil {
			return nil, fmt.Errorf("height: %w", err)
		}
		w, err := poolOut(in[2], l.Kernel[1], l.Stride[1], l.Pad[1], l.Pad[3], dil[1], l.CeilMode)
		if err != nil {
			return nil, fmt.Errorf("width: %w", err)
		}
		return []int{c, h, w}, nil
	case Linear:
		if len(l.WShape) != 2 {
			return nil, fmt.Errorf("weight shape %v: want [Out In]", l.WShape)
		}
		if Size(in) != l.WShape[1] {
			return nil, fmt.Errorf("input %v has %d features, weight %v wants %d", in, Size(in), l.WShape, l.WShape[1])
		}
		if err := l.checkParams(); err != nil {
			return nil, err
		}
		return []int{l.WShape[0]}, nil
	case GlobalAvgPool:
		if len(in) != 3 {
			return nil, fmt.Errorf("input shape %v: want [C H W]", in)
		}
		return []int{in[0], 1, 1}, nil
	case BatchNorm:
		c := in[0]
		for _, v := range [][]float32{l.Gamma, l.Beta, l.Mean, l.Var} {
			if len(v) != c {
				return nil, fmt.Errorf("%d channels, parameters have %d", c, len(v))
			}
		}
		return append([]int(nil), in...), nil
	case Flatten:
		return []int{Size(in)}, nil
	case Affine:
		if len(in) != 3 {
			return nil, fmt.Errorf("input shape %v: want [C H W] (the transform is per channel)", in)
		}
		if len(l.Scale) != in[0] || len(l.Shift) != in[0] {
			return nil, fmt.Errorf("%d channels, scale has %d values and shift %d", in[0], len(l.Scale), len(l.Shift))
		}
		return append([]int(nil), in...), nil
	case ReLU, Clip, LeakyReLU, Dropout:
		return append([]int(nil), in...), nil
	}
	return nil, fmt.Errorf("unknown op %v", l.Op)
}

func (l *Layer) checkParams() error {
	if len(l.W) != Size(l.WShape) {
		return fmt.Errorf("weight has %d values, shape %v wants %d", len(l.W), l.WShape, Size(l.WShape))
	}
	if l.B != nil && len(l.B) != l.WShape[0] {
		return fmt.Errorf("bias has %d values, want %d", len(l.B), l.WShape[0])
	}
	return nil
}

// Params returns the number of parameters of the layer (weights, biases,
// and BatchNorm's four vectors). An Affine layer's fixed Scale and Shift
// are not parameters.
func (l *Layer) Params() int {
	return len(l.W) + len(l.B) + len(l.Gamma) + len(l.Beta) + len(l.Mean) + len(l.Var)
}

// MACs returns the multiply-accumulates of one sample (InferShapes first).
func (l *Layer) MACs() int64 {
	switch l.Op {
	case Conv:
		return int64(Size(l.OutShape)) * int64(l.WShape[1]*l.WShape[2]*l.WShape[3])
	case Linear:
		return int64(l.WShape[0]) * int64(l.WShape[1])
	}
	return 0
}

// Params returns the parameter count of the model.
func (m *Model) Params() int {
	n := 0
	for _, l := range m.Layers {
		n += l.Params()
	}
	return n
}

// MACs returns the multiply-accumulates of one sample.
func (m *Model) MACs() int64 {
	var n int64
	for _, l := range m.Layers {
		n += l.MACs()
	}
	return n
}

// ErrNonFinite reports a NaN or infinite parameter.
var ErrNonFinite = errors.New("non-finite value")

// CheckFinite returns an error naming the first layer with a NaN or infinite
// parameter.
func (m *Model) CheckFinite() error {
	for i, l := range m.Layers {
		for _, p := range []struct {
			name string
			v    []float32
		}{{"weight", l.W}, {"bias", l.B}, {"gamma", l.Gamma}, {"beta", l.Beta}, {"mean", l.Mean}, {"var", l.Var},
			{"scale", l.Scale}, {"shift", l.Shift}} {
			for j, x := range p.v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("layer %d %q %s[%d] = %v: %w", i, l.Name, p.name, j, x, ErrNonFinite)
				}
			}
		}
	}
	return nil
}

// Clone returns a deep copy of the model.
func (m *Model) Clone() *Model {
	c := *m
	c.InputShape = append([]int(nil), m.InputShape...)
	c.Layers = make([]*Layer, len(m.Layers))
	cp := func(v []float32) []float32 {
		if v == nil {
			return nil
		}
		return append([]float32(nil), v...)
	}
	for i, l := range m.Layers {
		n := *l
		n.W, n.B = cp(l.W), cp(l.B)
		n.Gamma, n.Beta, n.Mean, n.Var = cp(l.Gamma), cp(l.Beta), cp(l.Mean), cp(l.Var)
		n.Scale, n.Shift = cp(l.Scale), cp(l.Shift)
		n.WShape = append([]int(nil), l.WShape...)
		n.InShape = append([]int(nil), l.InShape...)
		n.OutShape = append([]int(nil), l.OutShape...)
		c.Layers[i] = &n
	}
	return &c
}

// Rectified reports whether the output of layer i passes through a ReLU (or
// a Clip with Min = 0) before the next layer that computes: Dropout, Flatten
// and MaxPool may sit between, since max-pooling and ReLU commute; any
// other layer (an Affine too: its shift can make values negative again)
// ends the search, unrectified. The converters use it to tell hidden layers
// (rectified) from output layers.
func (m *Model) Rectified(i int) bool {
	for _, l := range m.Layers[i+1:] {
		switch l.Op {
		case Dropout, Flatten, MaxPool:
			continue
		case ReLU:
			return true
		case Clip:
			return l.Min == 0
		}
		return false
	}
	return false
}
