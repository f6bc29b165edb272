package onnx

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// builder assembles small ONNX models for tests. The graph input is "x";
// each node's output defaults to its name.
type builder struct{ m *Model }

func newBuilder(opset int64, inDims ...int64) *builder {
	shape := []Dim{{Param: "N"}}
	for _, d := range inDims {
		shape = append(shape, Dim{Value: d, HasValue: true})
	}
	return &builder{&Model{IRVersion: 7, OpsetImport: []OpsetID{{"", opset}}, Graph: &Graph{
		Name:  "t",
		Input: []*ValueInfo{{Name: "x", Type: &TensorType{ElemType: Float, HasShape: true, Shape: shape}}},
	}}}
}

func (b *builder) init(name string, dims []int64, v ...float32) *builder {
	b.m.Graph.Initializer = append(b.m.Graph.Initializer, FloatTensor(name, dims, v))
	return b
}

func (b *builder) initInt(name string, v ...int64) *builder {
	b.m.Graph.Initializer = append(b.m.Graph.Initializer,
		&Tensor{Name: name, DataType: Int64, Dims: []int64{int64(len(v))}, Int64Data: v})
	return b
}

func (b *builder) node(op, name string, in []string, attrs ...*Attribute) *builder {
	b.m.Graph.Node = append(b.m.Graph.Node, &Node{Name: name, OpType: op, Input: in, Output: []string{name}, Attribute: attrs})
	return b
}

// done sets the graph output to the last node's output.
func (b *builder) done() *Model {
	g := b.m.Graph
	out := "x"
	if len(g.Node) > 0 {
		out = g.Node[len(g.Node)-1].Output[0]
	}
	g.Output = []*ValueInfo{{Name: out}}
	return b.m
}

func fAttr(name string, v float32) *Attribute { return &Attribute{Name: name, Type: AttrFloat, F: v} }
func sAttr(name, v string) *Attribute         { return &Attribute{Name: name, Type: AttrString, S: []byte(v)} }

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func convNet(opset int64, attrs ...*Attribute) *builder {
	return newBuilder(opset, 2, 5, 5).init("w", []int64{3, 2, 3, 3}, ones(54)...).init("b", []int64{3}, 1, 2, 3).
		node("Conv", "c", []string{"x", "w", "b"}, attrs...)
}

