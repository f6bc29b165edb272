package graph_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/quartz-snn/quartz/graph"
)

// Simplify folds BatchNorm into the convolution before it and drops
// Dropout, leaving the nodes a Quartz conversion sees.
func ExampleSimplify() {
	m := &graph.Model{
		Name:       "small",
		InputShape: []int{1, 6, 6},
		Nodes: []*graph.Node{
			{Name: "conv", Op: graph.Conv, W: []float32{1, 0, 0, 1}, B: []float32{0}, WShape: []int{1, 1, 2, 2},
				Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
			{Name: "bn", Op: graph.BatchNorm, Gamma: []float32{2}, Beta: []float32{0.5}, Mean: []float32{1}, Var: []float32{3},
				Eps: 1},
			{Name: "relu", Op: graph.ReLU},
			{Name: "drop", Op: graph.Dropout, Ratio: 0.5},
			{Name: "flatten", Op: graph.Flatten},
			{Name: "fc", Op: graph.Linear, W: make([]float32, 2*25), B: []float32{0, 0}, WShape: []int{2, 25}},
		},
	}
	if err := m.InferShapes(); err != nil {
		log.Fatal(err)
	}
	show := func(m *graph.Model) {
		for _, l := range m.Nodes {
			fmt.Printf(" %s:%v%v", l.Name, l.Op, l.OutShape)
		}
		fmt.Printf("\n  %d params, %d MACs\n", m.Params(), m.MACs())
	}
	fmt.Print("before:")
	show(m)
	s, err := graph.Simplify(m)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print("after: ")
	show(s)
	// γ/√(var+ε) = 2/√4 = 1: weights unchanged, bias (0−1)·1 + 0.5.
	fmt.Println("folded conv:", s.Nodes[0].W, s.Nodes[0].B)
	// Output:
	// before: conv:Conv[1 5 5] bn:BatchNorm[1 5 5] relu:ReLU[1 5 5] drop:Dropout[1 5 5] flatten:Flatten[25] fc:Linear[2]
	//   61 params, 150 MACs
	// after:  conv:Conv[1 5 5] relu:ReLU[1 5 5] flatten:Flatten[25] fc:Linear[2]
	//   57 params, 150 MACs
	// folded conv: [1 0 0 1] [-0.5]
}

// A model trained on standardized inputs whose first conv zero-pads cannot
// take the mean in its bias (FoldPreprocess refuses); PrependPreprocess
// keeps the transform as an explicit first layer instead.
func ExamplePrependPreprocess() {
	m := &graph.Model{
		InputShape: []int{1, 3, 3},
		Nodes: []*graph.Node{
			{Name: "conv", Op: graph.Conv, W: make([]float32, 9), B: []float32{0}, WShape: []int{1, 1, 3, 3},
				Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		},
	}
	p := graph.Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}}
	if _, err := graph.FoldPreprocess(m, p); err != nil {
		fmt.Println("fold:", errors.Is(err, graph.ErrPreprocessPadding))
	}
	pm, err := graph.PrependPreprocess(m, p)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range pm.Nodes {
		fmt.Printf("%s:%v%v scale %v shift %v\n", l.Name, l.Op, l.OutShape, l.Scale, l.Shift)
	}
	// Output:
	// fold: true
	// preprocess:Affine[1 3 3] scale [4] shift [-2]
	// conv:Conv[1 3 3] scale [] shift []
}

// A residual block: the Add reads the second convolution (node 4) and the
// block's input (node 1). Inputs name earlier nodes by index; nil Inputs
// mean the node before, and InferShapes makes them explicit. Consumers
// gives the other direction.
func ExampleModel_Consumers() {
	conv := func(name string) *graph.Node {
		return &graph.Node{Name: name, Op: graph.Conv, W: make([]float32, 4*4*3*3), WShape: []int{4, 4, 3, 3},
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	}
	m := &graph.Model{
		InputShape: []int{4, 8, 8},
		Nodes: []*graph.Node{
			conv("stem"), {Name: "relu0", Op: graph.ReLU},
			conv("conv1"), {Name: "relu1", Op: graph.ReLU}, conv("conv2"),
			{Name: "add", Op: graph.Add, Inputs: []int{4, 1}},
			{Name: "relu2", Op: graph.ReLU},
			{Name: "pool", Op: graph.GlobalAvgPool},
		},
	}
	if err := m.InferShapes(); err != nil {
		log.Fatal(err)
	}
	cons := m.Consumers()
	for i, l := range m.Nodes {
		fmt.Printf("%d %-5s %-13v reads %-6s read by %-5s out %v\n", i, l.Name, l.Op, fmt.Sprint(l.Inputs), fmt.Sprint(cons[i]), l.OutShape)
	}
	fmt.Println("output:", m.OutputShape())
	err := m.CheckChain()
	fmt.Println(errors.Is(err, graph.ErrBranching), err)
	// Output:
	// 0 stem  Conv          reads [-1]   read by [1]   out [4 8 8]
	// 1 relu0 ReLU          reads [0]    read by [2 5] out [4 8 8]
	// 2 conv1 Conv          reads [1]    read by [3]   out [4 8 8]
	// 3 relu1 ReLU          reads [2]    read by [4]   out [4 8 8]
	// 4 conv2 Conv          reads [3]    read by [5]   out [4 8 8]
	// 5 add   Add           reads [4 1]  read by [6]   out [4 8 8]
	// 6 relu2 ReLU          reads [5]    read by [7]   out [4 8 8]
	// 7 pool  GlobalAvgPool reads [6]    read by []    out [4 1 1]
	// output: [4 1 1]
	// true node 5 "add" (Add) reads "conv2" and "relu0": branching networks are not supported yet
}
