package onnx_test

import (
	"reflect"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// fnNet: min-max scaling of the input (Reduce Min/Max, Binary Sub, Max
// and Div broadcast from [1,1,1]), Unary functions, then a Reduce Sum and
// a Reduce Mean without keepdims joined by a Binary Max. last is the
// function of the final Unary: Gelu and Mish raise the written opset
// (Reduce axes become inputs), Softsign keeps opset 13 (axes attributes,
// but ReduceSum's input).
func fnNet(last string) *graph.Model {
	return &graph.Model{Name: "fn", InputName: "x", OutputName: "y", InputShape: []int{3, 4, 4}, Nodes: []*graph.Node{
		{Name: "min", Op: graph.Reduce, Fn: "Min", Axes: []int{0, 1, 2}, Keep: true, Inputs: []int{graph.ModelInput}},
		{Name: "sub", Op: graph.Binary, Fn: "Sub", Inputs: []int{graph.ModelInput, 0}},
		{Name: "max", Op: graph.Reduce, Fn: "Max", Axes: []int{0, 1, 2}, Keep: true, Inputs: []int{graph.ModelInput}},
		{Name: "range", Op: graph.Binary, Fn: "Max", Inputs: []int{2, 0}},
		{Name: "div", Op: graph.Binary, Fn: "Div", Inputs: []int{1, 3}},
		{Name: "elu", Op: graph.Unary, Fn: "Elu", Alpha: 0.7},
		{Name: "selu", Op: graph.Unary, Fn: "Selu", Alpha: 1.5, Power: 1.1},
		{Name: "pow", Op: graph.Unary, Fn: "Pow", Power: 2},
		{Name: "prelu", Op: graph.Unary, Fn: "PRelu", Scale: []float32{0.1, 0.2, 0.3}},
		{Name: "prelu1", Op: graph.Unary, Fn: "PRelu", Scale: []float32{0.25}},
		{Name: "last", Op: graph.Unary, Fn: last},
		{Name: "sum", Op: graph.Reduce, Fn: "Sum", Axes: []int{1}},
		{Name: "mean", Op: graph.Reduce, Fn: "Mean", Axes: []int{1}, Inputs: []int{10}},
		{Name: "l2", Op: graph.Reduce, Fn: "L2", Axes: []int{0}, Keep: true, Inputs: []int{11}},
		{Name: "join", Op: graph.Binary, Fn: "Max", Inputs: []int{11, 12}},
		{Name: "join2", Op: graph.Binary, Fn: "Pow", Inputs: []int{14, 13}},
	}}
}

// TestRoundTripFns: Unary, Reduce and Binary nodes read back as the same
// graph and give bit-identical nn outputs.
func TestRoundTripFns(t *testing.T) {
	for _, last := range []string{"Gelu", "GeluTanh", "Mish", "Softsign"} {
		t.Run(last, func(t *testing.T) {
			want := fnNet(last)
			if err := want.InferShapes(); err != nil {
				t.Fatal(err)
			}
			om, got := roundTrip(t, want)
			ops := map[string]bool{}
			for _, n := range om.Graph.Node {
				ops[n.OpType] = true
			}
			for _, op := range []string{"ReduceMin", "ReduceMax", "ReduceSum", "ReduceMean", "ReduceL2", "Sub", "Div", "Max", "Pow", "PRelu", "Elu", "Selu"} {
				if !ops[op] {
					t.Errorf("no %s node written", op)
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
