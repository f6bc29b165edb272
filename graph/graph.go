package graph

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

// Op is the kind of a node.
type Op int

// Node kinds. Structure-only nodes (Flatten, Dropout, Concat) carry no
// arithmetic at inference time. The ops marked "ANN only" run in package nn
// but have no Quartz equivalent (AnnOnly says why).
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
	LeakyReLU                   // x if x ≥ 0, else Alpha·x (ANN only)
	Affine                      // per channel x·Scale[c] + Shift[c]: a constant Mul/Add/Sub/Div or an input transform
	Add                         // elementwise sum of two or more inputs of one shape
	Concat                      // inputs stacked along the channel axis (axis 0 of the per-sample shape)
	Tanh                        // ANN only
	Sigmoid                     // ANN only
	HardSigmoid                 // max(0, min(1, Alpha·x + Beta)) (ANN only)
	HardSwish                   // x·max(0, min(1, x/6 + ½)) (ANN only)
	SiLU                        // x·sigmoid(x) (ANN only)
	Softmax                     // exp-normalized along Axis (ANN only inside a network)
	LayerNorm                   // (x − mean)/√(var + Eps) over Axes, per sample (ANN only)
	LRN                         // local response normalization across channels (ANN only)
	Mul                         // elementwise product of two inputs of one shape (ANN only)
	Reshape                     // same values, shape Shape (structure only)
	Unary                       // elementwise function Fn of one input (ANN only; see Node.Fn)
	Reduce                      // Fn ("Sum", "Max" …) over the per-sample Axes, Keep keeps them as 1s (ANN only)
	Binary                      // Fn ("Sub", "Div" …) of two inputs broadcast numpy-style (ANN only)
	Quant                       // ⌊Levels·x + ½⌋/Levels clipped to [Min, Max]: fake quantization for training (ANN only)
)