func TestToGraph(t *testing.T) {
	tests := []struct {
		name  string
		model *Model
		check func(t *testing.T, g *graph.Model, notes []string)
	}{
		{"conv explicit pads", convNet(13, intsAttr("pads", 1, 0, 2, 1), intsAttr("strides", 2, 1), intsAttr("kernel_shape", 3, 3)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				l := g.Nodes[0]
				if l.Pad != [4]int{1, 0, 2, 1} || l.Stride != [2]int{2, 1} || l.Group != 1 || l.Dilation != [2]int{1, 1} ||
					!reflect.DeepEqual(l.OutShape, []int{3, 3, 4}) {
					t.Errorf("%+v", l)
				}
			}},
		{"conv same upper", convNet(13, sAttr("auto_pad", "SAME_UPPER"), intsAttr("strides", 2, 2), intsAttr("dilations", 1, 2)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				// H: out 3, total (3-1)*2+3-5 = 2 → 1,1; W: k_eff 5 → total 4 → 2,2.
				if l := g.Nodes[0]; l.Pad != [4]int{1, 2, 1, 2} || !reflect.DeepEqual(l.OutShape, []int{3, 3, 3}) {
					t.Errorf("pads %v out %v", l.Pad, l.OutShape)
				}
			}},
		{"conv same lower odd", newBuilder(13, 1, 4, 4).init("w", []int64{1, 1, 2, 2}, 1, 1, 1, 1).
			node("Conv", "c", []string{"x", "w"}, sAttr("auto_pad", "SAME_LOWER")).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Pad != [4]int{1, 1, 0, 0} || l.B != nil {
					t.Errorf("pads %v bias %v", l.Pad, l.B)
				}
			}},
		{"conv valid", convNet(13, sAttr("auto_pad", "VALID")).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Pad != [4]int{} || !reflect.DeepEqual(l.OutShape, []int{3, 3, 3}) {
					t.Errorf("%+v", l)
				}
			}},
		{"gemm transB=0 alpha beta", newBuilder(13, 3).init("w", []int64{3, 2}, 1, 2, 3, 4, 5, 6).init("b", []int64{1, 2}, 1, -1).
			node("Gemm", "fc", []string{"x", "w", "b"}, fAttr("alpha", 2), fAttr("beta", 0.5)).done(),
			func(t *testing.T, g *graph.Model, notes []string) {
				l := g.Nodes[0]
				if !reflect.DeepEqual(l.W, []float32{2, 6, 10, 4, 8, 12}) || !reflect.DeepEqual(l.B, []float32{0.5, -0.5}) ||
					!reflect.DeepEqual(l.WShape, []int{2, 3}) {
					t.Errorf("W %v B %v shape %v", l.W, l.B, l.WShape)
				}
				if len(notes) != 3 { // rank-2 input, alpha, beta
					t.Errorf("notes %q", notes)
				}
				if !reflect.DeepEqual(g.InputShape, []int{3, 1, 1}) {
					t.Errorf("input shape %v", g.InputShape)
				}
			}},
		{"gemm broadcast bias", newBuilder(13, 2).init("w", []int64{2, 2}, 1, 0, 0, 1).init("b", []int64{1}, 3).
			node("Gemm", "fc", []string{"x", "w", "b"}, intAttr("transB", 1)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; !reflect.DeepEqual(l.B, []float32{3, 3}) {
					t.Errorf("B %v", l.B)
				}
			}},
		{"matmul add", newBuilder(13, 3).init("w", []int64{3, 2}, 1, 2, 3, 4, 5, 6).
			node("MatMul", "mm", []string{"x", "w"}).
			node("Constant", "bias", nil, &Attribute{Name: "value_floats", Type: AttrFloats, Floats: []float32{7, 8}}).
			node("Add", "add", []string{"bias", "mm"}).
			node("Relu", "r", []string{"add"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				l := g.Nodes[0]
				if len(g.Nodes) != 2 || l.Op != graph.Linear || l.Name != "mm" ||
					!reflect.DeepEqual(l.W, []float32{1, 3, 5, 2, 4, 6}) || !reflect.DeepEqual(l.B, []float32{7, 8}) {
					t.Errorf("%+v", l)
				}
			}},
		{"matmul alone", newBuilder(13, 2).init("w", []int64{2, 1}, 1, 2).node("MatMul", "mm", []string{"x", "w"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.B != nil || !reflect.DeepEqual(l.WShape, []int{1, 2}) {
					t.Errorf("%+v", l)
				}
			}},
		{"clip opset 6 attrs", newBuilder(7, 1, 2, 2).node("Clip", "c", []string{"x"}, fAttr("min", 0), fAttr("max", 6)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Op != graph.Clip || l.Min != 0 || l.Max != 6 {
					t.Errorf("%+v", l)
				}
			}},
		{"clip opset 11 relu", newBuilder(11, 1, 2, 2).init("lo", nil, 0).node("Clip", "c", []string{"x", "lo"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Op != graph.ReLU {
					t.Errorf("%+v", l)
				}
			}},
		{"clip constant bounds", newBuilder(13, 1, 2, 2).
			node("Constant", "lo", nil, &Attribute{Name: "value", Type: AttrTensor, T: &Tensor{DataType: Double, DoubleData: []float64{-1}}}).
			node("Constant", "hi", nil, fAttr("value_float", 1)).
			node("Clip", "c", []string{"x", "lo", "hi"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Op != graph.Clip || l.Min != -1 || l.Max != 1 {
					t.Errorf("%+v", l)
				}
			}},
		{"leakyrelu default alpha", newBuilder(6, 1, 2, 2).node("LeakyRelu", "lr", []string{"x"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; len(g.Nodes) != 1 || l.Op != graph.LeakyReLU || l.Alpha != 0.01 || l.Name != "lr" {
					t.Errorf("%+v", l)
				}
			}},
		{"leakyrelu alpha", newBuilder(16, 1, 2, 2).node("LeakyRelu", "lr", []string{"x"}, fAttr("alpha", 0.1)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Op != graph.LeakyReLU || l.Alpha != 0.1 {
					t.Errorf("%+v", l)
				}
			}},
		{"clip max only", newBuilder(13, 1, 2, 2).init("hi", nil, 6).node("Clip", "c", []string{"x", "", "hi"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if l := g.Nodes[0]; l.Op != graph.Clip || l.Min != -math.MaxFloat32 || l.Max != 6 {
					t.Errorf("%+v", l)
				}
			}},
		{"pools", newBuilder(13, 1, 7, 7).
			node("MaxPool", "mp", []string{"x"}, intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2), intAttr("ceil_mode", 1)).
			node("AveragePool", "ap", []string{"mp"}, intsAttr("kernel_shape", 2, 2), sAttr("auto_pad", "SAME_UPPER"), intAttr("count_include_pad", 1)).
			node("GlobalAveragePool", "gap", []string{"ap"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				mp, ap := g.Nodes[0], g.Nodes[1]
				if !mp.CeilMode || !reflect.DeepEqual(mp.OutShape, []int{1, 3, 3}) || mp.Dilation != [2]int{} {
					t.Errorf("maxpool %+v", mp)
				}
				if !ap.CountIncludePad || ap.Pad != [4]int{0, 0, 1, 1} || !reflect.DeepEqual(ap.OutShape, []int{1, 3, 3}) {
					t.Errorf("avgpool %+v", ap)
				}
				if !reflect.DeepEqual(g.OutputShape(), []int{1, 1, 1}) {
					t.Errorf("out %v", g.OutputShape())
				}
			}},
		{"batchnorm dropout identity", newBuilder(13, 2, 1, 1).init("s", []int64{2}, 1, 2).init("bb", []int64{2}, 3, 4).
			init("m", []int64{2}, 5, 6).init("v", []int64{2}, 7, 8).init("ratio", nil, 0.1).
			node("BatchNormalization", "bn", []string{"x", "s", "bb", "m", "v"}, fAttr("epsilon", 0.01), fAttr("momentum", 0.9)).
			node("Identity", "id", []string{"bn"}).
			node("Dropout", "do", []string{"id", "ratio"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				bn, do := g.Nodes[0], g.Nodes[1]
				if len(g.Nodes) != 2 || bn.Eps != 0.01 || !reflect.DeepEqual(bn.Var, []float32{7, 8}) || do.Ratio != 0.1 {
					t.Errorf("%+v %+v", bn, do)
				}
			}},
		{"dropout opset 10", newBuilder(10, 2, 1, 1).node("Dropout", "do", []string{"x"}, fAttr("ratio", 0.3)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if g.Nodes[0].Ratio != 0.3 {
					t.Errorf("%+v", g.Nodes[0])
				}
			}},
		{"reshape forms", newBuilder(13, 2, 2, 2).initInt("s0", 0, -1).initInt("s1", -1, 8).initInt("s2", 1, -1).
			node("Reshape", "r0", []string{"x", "s0"}).node("Reshape", "r1", []string{"r0", "s1"}).
			node("Reshape", "r2", []string{"r1", "s2"}).done(),
			func(t *testing.T, g *graph.Model, notes []string) {
				// r0 flattens; r1 and r2 are views of the same values.
				if len(g.Nodes) != 1 || g.Nodes[0].Op != graph.Flatten || g.Nodes[0].Name != "r0" ||
					!reflect.DeepEqual(g.OutputShape(), []int{8}) {
					t.Errorf("%v out %v", g.Nodes, g.OutputShape())
				}
			}},
		{"flatten negative axis", newBuilder(13, 2, 2, 2).node("Flatten", "f", []string{"x"}, intAttr("axis", -3)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if !reflect.DeepEqual(g.OutputShape(), []int{8}) {
					t.Errorf("%v", g.OutputShape())
				}
			}},
		{"softmax dropped", newBuilder(13, 2, 1, 1).node("Flatten", "f", []string{"x"}).node("Softmax", "sm", []string{"f"}).done(),
			func(t *testing.T, g *graph.Model, notes []string) {
				if len(g.Nodes) != 1 || g.OutputName != "sm" || g.OutputActivation != "Softmax" {
					t.Errorf("layers %v output %q activation %q", g.Nodes, g.OutputName, g.OutputActivation)
				}
			}},
		{"reshape keeps axes", newBuilder(13, 2, 2, 2).initInt("s", 0, 2, 4).node("Reshape", "r", []string{"x", "s"}).
			node("Relu", "a", []string{"r"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				// A view: the Relu reads the input; the output is [N,2,4]
				// stored as the input's [2,2,2], reshaped at the end.
				if len(g.Nodes) != 2 || g.Nodes[0].Op != graph.ReLU || g.Nodes[1].Op != graph.Reshape ||
					!reflect.DeepEqual(g.OutputShape(), []int{2, 4}) {
					t.Errorf("%v out %v", g.Nodes, g.OutputShape())
				}
			}},
		{"residual add", newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).node("Add", "Add_12", []string{"r", "x"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if len(g.Nodes) != 2 || g.Nodes[0].Op != graph.ReLU || g.Nodes[1].Op != graph.Add || g.Nodes[1].Name != "Add_12" ||
					!reflect.DeepEqual(g.Nodes[0].Inputs, []int{graph.ModelInput}) ||
					!reflect.DeepEqual(g.Nodes[1].Inputs, []int{0, graph.ModelInput}) || g.IsChain() {
					t.Errorf("%v", g.Nodes)
				}
			}},
		{"concat branches", newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).node("Sigmoid", "s", []string{"x"}).
			node("Concat", "cat", []string{"s", "r"}, intAttr("axis", 1)).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if len(g.Nodes) != 3 || g.Nodes[0].Op != graph.ReLU || g.Nodes[1].Op != graph.Sigmoid || g.Nodes[2].Op != graph.Concat ||
					!reflect.DeepEqual(g.Nodes[2].Inputs, []int{1, 0}) || !reflect.DeepEqual(g.OutputShape(), []int{2, 2, 2}) {
					t.Errorf("%v out %v", g.Nodes, g.OutputShape())
				}
			}},
		{"sigmoid", newBuilder(13, 1, 2, 2).node("Sigmoid", "sig", []string{"x"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if len(g.Nodes) != 1 || g.Nodes[0].Op != graph.Sigmoid || g.Nodes[0].Name != "sig" {
					t.Errorf("%v", g.Nodes)
				}
			}},
		{"output is the input", func() *Model {
			m := newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).done()
			m.Graph.Output[0].Name = "x"
			return m
		}(),
			func(t *testing.T, g *graph.Model, notes []string) {
				// The Relu is not on the way to the output: dropped; the
				// output is one identity node.
				if len(g.Nodes) != 1 || g.Nodes[0].Op != graph.Dropout || g.Nodes[0].Ratio != 0 ||
					!reflect.DeepEqual(g.OutputShape(), []int{1, 2, 2}) || !strings.Contains(strings.Join(notes, "\n"), "is the input itself") {
					t.Errorf("%v notes %q", g.Nodes, notes)
				}
			}},
		{"identity of a flat input", newBuilder(13, 3).node("Identity", "id", []string{"x"}).done(),
			func(t *testing.T, g *graph.Model, _ []string) {
				// Stored [3,1,1], the file's [N,3]: a Flatten.
				if len(g.Nodes) != 1 || g.Nodes[0].Op != graph.Flatten || !reflect.DeepEqual(g.OutputShape(), []int{3}) {
					t.Errorf("%v", g.Nodes)
				}
			}},
		{"initializers listed as inputs and identity weights", func() *Model {
			b := newBuilder(9, 2, 1, 1).init("w0", []int64{1, 2, 1, 1}, 1, 1).node("Identity", "w", []string{"w0"}).
				node("Conv", "c", []string{"x", "w"})
			b.m.Graph.Input = append(b.m.Graph.Input, &ValueInfo{Name: "w0"})
			return b.done()
		}(),
			func(t *testing.T, g *graph.Model, _ []string) {
				if len(g.Nodes) != 1 || !reflect.DeepEqual(g.Nodes[0].W, []float32{1, 1}) {
					t.Errorf("%+v", g.Nodes)
				}
			}},
		{"float16 and double weights", newBuilder(13, 1, 1, 1).
			node("Conv", "c", []string{"x", "w", "b"}).done(),
			nil},
	}
	// Fill the last case's initializers by hand.
	last := tests[len(tests)-1].model.Graph
	last.Initializer = []*Tensor{
		{Name: "w", DataType: Float16, Dims: []int64{2, 1, 1, 1}, RawData: []byte{0x00, 0x3c, 0x00, 0xc0}},
		{Name: "b", DataType: Double, Dims: []int64{2}, DoubleData: []float64{0.5, 0.25}},
	}
	tests[len(tests)-1].check = func(t *testing.T, g *graph.Model, _ []string) {
		if l := g.Nodes[0]; !reflect.DeepEqual(l.W, []float32{1, -2}) || !reflect.DeepEqual(l.B, []float32{0.5, 0.25}) {
			t.Errorf("W %v B %v", l.W, l.B)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, notes, err := Convert(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, g, notes)
		})
	}
}

func TestToGraphErrors(t *testing.T) {
	tests := []struct {
		name  string
		model *Model
		want  string
		unsup bool
	}{
		{"nil", nil, "no graph", false},
		{"no opset", &Model{Graph: &Graph{}}, "no default-domain opset", false},
		{"old opset", newBuilder(5, 1, 2, 2).done(), "opset 5", true},
		{"unsupported op", newBuilder(13, 1, 2, 2).node("Hardmax", "e", []string{"x"}).done(),
			`node "e" (Hardmax): op Hardmax (opset 13) is not supported`, true},
		{"concat of a constant", newBuilder(13, 1, 2, 2).init("k", []int64{1, 1, 2, 2}, 1, 2, 3, 4).
			node("Concat", "cat", []string{"x", "k"}, intAttr("axis", 1)).done(), "a Concat of activations and constants", true},
		{"add across samples", newBuilder(13, 1, 2, 2).init("k", []int64{2, 1, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8).
			node("Add", "a", []string{"x", "k"}).done(), "would broadcast", true},
		{"other domain", func() *Model {
			b := newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"})
			b.m.Graph.Node[0].Domain = "com.microsoft"
			return b.done()
		}(), `domain "com.microsoft"`, true},
		{"missing initializer", newBuilder(13, 1, 2, 2).node("Conv", "c", []string{"x", "nope"}).done(),
			`node "c" (Conv): input "nope" is not produced`, false},
		{"cycle", newBuilder(13, 1, 2, 2).node("Relu", "a", []string{"b"}).node("Relu", "b", []string{"a"}).done(),
			`node "a" (Relu): the graph has a cycle through this node`, false},
		{"self loop", newBuilder(13, 1, 2, 2).node("Relu", "x", []string{"x"}).done(), `output "x" is already defined`, false},
		{"conv weight not const", newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).node("Conv", "c", []string{"r", "r"}).done(),
			`node "c" (Conv): weight input "r" is not a constant`, true},
		{"conv 1d", newBuilder(13, 1, 2, 2).init("w", []int64{1, 1, 1}, 1).node("Conv", "c", []string{"x", "w"}).done(),
			"only 2-D convolution", true},
		{"conv int weight", newBuilder(13, 1, 2, 2).initInt("w", 1).node("Conv", "c", []string{"x", "w"}).done(),
			`weight input "w" is an integer tensor`, false},
		{"conv bad kernel_shape", convNet(13, intsAttr("kernel_shape", 2, 2)).done(), "does not match", false},
		{"conv auto_pad and pads", convNet(13, sAttr("auto_pad", "SAME_UPPER"), intsAttr("pads", 1, 1, 1, 1)).done(), "explicit pads", false},
		{"conv huge pads", convNet(13, intsAttr("pads", 1<<40, 0, 0, 0)).done(), "values must be in", false},
		{"conv unknown attr", convNet(13, intAttr("foo", 1)).done(), `attribute "foo" is not supported`, true},
		{"conv wrong attr type", convNet(13, fAttr("group", 1)).done(), `attribute "group": type 1, want INT`, false},
		{"raw_data mismatch", func() *Model {
			b := convNet(13)
			b.m.Graph.Initializer[0].RawData = b.m.Graph.Initializer[0].RawData[:8]
			return b.done()
		}(), `tensor "w": dims [3 2 3 3] of float32 need 216 bytes, raw_data has 8`, false},
		{"external data", func() *Model {
			b := convNet(13)
			b.m.Graph.Initializer[0].DataLocation = 1
			return b.done()
		}(), "external data: no location", false},
		{"maxpool dilations", newBuilder(13, 1, 4, 4).node("MaxPool", "mp", []string{"x"}, intsAttr("kernel_shape", 2, 2), intsAttr("dilations", 2, 2)).done(),
			"dilations [2 2] are not supported", true},
		{"maxpool storage order", newBuilder(13, 1, 4, 4).node("MaxPool", "mp", []string{"x"}, intsAttr("kernel_shape", 2, 2), intAttr("storage_order", 1)).done(),
			"storage_order=1", true},
		{"maxpool no kernel", newBuilder(13, 1, 4, 4).node("MaxPool", "mp", []string{"x"}).done(), "missing kernel_shape", false},
		{"pool too big", newBuilder(13, 1, 4, 4).node("MaxPool", "mp", []string{"x"}, intsAttr("kernel_shape", 5, 5)).done(), "kernel 5 (dilation 1) larger than padded input 4", false},
		{"gemm transA", newBuilder(13, 2).init("w", []int64{2, 2}, 1, 2, 3, 4).node("Gemm", "g", []string{"x", "w"}, intAttr("transA", 1)).done(),
			"transA=1", true},
		{"gemm bad bias", newBuilder(13, 2).init("w", []int64{2, 2}, 1, 2, 3, 4).init("b", []int64{3}, 1, 2, 3).node("Gemm", "g", []string{"x", "w", "b"}).done(),
			"bias \"b\" has 3 values, want 2", false},
		{"gemm wrong features", newBuilder(13, 3).init("w", []int64{2, 2}, 1, 2, 3, 4).node("Gemm", "g", []string{"x", "w"}).done(),
			"input has 3 features, weight wants 2", false},
		{"unsqueeze moves batch", newBuilder(13, 2, 2, 2).initInt("a", 0).node("Unsqueeze", "u", []string{"x", "a"}).done(),
			"moves the batch dimension", true},
		{"transpose moves batch", newBuilder(13, 2, 2, 2).node("Transpose", "t", []string{"x"}, intsAttr("perm", 1, 0, 2, 3)).done(),
			"moves the batch dimension", true},
		{"output from shape only", newBuilder(13, 2, 2, 2).node("Shape", "sh", []string{"x"}).node("Mul", "m", []string{"sh", "sh"}).done(),
			`graph output "m" is a constant`, false},
		{"flatten axis 2", newBuilder(13, 2, 2, 2).node("Flatten", "f", []string{"x"}, intAttr("axis", 2)).done(), "axis 2", true},
		{"softmax not last", newBuilder(13, 2, 1, 1).node("Softmax", "sm", []string{"x"}, intAttr("axis", 1)).node("Relu", "r", []string{"sm"}).done(),
			`node "r" (Relu): reads the output of a Softmax`, true},
		{"bn training", newBuilder(14, 1, 1, 1).init("s", []int64{1}, 1).node("BatchNormalization", "bn", []string{"x", "s", "s", "s", "s"}, intAttr("training_mode", 1)).done(),
			"training_mode=1", true},
		{"bn missing input", newBuilder(14, 1, 1, 1).init("s", []int64{1}, 1).node("BatchNormalization", "bn", []string{"x", "s", "s"}).done(),
			"missing input_mean", false},
		{"bn nan", newBuilder(14, 1, 1, 1).init("s", []int64{1}, float32(math.NaN())).node("BatchNormalization", "bn", []string{"x", "s", "s", "s", "s"}).done(),
			"the variance must be positive", false},
		{"bn nan scale", newBuilder(14, 1, 1, 1).init("s", []int64{1}, float32(math.NaN())).init("one", []int64{1}, 1).
			node("BatchNormalization", "bn", []string{"x", "s", "one", "one", "one"}).done(), "non-finite", false},
		{"dropout training", func() *Model {
			b := newBuilder(13, 1, 1, 1)
			b.m.Graph.Initializer = append(b.m.Graph.Initializer, &Tensor{Name: "tm", DataType: Bool, RawData: []byte{1}})
			return b.init("r", nil, 0.5).node("Dropout", "d", []string{"x", "r", "tm"}).done()
		}(), "training_mode=[1]", true},
		{"clip bad interval", newBuilder(13, 1, 1, 1).init("lo", nil, 2).init("hi", nil, 1).node("Clip", "c", []string{"x", "lo", "hi"}).done(),
			"not an interval", false},
		{"clip vector bound", newBuilder(13, 1, 1, 1).init("lo", []int64{2}, 0, 1).node("Clip", "c", []string{"x", "lo"}).done(),
			"want a scalar", false},
		{"leakyrelu consumed_inputs", newBuilder(13, 1, 1, 1).node("LeakyRelu", "lr", []string{"x"}, intsAttr("consumed_inputs", 0)).done(),
			`attribute "consumed_inputs"`, true},
		{"leakyrelu nan alpha", newBuilder(13, 1, 1, 1).node("LeakyRelu", "lr", []string{"x"}, fAttr("alpha", float32(math.NaN()))).done(),
			"not finite", false},
		{"input rank 5", newBuilder(13, 1, 2, 2, 2).node("Relu", "r", []string{"x"}).done(), "rank 5", false},
		{"input symbolic", func() *Model {
			b := newBuilder(13, 1, 2, 2)
			b.m.Graph.Input[0].Type.Shape[2] = Dim{Param: "H"}
			return b.done()
		}(), `dim 2 is symbolic "H"`, false},
		{"input int", func() *Model {
			b := newBuilder(13, 1, 2, 2)
			b.m.Graph.Input[0].Type.ElemType = Int64
			return b.done()
		}(), "only float32 inputs", true},
		{"input huge", newBuilder(13, 1<<30, 1<<30, 1<<30).done(), "too large", false},
		{"no type", func() *Model {
			b := newBuilder(13, 1, 2, 2)
			b.m.Graph.Input[0].Type = nil
			return b.done()
		}(), "no tensor shape", false},
		{"two inputs", func() *Model {
			b := newBuilder(13, 1, 2, 2)
			b.m.Graph.Input = append(b.m.Graph.Input, &ValueInfo{Name: "y"})
			return b.done()
		}(), "more than one data input", true},
		{"wrong output", func() *Model {
			m := newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).done()
			m.Graph.Output[0].Name = "nope"
			return m
		}(), `graph output "nope" is not produced by any node`, false},
		{"layernorm mean read", func() *Model {
			b := newBuilder(17, 4).init("g", []int64{4}, 1, 1, 1, 1).node("LayerNormalization", "ln", []string{"x", "g"})
			b.m.Graph.Node[0].Output = []string{"ln", "mean"}
			return b.node("Relu", "r", []string{"mean"}).done()
		}(), `reads "mean", the Mean/InvStdDev output of a LayerNormalization`, true},
		{"duplicate initializer", newBuilder(13, 1, 2, 2).init("w", nil, 1).init("w", nil, 1).done(), "duplicate", false},
		{"bad constant", newBuilder(13, 1, 2, 2).node("Constant", "k", nil, sAttr("value_string", "a")).done(), `"value_string"`, true},
		{"const only op", newBuilder(13, 1, 2, 2).init("w", nil, 1).node("Relu", "r", []string{"w"}).done(), `graph output "r" is a constant`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Convert(tt.model)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, ErrUnsupported) != tt.unsup {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %v", err, !tt.unsup)
			}
		})
	}
}
