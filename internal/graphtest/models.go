package graphtest

import "github.com/quartz-snn/quartz/graph"

// Conv is a 3×3 convolution of cin to cout channels, padded to keep the
// size, with weights 0.1 and zero bias.
func Conv(name string, cin, cout int) *graph.Node {
	w := make([]float32, cout*cin*9)
	for i := range w {
		w[i] = 0.1
	}
	return &graph.Node{Name: name, Op: graph.Conv, W: w, B: make([]float32, cout), WShape: []int{cout, cin, 3, 3},
		Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
}

// Residual is input (1×6×6) → conv1 → relu1 → conv2, add1 = relu1 + conv2
// → relu2 → flatten → fc (3 outputs, zero weights): a DAG whose node 3
// (add1) reads two nodes.
func Residual() *graph.Model {
	return &graph.Model{Name: "residual", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		Conv("conv1", 1, 2),
		{Name: "relu1", Op: graph.ReLU},
		Conv("conv2", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}},
		{Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 3*72), B: make([]float32, 3), WShape: []int{3, 72}},
	}}
}

// Tanh is conv1 → tanh1 → flatten → fc on a 1×6×6 input: a chain with an
// ANN-only op.
func Tanh() *graph.Model {
	return &graph.Model{Name: "tanh", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		Conv("conv1", 1, 2),
		{Name: "tanh1", Op: graph.Tanh},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 3*72), B: make([]float32, 3), WShape: []int{3, 72}},
	}}
}
