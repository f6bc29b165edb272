package onnx

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/quartz-snn/quartz/graph"
)

// Versions FromGraph writes.
const (
	WriteIRVersion = 7
	WriteOpset     = 13
	WriteProducer  = "quartz"
)

// WriteOptions say how FromGraphWith and WriteFileWith store parameters.
// The zero value writes everything as float32.
type WriteOptions struct {
	// Float16 stores the Conv and Gemm weights as float16 initializers
	// named <layer>.weight_fp16, each followed by a Cast node to float32
	// whose output <layer>.weight feeds the layer, so the model stays a
	// valid float32 model for any ONNX runtime at half the weight bytes.
	// Biases and BatchNorm parameters stay float32 (they are few, and a
	// folded bias can need the range). Weights are rounded to the nearest
	// float16 (relative error ≤ 2^-11, absolute ≤ 2^-25 below 2^-14);
	// a weight beyond ±65504 is an error.
	Float16 bool
}

// FromGraph converts a graph model, a chain or a DAG, into an ONNX model
// (IR version 7, opset 13, or 17 when it holds a LayerNorm that needs
// LayerNormalization). Every node reads its inputs by name: the graph
// input, or the output value of the node it reads. Parameters become
// float32 initializers in raw_data named <layer>.weight, <layer>.bias and
// so on; the graph input is [N,C,H,W] and the output [N,...] with a
// symbolic batch dimension "N". Nodes without a name get one like conv1 or
// relu2. A Linear node whose input is not flat gets a Flatten node before
// its Gemm, as Gemm needs a rank-2 input. An Affine node becomes a Mul and
// an Add of constants shaped [C,1,1] (per channel) or like the value (per
// element); SiLU becomes Sigmoid and Mul; a LayerNorm becomes
// MeanVarianceNormalization when its Eps is ONNX's fixed 1e-9, else
// LayerNormalization, which needs the normalized axes to be the trailing
// ones. A final OutputActivation is written as a Softmax or LogSoftmax
// node. Ops that cannot be written give an error wrapping ErrUnsupported.
// m is not modified.
func FromGraph(m *graph.Model) (*Model, error) {
	return FromGraphWith(m, WriteOptions{})
}

