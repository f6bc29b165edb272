package onnx_test

import (
	"fmt"
	"log"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

func Example() {
	net := &graph.Model{
		Name:       "tiny",
		InputShape: []int{1, 4, 4},
		Nodes: []*graph.Node{
			{Name: "conv1", Op: graph.Conv, W: make([]float32, 2*1*3*3), B: []float32{0, 0}, WShape: []int{2, 1, 3, 3},
				Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
			{Name: "relu1", Op: graph.ReLU},
			{Name: "flatten", Op: graph.Flatten},
			{Name: "fc", Op: graph.Linear, W: make([]float32, 3*8), WShape: []int{3, 8}},
		},
	}
	m, err := onnx.FromGraph(net)
	if err != nil {
		log.Fatal(err)
	}
	b, err := onnx.Encode(m) // the bytes of a .onnx file
	if err != nil {
		log.Fatal(err)
	}
	decoded, err := onnx.Decode(b)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range decoded.Graph.Node {
		fmt.Println(n.Name, n.OpType, n.Input)
	}
	back, notes, err := onnx.Convert(decoded)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.InputShape, back.OutputShape(), back.Params(), back.MACs(), len(notes))
	// Output:
	// conv1 Conv [input conv1.weight conv1.bias]
	// relu1 Relu [conv1]
	// flatten Flatten [relu1]
	// fc Gemm [flatten fc.weight]
	// [1 4 4] [3] 44 96 0
}