var opNames = map[Op]string{
	Conv: "Conv", Linear: "Linear", ReLU: "ReLU", Clip: "Clip", MaxPool: "MaxPool",
	AvgPool: "AvgPool", GlobalAvgPool: "GlobalAvgPool", BatchNorm: "BatchNorm",
	Dropout: "Dropout", Flatten: "Flatten", LeakyReLU: "LeakyReLU", Affine: "Affine",
	Add: "Add", Concat: "Concat", Tanh: "Tanh", Sigmoid: "Sigmoid", HardSigmoid: "HardSigmoid",
	HardSwish: "HardSwish", SiLU: "SiLU", Softmax: "Softmax", LayerNorm: "LayerNorm", LRN: "LRN",
	Mul: "Mul", Reshape: "Reshape", Unary: "Unary", Reduce: "Reduce", Binary: "Binary",
	Quant: "Quant",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// HasParams reports whether the op carries trainable weights. Affine does
// not: its Scale and Shift are a fixed transform, not trained and not
// counted by Params.
func (o Op) HasParams() bool { return o == Conv || o == Linear || o == BatchNorm }

// AnnOnly returns why a node of op o has no Quartz equivalent, or "" when
// it has one. Such nodes run in the ANN (package nn); converters refuse
// them by name.
func (o Op) AnnOnly() string {
	switch o {
	case LeakyReLU:
		return "a negative slope cannot be carried by a single spike time"
	case Tanh, Sigmoid, HardSigmoid, HardSwish, SiLU:
		return "a Quartz neuron computes only ReLU-like (clipped linear) activations"
	case Softmax:
		return "a softmax inside the network needs exponentials across neurons; only a final one is dropped"
	case LayerNorm, LRN:
		return "normalization by statistics of the sample itself divides activations by each other"
	case Mul:
		return "a product of two activations is not a weighted sum of spikes"
	case Unary:
		return "a Quartz neuron computes only ReLU-like (clipped linear) activations, not an arbitrary elementwise function"
	case Reduce:
		return "a reduction of a sample's own values (sum, max, product …) over axes is not a layer of weighted spikes"
	case Binary:
		return "an elementwise function of two activations (difference, quotient, power, max …) is not a weighted sum of spikes"
	case Quant:
		return "a fake quantization exists only while training (quartz finetune); the spiking neuron quantizes by itself"
	}
	return ""
}

// UnaryFns lists the functions of a Unary node, x the input, y the output:
//
//	Abs        |x|
//	Neg        −x
//	Exp        eˣ
//	Log        ln x
//	Sqrt       √x
//	Reciprocal 1/x
//	Floor      ⌊x⌋ (gradient 0)
//	Ceil       ⌈x⌉ (gradient 0)
//	Round      x rounded half to even (gradient 0)
//	Sign       −1, 0 or 1 (gradient 0)
//	Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh
//	Erf        erf x
//	Softplus   ln(1 + eˣ)
//	Softsign   x/(1 + |x|)
//	Elu        x if x > 0, else Alpha·(eˣ − 1)
//	Selu       Power·(x if x > 0, else Alpha·(eˣ − 1))
//	Celu       max(0, x) + min(0, Alpha·(e^(x/Alpha) − 1))
//	ThresholdedRelu x if x > Alpha, else 0
//	Mish       x·tanh(ln(1 + eˣ))
//	Gelu       x/2·(1 + erf(x/√2))
//	GeluTanh   x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//	Pow        x^Power
//	PRelu      x if x ≥ 0, else s·x, s = Scale[0] (one slope), Scale[c]
//	           (per channel, axis 0) or Scale[i] (per element)
//
// Functions are evaluated in float64 and rounded to float32.
var UnaryFns = []string{"Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
	"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Erf",
	"Softplus", "Softsign", "Elu", "Selu", "Celu", "ThresholdedRelu", "Mish", "Gelu", "GeluTanh", "Pow", "PRelu"}

// ReduceFns lists the functions of a Reduce node over the values x of a
// group (the values that differ only along Axes):
//
//	Sum Σx, Mean Σx/count, Max, Min, Prod Πx, L1 Σ|x|, L2 √Σx²,
//	SumSquare Σx², LogSumExp ln Σeˣ, LogSum ln Σx
var ReduceFns = []string{"Sum", "Mean", "Max", "Min", "Prod", "L1", "L2", "SumSquare", "LogSumExp", "LogSum"}

// BinaryFns lists the functions f(a, b) of a Binary node: Add a+b, Sub
// a−b, Mul a·b, Div a/b, Pow a^b, Max, Min.
var BinaryFns = []string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}

// BroadcastShapes returns the numpy broadcast of two per-sample shapes of
// one rank: each dimension equal, or 1 on one side.
func BroadcastShapes(a, b []int) ([]int, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("input shapes %v and %v: ranks differ", a, b)
	}
	out := make([]int, len(a))
	for k := range a {
		switch {
		case a[k] == b[k] || b[k] == 1:
			out[k] = a[k]
		case a[k] == 1:
			out[k] = b[k]
		default:
			return nil, fmt.Errorf("input shapes %v and %v do not broadcast (axis %d)", a, b, k)
		}
	}
	return out, nil
}

// ModelInput, in Node.Inputs, stands for the model's input.
const ModelInput = -1

