package hw

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
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

// TestRefusesDAG: hw (Quantize, MapNetwork, Emulate) takes only a converted snn.Network, a chain of
// spiking layers; a converted residual network (a Sum layer) is refused
// naming the layer (graph.ErrBranching), and snn.Convert refuses an ANN-only op naming the
// node, so that no DAG reaches the emulator or the mapper.
func TestRefusesDAG(t *testing.T) {
	dag, err := snn.Convert(residualModel(), snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	// A converted branching network is refused naming its Sum layer.
	if _, _, err := Emulate(dag, Loihi1(), make([]float32, 36), 1, []int32{0}, 1); !errors.Is(err, graph.ErrBranching) ||
		!strings.Contains(err.Error(), `layer 1 "add1" (Sum)`) || !strings.Contains(err.Error(), "not supported for branching networks yet") {
		t.Errorf("residual: %v, want graph.ErrBranching naming layer 1 \"add1\"", err)
	}
	if _, err := Quantize(dag, Loihi2()); !errors.Is(err, graph.ErrBranching) {
		t.Errorf("residual, Quantize: %v, want graph.ErrBranching", err)
	}
	_, err = snn.Convert(tanhModel(), snn.Config{Tmax: 4})
	var ce *snn.ConvertError
	if !errors.As(err, &ce) || ce.Name != "tanh1" || !strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("tanh: %v, want a *snn.ConvertError naming \"tanh1\"", err)
	}
	// The chain part of the residual network converts and goes through.
	m := residualModel()
	m.Nodes = []*graph.Node{m.Nodes[0], m.Nodes[1], {Name: "reshape", Op: graph.Reshape, Shape: []int{72}}, m.Nodes[6]}
	n, err := snn.Convert(m, snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Emulate(n, Loihi1(), make([]float32, 36), 1, []int32{0}, 1); err != nil {
		t.Error(err)
	}
}
