package normalize_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/normalize"
)

// dagConv is a 3×3 convolution of cin to cout channels, padded to keep
// the size, with weights 0.1.
func dagConv(name string, cin, cout int) *graph.Node {
	w := make([]float32, cout*cin*9)
	for i := range w {
		w[i] = 0.1
	}
	return &graph.Node{Name: name, Op: graph.Conv, W: w, B: make([]float32, cout), WShape: []int{cout, cin, 3, 3},
		Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
}

// residualModel: input → conv1 → relu1 → conv2, add1 = relu1 + conv2 →
// relu2 → flatten → fc: a DAG whose node 3 (add1) branches.
func residualModel() *graph.Model {
	return &graph.Model{Name: "residual", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		dagConv("conv1", 1, 2),
		{Name: "relu1", Op: graph.ReLU},
		dagConv("conv2", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}},
		{Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 3*72), B: make([]float32, 3), WShape: []int{3, 72}},
	}}
}

// tanhModel: conv1 → tanh1 → flatten → fc, a chain with an ANN-only op.
func tanhModel() *graph.Model {
	return &graph.Model{Name: "tanh", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		dagConv("conv1", 1, 2),
		{Name: "tanh1", Op: graph.Tanh},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 3*72), B: make([]float32, 3), WShape: []int{3, 72}},
	}}
}

// TestRefusesDAG: a residual network, and an op that is not positively
// homogeneous (Tanh), are refused before the calibration pass runs,
// naming the node.
func TestRefusesDAG(t *testing.T) {
	src := func(fn func(int, []float32)) error {
		t.Error("the calibration pass ran")
		return nil
	}
	_, _, err := normalize.Normalize(residualModel(), src, normalize.Config{})
	if !errors.Is(err, graph.ErrBranching) || !strings.Contains(err.Error(), `node 3 "add1" (Add)`) || !strings.HasPrefix(err.Error(), "normalize: ") {
		t.Errorf("residual: %v, want graph.ErrBranching naming node 3 \"add1\"", err)
	}
	_, err = normalize.Calibrate(residualModel(), src, 0)
	if !errors.Is(err, graph.ErrBranching) {
		t.Errorf("residual, Calibrate: %v, want graph.ErrBranching", err)
	}
	_, _, err = normalize.NormalizeClassic(residualModel(), func(*graph.Model) normalize.Source { return src }, normalize.Config{})
	if !errors.Is(err, graph.ErrBranching) {
		t.Errorf("residual, NormalizeClassic: %v, want graph.ErrBranching", err)
	}
	_, _, err = normalize.Normalize(tanhModel(), src, normalize.Config{})
	if err == nil || !strings.Contains(err.Error(), `node 1 "tanh1" (Tanh)`) || !strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("tanh: %v, want an error naming node 1 \"tanh1\" with the ANN-only reason", err)
	}
}