// Node is one operation of the graph. Only the fields that matter for its
// Op are set; the rest stay zero.
type Node struct {
	Name string
	Op   Op

	// Inputs are the indices in Model.Nodes of the nodes this node reads,
	// each smaller than the node's own index, or ModelInput. Nil means the
	// node before it (the model input for the first node): a chain needs
	// no Inputs at all. InferShapes makes them explicit. Add and Concat
	// take two or more inputs, Mul and Binary two, every other op exactly
	// one.
	Inputs []int

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
	// LayerNorm and LRN use Eps and Bias too.
	Gamma, Beta, Mean, Var []float32
	Eps                    float32

	// Clip bounds.
	Min, Max float32

	// LeakyReLU negative slope (ONNX default 0.01); HardSigmoid's slope
	// (Alpha) and offset (Bias); LRN's alpha, beta (Power), bias and Size.
	Alpha, Power, Bias float32
	Size               int

	// Softmax's axis, and LayerNorm's and Reduce's axes, in the
	// per-sample shape (Axes increasing).
	Axis int
	Axes []int

	// Fn is the function of a Unary, Reduce or Binary node (UnaryFns,
	// ReduceFns, BinaryFns say what each computes). Unary's parameters
	// are in Alpha, Power and Scale. Keep: a Reduce node keeps its axes
	// as 1s (ONNX keepdims=1); without it they leave the shape (a shape
	// left empty becomes [1]).
	Fn   string
	Keep bool

	// Reshape's per-sample output shape.
	Shape []int

	// Dropout probability (training only).
	Ratio float32

	// Quant's level count: y = min(max(⌊Levels·x + ½⌋/Levels, Min), Max),
	// the value a Quartz neuron of window Levels encodes (SPEC §1–§6).
	// Min is 0 for a rectified layer and −math.MaxFloat32 for an output
	// layer, which is clipped only above.
	Levels int

	// Affine: y[c,·] = x[c,·]·Scale[c] + Shift[c], one value per channel
	// (axis 0 of the per-sample shape), or y[i] = x[i]·Scale[i] + Shift[i],
	// one value per element (PerElement); the shape is unchanged. It is a
	// constant per-channel Mul/Add/Sub/Div, or a BatchNorm that could not
	// be folded, or the input transform of a model trained on standardized
	// inputs (see PrependPreprocess). It has no MACs and no parameters in
	// Params: the values are fixed, not trained.
	Scale, Shift []float32

	// Shapes without the batch dimension, set by InferShapes. InShape is
	// the shape of the first input.
	InShape, OutShape []int
}

// Model is a feed-forward network: a DAG of nodes in topological order.
// Its output is the output of its last node; every other node's output is
// read by some later node.
type Model struct {
	Name       string
	InputName  string // name of the graph input in the file it came from
	OutputName string
	// InputShape is the per-sample input shape: [C H W], or [F 1 1] for a
	// model that takes flat vectors.
	InputShape []int
	Nodes      []*Node
	// Producer and Opset describe the file the model came from, if any.
	Producer string
	Opset    int64
	// OutputActivation is "Softmax" or "LogSoftmax" when the file applied
	// it to the last node's output: it was dropped on import (it does not
	// change any sample's ranking of its scores), and this records it.
	OutputActivation string
	// Metadata holds the file's key–value metadata (ONNX metadata_props),
	// e.g. MetaNormalized for a model quartz finetune wrote. Nil when the
	// file had none.
	Metadata map[string]string
}

// Metadata keys quartz writes.
const (
	// MetaNormalized is "1" in a model whose weights are already
	// normalized for Quartz (quartz finetune's output): converters use
	// every layer's scale 1 instead of a calibration's percentiles.
	MetaNormalized = "quartz.normalized"
	// MetaTmax is the window T the model was fine-tuned for.
	MetaTmax = "quartz.tmax"
)

// Normalized reports whether m's weights are already normalized for
// Quartz (Metadata[MetaNormalized] is "1").
func (m *Model) Normalized() bool { return m.Metadata[MetaNormalized] == "1" }

// InferNode makes node i's Inputs explicit and sets its InShape and
// OutShape from the shapes of the nodes it reads, which must be set. It is
// InferShapes for one node, for code that builds a model node by node.
func (m *Model) InferNode(i int) error {
	l := m.Nodes[i]
	if l.Inputs == nil {
		l.Inputs = []int{i - 1}
	}
	var ins [][]int
	for _, j := range l.Inputs {
		if j < ModelInput || j >= i {
			return fmt.Errorf("node %d %q (%v): input %d is not an earlier node (nodes must be in topological order)", i, l.Name, l.Op, j)
		}
		if j == ModelInput {
			ins = append(ins, m.InputShape)
		} else {
			ins = append(ins, m.Nodes[j].OutShape)
		}
	}
	if err := l.checkArity(); err != nil {
		return fmt.Errorf("node %d %q (%v): %w", i, l.Name, l.Op, err)
	}
	for _, w := range l.WShape {
		if w <= 0 {
			return fmt.Errorf("node %d %q (%v): weight shape %v has an empty or negative dimension", i, l.Name, l.Op, l.WShape)
		}
	}
	out, err := l.outShape(ins)
	if err != nil {
		return fmt.Errorf("node %d %q (%v): %w", i, l.Name, l.Op, err)
	}
	if err := checkSize(out); err != nil {
		return fmt.Errorf("node %d %q (%v): output %w", i, l.Name, l.Op, err)
	}
	l.InShape, l.OutShape = append([]int(nil), ins[0]...), out
	return nil
}

