package onnx

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

func seq(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(i%7-3)
	}
	return v
}

// testNet exercises every graph op and most geometry fields.
func testNet() *graph.Model {
	return &graph.Model{
		Name: "net", InputName: "image", OutputName: "logits", InputShape: []int{3, 12, 12},
		Nodes: []*graph.Node{
			{Name: "conv1", Op: graph.Conv, W: seq(4*3*3*3, 0.5), B: seq(4, 0.25), WShape: []int{4, 3, 3, 3},
				Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
			{Name: "bn1", Op: graph.BatchNorm, Gamma: seq(4, 1), Beta: seq(4, 2), Mean: seq(4, 3), Var: []float32{1, 2, 3, 4}, Eps: 1e-3},
			{Name: "relu1", Op: graph.ReLU},
			{Name: "dw", Op: graph.Conv, W: seq(4*1*3*3, 0.125), WShape: []int{4, 1, 3, 3},
				Kernel: [2]int{3, 3}, Stride: [2]int{2, 1}, Pad: [4]int{0, 1, 2, 1}, Dilation: [2]int{2, 1}, Group: 4},
			{Name: "relu6", Op: graph.Clip, Min: 0, Max: 6},
			{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, CeilMode: true},
			{Name: "pool2", Op: graph.AvgPool, Kernel: [2]int{2, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 0, 1}, CountIncludePad: true},
			{Name: "leaky", Op: graph.LeakyReLU, Alpha: 0.2},
			{Name: "gap", Op: graph.GlobalAvgPool},
			{Name: "flat", Op: graph.Flatten},
			{Name: "drop", Op: graph.Dropout, Ratio: 0.25},
			{Name: "fc", Op: graph.Linear, W: seq(5*4, 1.5), B: seq(5, -1), WShape: []int{5, 4}},
			{Name: "fc2", Op: graph.Linear, W: seq(2*5, 1), WShape: []int{2, 5}},
		},
	}
}

// encodeConvert encodes om, decodes the bytes and converts the result.
func encodeConvert(t *testing.T, om *Model) (*graph.Model, []string) {
	t.Helper()
	b, err := Encode(om)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, notes, err := Convert(dm)
	if err != nil {
		t.Fatal(err)
	}
	return got, notes
}

func TestRoundTripEveryOp(t *testing.T) {
	want := testNet()
	if err := want.InferShapes(); err != nil {
		t.Fatal(err)
	}
	om, err := FromGraph(want)
	if err != nil {
		t.Fatal(err)
	}
	got, notes := encodeConvert(t, om)
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
	if got.Producer != "quartz" || got.Opset != 13 {
		t.Errorf("producer %q opset %d", got.Producer, got.Opset)
	}
	got.Producer, got.Opset = "", 0
	if len(got.Nodes) != len(want.Nodes) {
		t.Fatalf("%d layers, want %d", len(got.Nodes), len(want.Nodes))
	}
	for i := range want.Nodes {
		if !reflect.DeepEqual(got.Nodes[i], want.Nodes[i]) {
			t.Errorf("layer %d:\n got %+v\nwant %+v", i, got.Nodes[i], want.Nodes[i])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("model differs: got %+v want %+v", got, want)
	}
}

func TestFromGraphStructure(t *testing.T) {
	in := testNet()
	in.Nodes[0].Name, in.Nodes[2].Name = "", "" // generated names
	om, err := FromGraph(in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Nodes[0].InShape != nil {
		t.Error("FromGraph modified its input")
	}
	b, _ := Encode(om)
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.IRVersion != 7 || len(m.OpsetImport) != 1 || m.OpsetImport[0] != (OpsetID{"", 13}) || m.ProducerName != "quartz" {
		t.Errorf("header: ir %d opset %+v producer %q", m.IRVersion, m.OpsetImport, m.ProducerName)
	}
	g := m.Graph
	if g.Node[0].Name != "conv1" || g.Node[2].Name != "relu1" || g.Node[2].OpType != "Relu" {
		t.Errorf("generated names %q %q", g.Node[0].Name, g.Node[2].Name)
	}
	if g.Node[0].Input[1] != "conv1.weight" || g.Node[0].Input[2] != "conv1.bias" {
		t.Errorf("conv inputs %q", g.Node[0].Input)
	}
	ops := []string{"Conv", "BatchNormalization", "Relu", "Conv", "Clip", "MaxPool", "AveragePool",
		"LeakyRelu", "GlobalAveragePool", "Flatten", "Dropout", "Gemm", "Gemm"}
	for i, n := range g.Node {
		if n.OpType != ops[i] {
			t.Errorf("node %d op %s, want %s", i, n.OpType, ops[i])
		}
	}
	if len(g.Node[3].Input) != 2 {
		t.Errorf("bias-less conv has inputs %q", g.Node[3].Input)
	}
	for _, tn := range g.Initializer {
		n, err := tn.NumElements()
		if err != nil || tn.DataType != Float || len(tn.RawData) != 4*n || len(tn.FloatData) != 0 {
			t.Errorf("initializer %q: dtype %v dims %v raw %d (%v)", tn.Name, tn.DataType, tn.Dims, len(tn.RawData), err)
		}
	}
	in0, out0 := g.Input[0].Type, g.Output[0].Type
	if len(in0.Shape) != 4 || in0.Shape[0].Param != "N" || in0.Shape[1].Value != 3 || in0.ElemType != Float {
		t.Errorf("input type %+v", in0)
	}
	if len(out0.Shape) != 2 || out0.Shape[0].Param != "N" || out0.Shape[1].Value != 2 {
		t.Errorf("output type %+v", out0)
	}
	if g.Output[0].Name != "logits" || g.Node[len(g.Node)-1].Output[0] != "logits" {
		t.Errorf("output name %q", g.Output[0].Name)
	}
	// Clip bounds are scalar initializers.
	for _, tn := range g.Initializer {
		if tn.Name == "relu6.max" {
			v, _ := tn.Float32s()
			if len(tn.Dims) != 0 || len(v) != 1 || v[0] != 6 {
				t.Errorf("relu6.max = %v %v", tn.Dims, v)
			}
		}
	}
}

func TestFromGraphFlattensLinearInput(t *testing.T) {
	m := &graph.Model{InputShape: []int{2, 2, 2}, Nodes: []*graph.Node{
		{Op: graph.Linear, W: seq(3*8, 1), WShape: []int{3, 8}},
	}}
	om, err := FromGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	if n := om.Graph.Node; len(n) != 2 || n[0].OpType != "Flatten" || n[1].OpType != "Gemm" || n[1].Input[0] != n[0].Output[0] {
		t.Fatalf("nodes %+v", n)
	}
	g, err := ToGraph(om)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 2 || g.Nodes[0].Op != graph.Flatten || g.Nodes[1].Name != "linear1" {
		t.Errorf("layers %v", g.Nodes)
	}
}

// TestFromGraphEmpty: a graph has at least one node; FromGraph says so.
func TestFromGraphEmpty(t *testing.T) {
	_, err := FromGraph(&graph.Model{InputShape: []int{1, 2, 2}})
	if err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Errorf("empty model: %v", err)
	}
}

func TestFromGraphErrors(t *testing.T) {
	for name, m := range map[string]*graph.Model{
		"nil layer": {InputShape: []int{1, 2, 2}, Nodes: []*graph.Node{nil}},
		"bad shape": {InputShape: []int{1, 2}},
		"bad op":    {InputShape: []int{1, 2, 2}, Nodes: []*graph.Node{{Op: graph.Op(99)}}},
		"bad conv":  {InputShape: []int{1, 2, 2}, Nodes: []*graph.Node{{Op: graph.Conv, WShape: []int{1, 1, 3, 3}}}},
	} {
		if _, err := FromGraph(m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := FromGraph(nil); err == nil {
		t.Error("nil: no error")
	}
}

// TestFromGraphAffine: an input transform kept as a node
// (graph.PrependPreprocess) is written as a Mul and an Add of per-channel
// [C,1,1] constants, which the reader takes back as an Affine node
// (dag_roundtrip_test.go compares the outputs).
func TestFromGraphAffine(t *testing.T) {
	m, err := graph.PrependPreprocess(testNet(), graph.Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}})
	if err != nil {
		t.Fatal(err)
	}
	om, err := FromGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	n := om.Graph.Node
	if n[0].OpType != "Mul" || n[1].OpType != "Add" || n[0].Input[0] != "image" || n[1].Input[0] != n[0].Output[0] || n[2].Input[0] != n[1].Output[0] {
		t.Fatalf("nodes %v %v %v", n[0], n[1], n[2])
	}
	for _, in := range om.Graph.Initializer {
		if in.Name == n[0].Input[1] && !reflect.DeepEqual(in.Dims, []int64{3, 1, 1}) {
			t.Errorf("scale dims %v, want [3 1 1]", in.Dims)
		}
	}
	g, err := ToGraph(om)
	if err != nil {
		t.Fatal(err)
	}
	// conv1 pads with zeros: a shift cannot fold into it, so the Mul and
	// the Add stay, as two Affine nodes.
	a, b := g.Nodes[0], g.Nodes[1]
	if a.Op != graph.Affine || b.Op != graph.Affine || !reflect.DeepEqual(a.Scale, m.Nodes[0].Scale) ||
		!reflect.DeepEqual(b.Shift, m.Nodes[0].Shift) || !reflect.DeepEqual(b.Scale, []float32{1, 1, 1}) {
		t.Errorf("first nodes %+v %+v, want %+v", a, b, m.Nodes[0])
	}
}

func TestEncodeDecodeWire(t *testing.T) {
	m := &Model{
		IRVersion: 8, ProducerName: "p", ProducerVersion: "1", Domain: "d", ModelVersion: 3, DocString: "doc",
		OpsetImport: []OpsetID{{"", 17}, {"com.microsoft", 1}},
		Graph: &Graph{
			Name: "g", DocString: "gd",
			Node: []*Node{{Input: []string{"x", ""}, Output: []string{"y"}, Name: "n", OpType: "Foo", Domain: "dom", DocString: "nd",
				Attribute: []*Attribute{
					{Name: "f", Type: AttrFloat, F: -2.5},
					{Name: "i", Type: AttrInt, I: -7},
					{Name: "s", Type: AttrString, S: []byte("abc")},
					{Name: "t", Type: AttrTensor, T: &Tensor{Name: "tt", DataType: Int64, Dims: []int64{2}, Int64Data: []int64{-1, 5}}},
					{Name: "fs", Type: AttrFloats, Floats: []float32{1, 2}},
					{Name: "is", Type: AttrInts, Ints: []int64{-3, 4}},
					{Name: "ss", Type: AttrStrings, Strings: [][]byte{[]byte("a"), []byte("b")}},
				}}},
			Initializer: []*Tensor{
				{Name: "a", DataType: Float, Dims: []int64{2}, FloatData: []float32{1, -1}},
				{Name: "b", DataType: Double, Dims: []int64{1}, DoubleData: []float64{0.5}},
				{Name: "c", DataType: Int32, Dims: []int64{2}, Int32Data: []int32{-9, 9}},
				{Name: "e", DataType: Float, Dims: []int64{1}, DataLocation: 1, ExternalData: []KeyValue{{"location", "w.bin"}}},
			},
			Input:     []*ValueInfo{{Name: "x", Type: &TensorType{ElemType: Float, HasShape: true, Shape: []Dim{{Param: "N"}, {Value: 3, HasValue: true}}}}},
			Output:    []*ValueInfo{{Name: "y", DocString: "out"}},
			ValueInfo: []*ValueInfo{{Name: "z", Type: &TensorType{ElemType: Float}}},
		},
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("wire round trip:\n got %+v\nwant %+v", got.Graph, m.Graph)
	}
}

func TestTensorValues(t *testing.T) {
	raw := func(size int, put func([]byte, int)) []byte {
		b := make([]byte, 3*size)
		for i := 0; i < 3; i++ {
			put(b[i*size:], i)
		}
		return b
	}
	want := []float32{0, 1, 2}
	half := []uint16{0x0000, 0x3c00, 0x4000} // 0, 1, 2
	tests := []struct {
		name string
		t    Tensor
		want []float32
		err  bool
	}{
		{"float raw", Tensor{DataType: Float, Dims: []int64{3}, RawData: raw(4, func(b []byte, i int) {
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(i)))
		})}, want, false},
		{"float data", Tensor{DataType: Float, Dims: []int64{3}, FloatData: want}, want, false},
		{"double raw", Tensor{DataType: Double, Dims: []int64{3}, RawData: raw(8, func(b []byte, i int) {
			binary.LittleEndian.PutUint64(b, math.Float64bits(float64(i)))
		})}, want, false},
		{"double data", Tensor{DataType: Double, Dims: []int64{1, 3}, DoubleData: []float64{0, 1, 2}}, want, false},
		{"half raw", Tensor{DataType: Float16, Dims: []int64{3}, RawData: raw(2, func(b []byte, i int) {
			binary.LittleEndian.PutUint16(b, half[i])
		})}, want, false},
		{"half int32_data", Tensor{DataType: Float16, Dims: []int64{3}, Int32Data: []int32{0, 0x3c00, 0x4000}}, want, false},
		{"bfloat16", Tensor{DataType: BFloat16, Dims: []int64{3}, Int32Data: []int32{0, 0x3f80, 0x4000}}, want, false},
		{"scalar", Tensor{DataType: Float, FloatData: []float32{7}}, []float32{7}, false},
		{"empty", Tensor{DataType: Float, Dims: []int64{0, 5}}, []float32{}, false},
		{"int64 is not float", Tensor{DataType: Int64, Dims: []int64{1}, Int64Data: []int64{1}}, nil, true},
		{"string", Tensor{DataType: String, Dims: []int64{1}}, nil, true},
		{"raw too short", Tensor{DataType: Float, Dims: []int64{3}, RawData: make([]byte, 11)}, nil, true},
		{"raw too long", Tensor{DataType: Float, Dims: []int64{3}, RawData: make([]byte, 16)}, nil, true},
		{"huge dims", Tensor{DataType: Float, Dims: []int64{1 << 40, 1 << 40}, RawData: make([]byte, 4)}, nil, true},
		{"huge dims fit int64", Tensor{DataType: Float, Dims: []int64{1 << 39}, RawData: make([]byte, 4)}, nil, true},
		{"negative dim", Tensor{DataType: Float, Dims: []int64{-1}, FloatData: want}, nil, true},
		{"typed too short", Tensor{DataType: Float, Dims: []int64{4}, FloatData: want}, nil, true},
		{"wrong typed field", Tensor{DataType: Float, Dims: []int64{3}, DoubleData: []float64{0, 1, 2}}, nil, true},
		{"raw and typed", Tensor{DataType: Float, Dims: []int64{1}, FloatData: []float32{1}, RawData: make([]byte, 4)}, nil, true},
		{"external", Tensor{DataType: Float, Dims: []int64{1}, DataLocation: 1}, nil, true},
	}
	for _, tt := range tests {
		got, err := tt.t.Float32s()
		if (err != nil) != tt.err || (!tt.err && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s: got %v, %v", tt.name, got, err)
		}
	}
	x := Tensor{Name: "w", DataType: Float, ExternalData: []KeyValue{{"location", "w.bin"}}}
	if _, err := x.Float32s(); err == nil || !strings.Contains(err.Error(), "external data not loaded") || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("external data error %v", err)
	}
}

