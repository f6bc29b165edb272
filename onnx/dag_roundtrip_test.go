package onnx_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

func rnd(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(r.NormFloat64())
	}
	return v
}

func conv(r *rand.Rand, name string, cin, cout, k, pad int) *graph.Node {
	return &graph.Node{Name: name, Op: graph.Conv, W: rnd(r, cout*cin*k*k, 0.3), B: rnd(r, cout, 0.1),
		WShape: []int{cout, cin, k, k}, Kernel: [2]int{k, k}, Stride: [2]int{1, 1},
		Pad: [4]int{pad, pad, pad, pad}, Dilation: [2]int{1, 1}, Group: 1}
}

// residualNet: conv → relu → conv → Add(·, relu) → relu → gap → flatten → fc.
func residualNet() *graph.Model {
	r := rand.New(rand.NewPCG(1, 2))
	return &graph.Model{Name: "res", InputName: "x", OutputName: "y", InputShape: []int{2, 6, 6}, Nodes: []*graph.Node{
		conv(r, "c1", 2, 4, 3, 1),
		{Name: "r1", Op: graph.ReLU},
		conv(r, "c2", 4, 4, 3, 1),
		{Name: "add", Op: graph.Add, Inputs: []int{2, 1}},
		{Name: "r2", Op: graph.ReLU},
		{Name: "gap", Op: graph.GlobalAvgPool},
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: rnd(r, 3*4, 0.5), B: rnd(r, 3, 0.1), WShape: []int{3, 4}},
	}}
}

// concatNet: two convs of the input, concatenated, relu, then a Linear on
// the flattened [5,4,4].
func concatNet() *graph.Model {
	r := rand.New(rand.NewPCG(3, 4))
	return &graph.Model{Name: "cat", InputName: "x", OutputName: "y", InputShape: []int{2, 4, 4}, Nodes: []*graph.Node{
		conv(r, "a", 2, 3, 3, 1),
		func() *graph.Node { l := conv(r, "b", 2, 2, 1, 0); l.Inputs = []int{graph.ModelInput}; return l }(),
		{Name: "cat", Op: graph.Concat, Inputs: []int{0, 1}},
		{Name: "r", Op: graph.ReLU},
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: rnd(r, 3*80, 0.1), WShape: []int{3, 80}},
	}}
}

// roundTrip writes m to ONNX bytes and reads it back.
func roundTrip(t *testing.T, m *graph.Model) (*onnx.Model, *graph.Model) {
	t.Helper()
	om, err := onnx.FromGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Encode(om)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := onnx.Convert(dm)
	if err != nil {
		t.Fatal(err)
	}
	return om, g
}