// MaxValues bounds the values of one sample's input or of any node's
// output (2³¹): beyond it index arithmetic of the engines could overflow,
// and one image's activations alone would need 8 GiB.
const MaxValues = 1 << 31

// checkSize reports a shape with an empty dimension or more than
// MaxValues values, without overflowing.
func checkSize(shape []int) error {
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return fmt.Errorf("shape %v has an empty dimension", shape)
		}
		if n > MaxValues/d {
			return fmt.Errorf("shape %v has more than %d values per sample", shape, MaxValues)
		}
		n *= d
	}
	return nil
}

// Size returns the number of elements of a shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// InferShapes makes every node's Inputs explicit and sets InShape and
// OutShape of every node from m.InputShape. It checks that the nodes are in
// topological order, that every node but the last is read by a later one,
// and that parameters fit. It returns an error naming the first node that
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
	if err := checkSize(m.InputShape); err != nil {
		return fmt.Errorf("model input %w", err)
	}
	if len(m.Nodes) == 0 {
		return errors.New("model has no nodes")
	}
	used := make([]bool, len(m.Nodes))
	for i := range m.Nodes {
		if err := m.InferNode(i); err != nil {
			return err
		}
		for _, j := range m.Nodes[i].Inputs {
			if j >= 0 {
				used[j] = true
			}
		}
	}
	for i, u := range used[:len(used)-1] {
		if !u {
			l := m.Nodes[i]
			return fmt.Errorf("node %d %q (%v): its output is never read (only the last node is the model's output)", i, l.Name, l.Op)
		}
	}
	return nil
}

func (l *Node) checkArity() error {
	switch l.Op {
	case Add, Concat:
		if len(l.Inputs) < 2 {
			return fmt.Errorf("%d inputs: want two or more", len(l.Inputs))
		}
	case Mul, Binary:
		if len(l.Inputs) != 2 {
			return fmt.Errorf("%d inputs: want two", len(l.Inputs))
		}
	default:
		if len(l.Inputs) != 1 {
			return fmt.Errorf("%d inputs: want one", len(l.Inputs))
		}
	}
	return nil
}