// FromGraphWith is FromGraph with options.
func FromGraphWith(m *graph.Model, opt WriteOptions) (*Model, error) {
	if m == nil {
		return nil, errors.New("onnx: nil graph model")
	}
	if len(m.Nodes) == 0 {
		return nil, errors.New("onnx: the model has no nodes")
	}
	// Infer shapes on shallow copies of the nodes so m stays untouched.
	sm := *m
	sm.Nodes = make([]*graph.Node, len(m.Nodes))
	for i, l := range m.Nodes {
		if l == nil {
			return nil, fmt.Errorf("onnx: node %d is nil", i)
		}
		cp := *l
		cp.Inputs = slices.Clone(l.Inputs)
		sm.Nodes[i] = &cp
	}
	if err := sm.InferShapes(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	w := &writer{
		opt:    opt,
		opset:  WriteOpset,
		g:      &Graph{Name: m.Name},
		names:  map[string]bool{},
		nodes:  map[string]bool{},
		counts: map[graph.Op]int{},
	}
	if w.g.Name == "" {
		w.g.Name = WriteProducer
	}
	in := w.unique(w.names, orDefault(m.InputName, "input"))
	out := orDefault(m.OutputName, "output")
	w.names[out] = true // reserved for the model's output
	w.g.Input = []*ValueInfo{valueInfo(in, sm.InputShape)}
	w.g.Output = []*ValueInfo{valueInfo(out, sm.OutputShape())}

	vals := make([]string, len(sm.Nodes)) // output value name of each node
	last := len(sm.Nodes) - 1
	for i, l := range sm.Nodes {
		xs := make([]string, len(l.Inputs))
		for k, j := range l.Inputs {
			if j == graph.ModelInput {
				xs[k] = in
			} else {
				xs[k] = vals[j]
			}
		}
		dst := ""
		if i == last && m.OutputActivation == "" {
			dst = out
		}
		var err error
		if vals[i], err = w.layer(l, xs, dst); err != nil {
			return nil, fmt.Errorf("onnx: node %d %q (%v): %w", i, l.Name, l.Op, err)
		}
	}
	if w.opset >= 18 || w.reduceSum {
		w.reduceAxesInputs()
	}
	if a := m.OutputActivation; a != "" {
		if a != "Softmax" && a != "LogSoftmax" {
			return nil, fmt.Errorf("onnx: output activation %q: %w", a, ErrUnsupported)
		}
		// A softmax over each sample's values as a whole: axis 1 sees
		// them all only when the other axes have size 1.
		if s := sm.OutputShape(); graph.Size(s) != s[0] {
			return nil, fmt.Errorf("onnx: output activation %s over an output of shape %v: only a flat output is %w", a, s, ErrUnsupported)
		}
		w.g.Node = append(w.g.Node, &Node{Name: w.unique(w.nodes, strings.ToLower(a)), OpType: a,
			Input: []string{vals[last]}, Output: []string{out}, Attribute: []*Attribute{intAttr("axis", 1)}})
	}
	var meta []KeyValue
	for _, k := range slices.Sorted(maps.Keys(m.Metadata)) {
		meta = append(meta, KeyValue{Key: k, Value: m.Metadata[k]})
	}
	return &Model{
		IRVersion:     WriteIRVersion,
		OpsetImport:   []OpsetID{{Domain: "", Version: w.opset}},
		ProducerName:  WriteProducer,
		Graph:         w.g,
		MetadataProps: meta,
	}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func valueInfo(name string, shape []int) *ValueInfo {
	dims := []Dim{{Param: "N"}}
	for _, d := range shape {
		dims = append(dims, Dim{Value: int64(d), HasValue: true})
	}
	return &ValueInfo{Name: name, Type: &TensorType{ElemType: Float, HasShape: true, Shape: dims}}
}

type writer struct {
	opt    WriteOptions
	opset  int64
	g      *Graph
	names  map[string]bool // value names: inputs, outputs, initializers
	nodes  map[string]bool // node names
	counts map[graph.Op]int
	// reduceSum: a ReduceSum was written (its axes are an input from opset 13)
	reduceSum bool
}

// unique returns name, or name with a numeric suffix if set already has it,
// and records the result.
func (w *writer) unique(set map[string]bool, name string) string {
	n := name
	for i := 2; set[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	set[n] = true
	return n
}

func (w *writer) init(name string, dims []int64, v []float32) string {
	name = w.unique(w.names, name)
	w.g.Initializer = append(w.g.Initializer, FloatTensor(name, dims, v))
	return name
}

func (w *writer) initInt(name string, v []int64) string {
	name = w.unique(w.names, name)
	w.g.Initializer = append(w.g.Initializer, &Tensor{Name: name, DataType: Int64, Dims: []int64{int64(len(v))}, Int64Data: v})
	return name
}

// extra appends a helper node reading xs and returns its output name.
func (w *writer) extra(name, op string, xs []string, attrs ...*Attribute) string {
	name = w.unique(w.nodes, name)
	out := w.unique(w.names, name)
	w.g.Node = append(w.g.Node, &Node{Name: name, OpType: op, Input: xs, Output: []string{out}, Attribute: attrs})
	return out
}

func floatAttr(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}

// weight adds a Conv or Gemm weight: a float32 initializer, or with
// Float16 a float16 initializer and a Cast node to float32.
func (w *writer) weight(name string, dims []int64, v []float32) (string, error) {
	if !w.opt.Float16 {
		return w.init(name, dims, v), nil
	}
	out := w.unique(w.names, name)
	half := w.unique(w.names, name+"_fp16")
	t, err := HalfTensor(half, dims, v)
	if err != nil {
		return "", fmt.Errorf("float16 weights: %w", err)
	}
	w.g.Initializer = append(w.g.Initializer, t)
	w.g.Node = append(w.g.Node, &Node{Name: w.unique(w.nodes, name+"_cast"), OpType: "Cast",
		Input: []string{half}, Output: []string{out},
		Attribute: []*Attribute{intAttr("to", int64(Float))}})
	return out, nil
}

func ints(v ...int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func intsAttr(name string, v ...int) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: ints(v...)}
}

func intAttr(name string, v int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInt, I: v}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// layer appends the node(s) for l reading the values xs and returns its
// output value name; dst, if set, is the name the output must have.
func (w *writer) layer(l *graph.Node, xs []string, dst string) (string, error) {
	w.counts[l.Op]++
	name := l.Name
	if name == "" {
		name = fmt.Sprintf("%s%d", strings.ToLower(l.Op.String()), w.counts[l.Op])
	}
	name = w.unique(w.nodes, name)
	out := dst
	if out == "" {
		out = w.unique(w.names, name)
	}
	x := xs[0]
	n := &Node{Name: name, Input: []string{x}, Output: []string{out}}
	switch l.Op {
	case graph.Conv:
		n.OpType = "Conv"
		wn, err := w.weight(name+".weight", ints(l.WShape...), l.W)
		if err != nil {
			return "", err
		}
		n.Input = append(n.Input, wn)
		if l.B != nil {
			n.Input = append(n.Input, w.init(name+".bias", []int64{int64(len(l.B))}, l.B))
		}
		n.Attribute = []*Attribute{
			intsAttr("dilations", l.Dilation[0], l.Dilation[1]),
			intAttr("group", int64(l.Group)),
			intsAttr("kernel_shape", l.Kernel[0], l.Kernel[1]),
			intsAttr("pads", l.Pad[:]...),
			intsAttr("strides", l.Stride[0], l.Stride[1]),
		}
	case graph.Linear:
		if len(l.InShape) != 1 {
			fname := w.unique(w.nodes, name+"_flatten")
			fout := w.unique(w.names, fname)
			w.g.Node = append(w.g.Node, &Node{Name: fname, OpType: "Flatten", Input: []string{x}, Output: []string{fout},
				Attribute: []*Attribute{intAttr("axis", 1)}})
			n.Input[0] = fout
		}
		n.OpType = "Gemm"
		wn, err := w.weight(name+".weight", ints(l.WShape...), l.W)
		if err != nil {
			return "", err
		}
		n.Input = append(n.Input, wn)
		if l.B != nil {
			n.Input = append(n.Input, w.init(name+".bias", []int64{int64(len(l.B))}, l.B))
		}
		n.Attribute = []*Attribute{
			{Name: "alpha", Type: AttrFloat, F: 1},
			{Name: "beta", Type: AttrFloat, F: 1},
			intAttr("transB", 1),
		}
	case graph.ReLU:
		n.OpType = "Relu"
	case graph.Clip:
		n.OpType = "Clip"
		n.Input = append(n.Input, w.init(name+".min", nil, []float32{l.Min}), w.init(name+".max", nil, []float32{l.Max}))
	case graph.LeakyReLU:
		n.OpType = "LeakyRelu"
		n.Attribute = []*Attribute{{Name: "alpha", Type: AttrFloat, F: l.Alpha}}
	case graph.MaxPool, graph.AvgPool:
		n.OpType = "MaxPool"
		n.Attribute = []*Attribute{intAttr("ceil_mode", b2i(l.CeilMode))}
		if l.Op == graph.AvgPool {
			n.OpType = "AveragePool"
			n.Attribute = append(n.Attribute, intAttr("count_include_pad", b2i(l.CountIncludePad)))
		}
		n.Attribute = append(n.Attribute,
			intsAttr("kernel_shape", l.Kernel[0], l.Kernel[1]),
			intsAttr("pads", l.Pad[:]...),
			intsAttr("strides", l.Stride[0], l.Stride[1]))
	case graph.GlobalAvgPool:
		n.OpType = "GlobalAveragePool"
	case graph.BatchNorm:
		n.OpType = "BatchNormalization"
		c := []int64{int64(len(l.Gamma))}
		n.Input = append(n.Input,
			w.init(name+".weight", c, l.Gamma), w.init(name+".bias", c, l.Beta),
			w.init(name+".running_mean", c, l.Mean), w.init(name+".running_var", c, l.Var))
		n.Attribute = []*Attribute{{Name: "epsilon", Type: AttrFloat, F: l.Eps}}
	case graph.Dropout:
		n.OpType = "Dropout"
		n.Input = append(n.Input, w.init(name+".ratio", nil, []float32{l.Ratio}))
	case graph.Flatten:
		n.OpType = "Flatten"
		n.Attribute = []*Attribute{intAttr("axis", 1)}
	case graph.Affine:
		// x·Scale + Shift as a Mul and an Add of constants shaped
		// [C,1,…] (per channel, broadcast over the other axes) or like
		// the value (per element).
		dims := ints(l.InShape...)
		if !l.PerElement() {
			dims = make([]int64, len(l.InShape))
			for k := range dims {
				dims[k] = 1
			}
			dims[0] = int64(len(l.Scale))
		}
		mul := w.extra(name+"_scale", "Mul", []string{x, w.init(name+".scale", dims, l.Scale)})
		n.OpType = "Add"
		n.Input = []string{mul, w.init(name+".shift", dims, l.Shift)}
	case graph.Add:
		n.OpType = "Add"
		if len(xs) > 2 {
			n.OpType = "Sum"
		}
		n.Input = xs
	case graph.Mul:
		n.OpType = "Mul"
		n.Input = xs
	case graph.Concat:
		n.OpType = "Concat"
		n.Input = xs
		n.Attribute = []*Attribute{intAttr("axis", 1)}
	case graph.Reshape:
		// 0 keeps the batch dimension.
		n.OpType = "Reshape"
		n.Input = append(n.Input, w.initInt(name+".shape", append([]int64{0}, ints(l.Shape...)...)))
	case graph.Tanh:
		n.OpType = "Tanh"
	case graph.Sigmoid:
		n.OpType = "Sigmoid"
	case graph.HardSigmoid:
		n.OpType = "HardSigmoid"
		n.Attribute = []*Attribute{floatAttr("alpha", l.Alpha), floatAttr("beta", l.Bias)}
	case graph.HardSwish:
		n.OpType = "HardSwish"
	case graph.SiLU:
		n.OpType = "Mul"
		n.Input = []string{x, w.extra(name+"_sigmoid", "Sigmoid", []string{x})}
	case graph.Softmax:
		n.OpType = "Softmax"
		n.Attribute = []*Attribute{intAttr("axis", int64(l.Axis+1))}
	case graph.LRN:
		n.OpType = "LRN"
		n.Attribute = []*Attribute{floatAttr("alpha", l.Alpha), floatAttr("beta", l.Power), floatAttr("bias", l.Bias),
			intAttr("size", int64(l.Size))}
	case graph.LayerNorm:
		if err := w.layerNorm(l, n); err != nil {
			return "", err
		}
	case graph.Unary:
		w.unaryFn(l, n)
	case graph.Reduce:
		n.OpType = "Reduce" + l.Fn
		w.reduceSum = w.reduceSum || l.Fn == "Sum"
		axes := ints(l.Axes...)
		for k := range axes {
			axes[k]++
		}
		n.Attribute = []*Attribute{{Name: "axes", Type: AttrInts, Ints: axes}, intAttr("keepdims", b2i(l.Keep))}
	case graph.Binary:
		n.OpType = l.Fn
		n.Input = xs
	case graph.Quant:
		return "", fmt.Errorf("a fake quantization exists only while training (quartz finetune removes it before writing): %w", ErrUnsupported)
	default:
		return "", fmt.Errorf("op %w", ErrUnsupported)
	}
	w.g.Node = append(w.g.Node, n)
	return out, nil
}

// layerNorm writes a LayerNorm node: MeanVarianceNormalization (its
// epsilon is fixed at 1e-9) when Eps is that, else LayerNormalization
// (opset 17) with a Scale of ones, which normalizes trailing axes only.
func (w *writer) layerNorm(l *graph.Node, n *Node) error {
	axes := ints(l.Axes...)
	for k := range axes {
		axes[k]++
	}
	if l.Eps == float32(1e-9) {
		n.OpType = "MeanVarianceNormalization"
		n.Attribute = []*Attribute{{Name: "axes", Type: AttrInts, Ints: axes}}
		return nil
	}
	r := len(l.InShape)
	first := r - len(l.Axes)
	for k, a := range l.Axes {
		if a != first+k {
			return fmt.Errorf("epsilon %v over axes %v of shape %v: MeanVarianceNormalization fixes epsilon at 1e-9 and LayerNormalization normalizes trailing axes only: %w",
				l.Eps, l.Axes, l.InShape, ErrUnsupported)
		}
	}
	w.opset = max(w.opset, 17)
	dims := ints(l.InShape[first:]...)
	n.OpType = "LayerNormalization"
	n.Input = append(n.Input, w.init(n.Name+".scale", dims, fill32(graph.Size(l.InShape[first:]), 1)))
	n.Attribute = []*Attribute{intAttr("axis", int64(first+1)), floatAttr("epsilon", l.Eps)}
	return nil
}

// unaryFn writes a Unary node as its ONNX operator.
func (w *writer) unaryFn(l *graph.Node, n *Node) {
	n.OpType = l.Fn
	switch l.Fn {
	case "Elu", "Celu", "ThresholdedRelu":
		n.Attribute = []*Attribute{floatAttr("alpha", l.Alpha)}
	case "Selu":
		n.Attribute = []*Attribute{floatAttr("alpha", l.Alpha), floatAttr("gamma", l.Power)}
	case "Gelu", "GeluTanh":
		n.OpType = "Gelu"
		w.opset = max(w.opset, 20)
		if l.Fn == "GeluTanh" {
			n.Attribute = []*Attribute{{Name: "approximate", Type: AttrString, S: []byte("tanh")}}
		}
	case "Mish":
		w.opset = max(w.opset, 18)
	case "Pow":
		n.Input = append(n.Input, w.init(n.Name+".exponent", nil, []float32{l.Power}))
	case "PRelu":
		// One slope ([1]), per channel ([C,1,…]) or per element.
		dims := ints(l.InShape...)
		switch len(l.Scale) {
		case 1:
			dims = []int64{1}
		case l.InShape[0]:
			for k := range dims[1:] {
				dims[k+1] = 1
			}
		}
		n.Input = append(n.Input, w.init(n.Name+".slope", dims, l.Scale))
	}
}

// reduceAxesInputs moves the axes of the Reduce nodes written so far from
// the attribute (opset 13) to the constant input that opset 18 wants
// (ReduceSum: from opset 13).
func (w *writer) reduceAxesInputs() {
	for _, n := range w.g.Node {
		if !strings.HasPrefix(n.OpType, "Reduce") || (n.OpType != "ReduceSum" && w.opset < 18) {
			continue
		}
		for k, a := range n.Attribute {
			if a.Name == "axes" {
				n.Input = append(n.Input, w.initInt(n.Name+".axes", a.Ints))
				n.Attribute = slices.Delete(n.Attribute, k, k+1)
				break
			}
		}
	}
}