func TestHalf(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.9604645e-08, 0x8000: float32(math.Copysign(0, -1)),
		0x7c00: float32(math.Inf(1)), 0x3555: 0.33325195,
	} {
		if got := halfToFloat32(h); got != want || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
			t.Errorf("half %#x = %v, want %v", h, got, want)
		}
	}
	if v := halfToFloat32(0x7e00); v == v {
		t.Error("half NaN is not NaN")
	}
}

func TestInt64s(t *testing.T) {
	for _, tt := range []struct {
		t    Tensor
		want []int64
	}{
		{Tensor{DataType: Int64, Dims: []int64{2}, Int64Data: []int64{0, -1}}, []int64{0, -1}},
		{Tensor{DataType: Int64, Dims: []int64{1}, RawData: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, []int64{-1}},
		{Tensor{DataType: Int32, Dims: []int64{1}, RawData: []byte{0xfe, 0xff, 0xff, 0xff}}, []int64{-2}},
		{Tensor{DataType: Int32, Dims: []int64{1}, Int32Data: []int32{5}}, []int64{5}},
		{Tensor{DataType: Bool, RawData: []byte{1}}, []int64{1}},
	} {
		got, err := tt.t.Int64s()
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: %v %v", tt.t, got, err)
		}
	}
	if _, err := (&Tensor{DataType: Float, FloatData: []float32{1}}).Int64s(); err == nil {
		t.Error("float tensor read as int64")
	}
}