// OutputShape is the shape of the model's output, the last node's
// (InferShapes first).
func (m *Model) OutputShape() []int {
	if len(m.Nodes) == 0 {
		return m.InputShape
	}
	return m.Nodes[len(m.Nodes)-1].OutShape
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

func (l *Node) outShape(ins [][]int) ([]int, error) {
	in := ins[0]
	switch l.Op {
	case Add, Mul:
		for _, s := range ins[1:] {
			if !slices.Equal(s, in) {
				return nil, fmt.Errorf("input shapes %v and %v differ", in, s)
			}
		}
		return append([]int(nil), in...), nil
	case Concat:
		out := append([]int(nil), in...)
		for _, s := range ins[1:] {
			if len(s) != len(in) || !slices.Equal(s[1:], in[1:]) {
				return nil, fmt.Errorf("input shapes %v and %v differ beyond the channel axis", in, s)
			}
			out[0] += s[0]
		}
		return out, nil
	case Reshape:
		if Size(l.Shape) != Size(in) || len(l.Shape) == 0 {
			return nil, fmt.Errorf("shape %v has %d values, input %v has %d", l.Shape, Size(l.Shape), in, Size(in))
		}
		for _, d := range l.Shape {
			if d <= 0 {
				return nil, fmt.Errorf("shape %v: dimensions must be positive", l.Shape)
			}
		}
		return append([]int(nil), l.Shape...), nil
	case Softmax:
		if l.Axis < 0 || l.Axis >= len(in) {
			return nil, fmt.Errorf("axis %d of a rank-%d input", l.Axis, len(in))
		}
		return append([]int(nil), in...), nil
	case LayerNorm:
		if len(l.Axes) == 0 {
			return nil, errors.New("no axes")
		}
		for k, a := range l.Axes {
			if a < 0 || a >= len(in) || (k > 0 && a <= l.Axes[k-1]) {
				return nil, fmt.Errorf("axes %v of a rank-%d input: want increasing axes in range", l.Axes, len(in))
			}
		}
		return append([]int(nil), in...), nil
	case LRN:
		if l.Size <= 0 {
			return nil, fmt.Errorf("size %d must be positive", l.Size)
		}
		return append([]int(nil), in...), nil
	case Tanh, Sigmoid, HardSigmoid, HardSwish, SiLU:
		return append([]int(nil), in...), nil
	case Unary:
		if !slices.Contains(UnaryFns, l.Fn) {
			return nil, fmt.Errorf("unary function %q: want one of %v", l.Fn, UnaryFns)
		}
		if l.Fn == "PRelu" && len(l.Scale) != 1 && len(l.Scale) != in[0] && len(l.Scale) != Size(in) {
			return nil, fmt.Errorf("PRelu slope has %d values: want 1, one per channel (%d) or one per element (%d)", len(l.Scale), in[0], Size(in))
		}
		return append([]int(nil), in...), nil
	case Reduce:
		if !slices.Contains(ReduceFns, l.Fn) {
			return nil, fmt.Errorf("reduce function %q: want one of %v", l.Fn, ReduceFns)
		}
		if len(l.Axes) == 0 {
			return nil, errors.New("no axes")
		}
		for k, a := range l.Axes {
			if a < 0 || a >= len(in) || (k > 0 && a <= l.Axes[k-1]) {
				return nil, fmt.Errorf("axes %v of a rank-%d input: want increasing axes in range", l.Axes, len(in))
			}
		}
		var out []int
		for k, d := range in {
			switch {
			case !slices.Contains(l.Axes, k):
				out = append(out, d)
			case l.Keep:
				out = append(out, 1)
			}
		}
		if len(out) == 0 {
			out = []int{1}
		}
		return out, nil
	case Binary:
		if !slices.Contains(BinaryFns, l.Fn) {
			return nil, fmt.Errorf("binary function %q: want one of %v", l.Fn, BinaryFns)
		}
		return BroadcastShapes(in, ins[1])
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
		if len(l.Scale) != len(l.Shift) || (len(l.Scale) != in[0] && len(l.Scale) != Size(in)) {
			return nil, fmt.Errorf("%d channels, scale has %d values and shift %d (want one per channel or one per element)", in[0], len(l.Scale), len(l.Shift))
		}
		return append([]int(nil), in...), nil
	case ReLU, Clip, LeakyReLU, Dropout:
		return append([]int(nil), in...), nil
	case Quant:
		if l.Levels < 1 {
			return nil, fmt.Errorf("%d levels: want at least 1", l.Levels)
		}
		if !(l.Min <= l.Max) {
			return nil, fmt.Errorf("bounds [%v, %v]", l.Min, l.Max)
		}
		return append([]int(nil), in...), nil
	}
	return nil, fmt.Errorf("unknown op %v", l.Op)
}

func (l *Node) checkParams() error {
	if len(l.W) != Size(l.WShape) {
		return fmt.Errorf("weight has %d values, shape %v wants %d", len(l.W), l.WShape, Size(l.WShape))
	}
	if l.B != nil && len(l.B) != l.WShape[0] {
		return fmt.Errorf("bias has %d values, want %d", len(l.B), l.WShape[0])
	}
	return nil
}

// PerElement reports whether an Affine node has one scale and shift per
// element rather than per channel (InferShapes first). A [C] or [C 1 1]
// shape has both at once; it counts as per channel.
func (l *Node) PerElement() bool {
	return l.Op == Affine && len(l.InShape) > 0 && len(l.Scale) != l.InShape[0]
}

// Params returns the number of parameters of the layer (weights, biases,
// and BatchNorm's four vectors). An Affine layer's fixed Scale and Shift
// are not parameters.
func (l *Node) Params() int {
	return len(l.W) + len(l.B) + len(l.Gamma) + len(l.Beta) + len(l.Mean) + len(l.Var)
}

// MACs returns the multiply-accumulates of one sample (InferShapes first).
// The count saturates at math.MaxInt64 instead of overflowing.
func (l *Node) MACs() int64 {
	switch l.Op {
	case Conv:
		return mulSat(int64(Size(l.OutShape)), int64(l.WShape[1]), int64(l.WShape[2]), int64(l.WShape[3]))
	case Linear:
		return mulSat(int64(l.WShape[0]), int64(l.WShape[1]))
	}
	return 0
}

// mulSat multiplies non-negative factors, saturating at math.MaxInt64.
func mulSat(f ...int64) int64 {
	n := int64(1)
	for _, x := range f {
		if x != 0 && n > math.MaxInt64/x {
			return math.MaxInt64
		}
		n *= x
	}
	return n
}

// Params returns the parameter count of the model.
func (m *Model) Params() int {
	n := 0
	for _, l := range m.Nodes {
		n += l.Params()
	}
	return n
}

// MACs returns the multiply-accumulates of one sample.
// It saturates at math.MaxInt64.
func (m *Model) MACs() int64 {
	var n int64
	for _, l := range m.Nodes {
		if n += l.MACs(); n < 0 {
			return math.MaxInt64
		}
	}
	return n
}

// ErrNonFinite reports a NaN or infinite parameter.
var ErrNonFinite = errors.New("non-finite value")

// CheckFinite returns an error naming the first layer with a NaN or infinite
// parameter.
func (m *Model) CheckFinite() error {
	for i, l := range m.Nodes {
		for _, p := range []struct {
			name string
			v    []float32
		}{{"weight", l.W}, {"bias", l.B}, {"gamma", l.Gamma}, {"beta", l.Beta}, {"mean", l.Mean}, {"var", l.Var},
			{"scale", l.Scale}, {"shift", l.Shift}} {
			for j, x := range p.v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("node %d %q %s[%d] = %v: %w", i, l.Name, p.name, j, x, ErrNonFinite)
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
	c.Metadata = maps.Clone(m.Metadata)
	c.Nodes = make([]*Node, len(m.Nodes))
	cp := func(v []float32) []float32 {
		if v == nil {
			return nil
		}
		return append([]float32(nil), v...)
	}
	for i, l := range m.Nodes {
		n := *l
		n.W, n.B = cp(l.W), cp(l.B)
		n.Gamma, n.Beta, n.Mean, n.Var = cp(l.Gamma), cp(l.Beta), cp(l.Mean), cp(l.Var)
		n.Scale, n.Shift = cp(l.Scale), cp(l.Shift)
		n.Inputs = slices.Clone(l.Inputs)
		n.Axes, n.Shape = slices.Clone(l.Axes), slices.Clone(l.Shape)
		n.WShape = append([]int(nil), l.WShape...)
		n.InShape = append([]int(nil), l.InShape...)
		n.OutShape = append([]int(nil), l.OutShape...)
		c.Nodes[i] = &n
	}
	return &c
}

// Rectified reports whether the output of node i passes through a ReLU (or
// a Clip with Min = 0) before the next node that computes: Dropout,
// Flatten, Reshape and MaxPool may sit between, since max-pooling and ReLU
// commute; any other node (an Affine too: its shift can make values
// negative again) ends the search, unrectified, and so does a value read by
// more than one node. The converters use it to tell hidden layers
// (rectified) from output layers. Inputs must be explicit (InferShapes).
func (m *Model) Rectified(i int) bool {
	cons := m.Consumers()
	for {
		if len(cons[i]) != 1 {
			return false
		}
		i = cons[i][0]
		l := m.Nodes[i]
		switch l.Op {
		case Dropout, Flatten, Reshape, MaxPool:
			continue
		case ReLU:
			return true
		case Clip:
			return l.Min == 0
		}
		return false
	}
}
