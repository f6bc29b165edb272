package graph_test

import (
	"fmt"
	"log"

	"github.com/quartz-snn/quartz/graph"
)

// Simplify folds BatchNorm into the convolution before it and drops
// Dropout, leaving the layers a Quartz conversion sees.
func ExampleSimplify() {
	m := &graph.Model{
		Name:       "small",
		InputShape: []int{1, 6, 6},
		Layers: []*graph.Layer{
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
		for _, l := range m.Layers {
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
	fmt.Println("folded conv:", s.Layers[0].W, s.Layers[0].B)
	// Output:
	// before: conv:Conv[1 5 5] bn:BatchNorm[1 5 5] relu:ReLU[1 5 5] drop:Dropout[1 5 5] flatten:Flatten[25] fc:Linear[2]
	//   61 params, 150 MACs
	// after:  conv:Conv[1 5 5] relu:ReLU[1 5 5] flatten:Flatten[25] fc:Linear[2]
	//   57 params, 150 MACs
	// folded conv: [1 0 0 1] [-0.5]
}