// predict runs m in nn on n random samples.
func predict(t *testing.T, m *graph.Model, n int) []float32 {
	t.Helper()
	net, err := nn.New(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	x := rnd(rand.New(rand.NewPCG(9, 9)), n*net.InSize(), 1)
	return append([]float32(nil), net.Predict(x, n)...)
}

// Round-trip tolerance for models that the reader rebuilds differently
// (Affine folded into a Conv, SiLU as Sigmoid·x, LayerNormalization's unit
// scale): float32 rounding of a few reordered operations on O(1) values.
const rtAbs, rtRel = 1e-5, 1e-4

func sameOutputs(t *testing.T, got, want []float32, abs, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= abs+rel*math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// TestRoundTripDAG: a residual and a Concat DAG read back as the same
// graph (every node, its inputs and parameters) and give bit-identical nn
// outputs.
func TestRoundTripDAG(t *testing.T) {
	for _, want := range []*graph.Model{residualNet(), concatNet()} {
		t.Run(want.Name, func(t *testing.T) {
			if err := want.InferShapes(); err != nil {
				t.Fatal(err)
			}
			om, got := roundTrip(t, want)
			// Inputs by name: the DAG's joins read two different values.
			for _, n := range om.Graph.Node {
				if (n.OpType == "Add" || n.OpType == "Concat") && (len(n.Input) != 2 || n.Input[0] == n.Input[1]) {
					t.Errorf("%s node %q inputs %v", n.OpType, n.Name, n.Input)
				}
			}
			got.Producer, got.Opset = "", 0
			for i := range want.Nodes {
				if !reflect.DeepEqual(got.Nodes[i], want.Nodes[i]) {
					t.Errorf("node %d:\n got %+v\nwant %+v", i, got.Nodes[i], want.Nodes[i])
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("model differs")
			}
			sameOutputs(t, predict(t, got, 3), predict(t, want, 3), 0, 0)
		})
	}
}

// TestRoundTripNewOps writes every op the DAG IR added and compares nn
// outputs of the model read back with the original's.
func TestRoundTripNewOps(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	base := func(nodes ...*graph.Node) *graph.Model {
		return &graph.Model{InputName: "x", OutputName: "y", InputShape: []int{3, 4, 4},
			Nodes: append([]*graph.Node{conv(r, "c", 3, 4, 3, 1)}, nodes...)}
	}
	for name, m := range map[string]*graph.Model{
		"affine per channel": base(&graph.Node{Name: "af", Op: graph.Affine, Scale: []float32{1, 2, -1, 0.5}, Shift: []float32{0, 1, 2, 3}},
			&graph.Node{Op: graph.ReLU}),
		"affine per element": base(&graph.Node{Name: "af", Op: graph.Affine, Scale: rnd(r, 64, 1), Shift: rnd(r, 64, 1)},
			&graph.Node{Op: graph.Tanh}),
		"input transform": func() *graph.Model {
			m, err := graph.PrependPreprocess(base(&graph.Node{Op: graph.ReLU}), graph.Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}(),
		"mul sigmoid hardswish": base(&graph.Node{Op: graph.Sigmoid}, &graph.Node{Op: graph.HardSwish, Inputs: []int{0}},
			&graph.Node{Op: graph.Mul, Inputs: []int{1, 2}}),
		"hardsigmoid silu": base(&graph.Node{Op: graph.HardSigmoid, Alpha: 0.3, Bias: 0.4}, &graph.Node{Op: graph.SiLU}),
		"reshape softmax": base(&graph.Node{Op: graph.Reshape, Shape: []int{4, 16}}, &graph.Node{Op: graph.Softmax, Axis: 1},
			&graph.Node{Op: graph.Reshape, Shape: []int{64}}),
		"layernorm mvn":      base(&graph.Node{Op: graph.LayerNorm, Axes: []int{1, 2}, Eps: 1e-9}),
		"layernorm trailing": base(&graph.Node{Op: graph.LayerNorm, Axes: []int{0, 1, 2}, Eps: 1e-5}),
		"lrn":                base(&graph.Node{Op: graph.LRN, Alpha: 1e-2, Power: 0.75, Bias: 1, Size: 3}),
		"add of three":       base(&graph.Node{Op: graph.ReLU}, &graph.Node{Op: graph.Tanh, Inputs: []int{0}}, &graph.Node{Op: graph.Add, Inputs: []int{0, 1, 2}}),
		"final softmax": func() *graph.Model {
			m := base(&graph.Node{Op: graph.GlobalAvgPool}, &graph.Node{Op: graph.Flatten})
			m.OutputActivation = "Softmax"
			return m
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			om, got := roundTrip(t, m)
			if got.OutputActivation != m.OutputActivation {
				t.Errorf("output activation %q, want %q", got.OutputActivation, m.OutputActivation)
			}
			if name == "layernorm trailing" && om.OpsetImport[0].Version != 17 {
				t.Errorf("LayerNormalization written at opset %d", om.OpsetImport[0].Version)
			}
			sameOutputs(t, predict(t, got, 2), predict(t, m, 2), rtAbs, rtRel)
		})
	}
}

func TestFromGraphLayerNormRefused(t *testing.T) {
	m := &graph.Model{InputShape: []int{2, 3, 3}, Nodes: []*graph.Node{{Op: graph.LayerNorm, Axes: []int{0, 2}, Eps: 1e-5}}}
	if _, err := onnx.FromGraph(m); err == nil || !strings.Contains(err.Error(), "trailing axes only") {
		t.Errorf("LayerNorm over axes 0 and 2 with eps 1e-5: %v", err)
	}
}
