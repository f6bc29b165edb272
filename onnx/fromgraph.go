package onnx

import (
	"errors"
	"fmt"
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

// FromGraph converts a layer chain into an ONNX model (IR version 7, opset
// 13). Parameters become float32 initializers in raw_data named
// <layer>.weight, <layer>.bias and so on; the graph input is [N,C,H,W] and
// the output [N,...] with a symbolic batch dimension "N". Layers without a
// name get one like conv1 or relu2. A Linear layer whose input is not flat
// gets a Flatten node before its Gemm, as Gemm needs a rank-2 input. An
// Affine input transform (graph.PrependPreprocess) is refused with an error
// wrapping ErrUnsupported. m is not modified.
func FromGraph(m *graph.Model) (*Model, error) {
	return FromGraphWith(m, WriteOptions{})
}

// FromGraphWith is FromGraph with options.
func FromGraphWith(m *graph.Model, opt WriteOptions) (*Model, error) {
	if m == nil {
		return nil, errors.New("onnx: nil graph model")
	}
	// Infer shapes on shallow copies of the layers so m stays untouched.
	sm := *m
	sm.Nodes = make([]*graph.Node, len(m.Nodes))
	for i, l := range m.Nodes {
		if l == nil {
			return nil, fmt.Errorf("onnx: layer %d is nil", i)
		}
		cp := *l
		sm.Nodes[i] = &cp
	}
	if err := sm.InferShapes(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	w := &writer{
		opt:    opt,
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
	w.names[out] = true // reserved for the last node's output
	w.g.Input = []*ValueInfo{valueInfo(in, sm.InputShape)}
	w.g.Output = []*ValueInfo{valueInfo(out, sm.OutputShape())}

	cur := in
	for i, l := range sm.Nodes {
		dst := out
		if i < len(sm.Nodes)-1 {
			dst = ""
		}
		var err error
		if cur, err = w.layer(l, cur, dst); err != nil {
			return nil, fmt.Errorf("onnx: layer %d %q (%v): %w", i, l.Name, l.Op, err)
		}
	}
	if len(sm.Nodes) == 0 {
		w.g.Node = append(w.g.Node, &Node{Name: "identity", OpType: "Identity", Input: []string{in}, Output: []string{out}})
	}
	return &Model{
		IRVersion:    WriteIRVersion,
		OpsetImport:  []OpsetID{{Domain: "", Version: WriteOpset}},
		ProducerName: WriteProducer,
		Graph:        w.g,
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
	g      *Graph
	names  map[string]bool // value names: inputs, outputs, initializers
	nodes  map[string]bool // node names
	counts map[graph.Op]int
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

// layer appends the node(s) for l reading value x and returns its output
// value name; dst, if set, is the name the output must have.
func (w *writer) layer(l *graph.Node, x, dst string) (string, error) {
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
		// Mul and Add by per-channel constants would say it, but the
		// reader does not take them back: a file quartz writes must read.
		return "", fmt.Errorf("the input transform (from --input-mean/--input-std/--input-scale) is not written to ONNX: write the model without it and give the same flags again when you use the file: %w", ErrUnsupported)
	default:
		return "", fmt.Errorf("op %w", ErrUnsupported)
	}
	w.g.Node = append(w.g.Node, n)
	return out, nil
}
