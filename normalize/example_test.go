package normalize_test

import (
	"fmt"
	"log"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/normalize"
)

// Normalize scales every layer so that its activations, at the chosen
// percentile, become 1: weights by P_{l−1}/P_l (P_0 = 1), biases by 1/P_l.
// The Source here replays recorded activations instead of running a network.
func ExampleNormalize() {
	m := &graph.Model{
		Name:       "two-layer",
		InputShape: []int{2, 1, 1},
		Nodes: []*graph.Node{
			{Name: "flatten", Op: graph.Flatten},
			{Name: "fc1", Op: graph.Linear, W: []float32{1, 2, 3, 4}, B: []float32{1, 0}, WShape: []int{2, 2}},
			{Name: "relu1", Op: graph.ReLU},
			{Name: "fc2", Op: graph.Linear, W: []float32{1, -1}, B: []float32{2}, WShape: []int{1, 2}},
		},
	}
	if err := m.InferShapes(); err != nil {
		log.Fatal(err)
	}
	// Activations of relu1 (layer 2) and fc2 (layer 3) on a calibration
	// sample of four inputs, handed over in two batches.
	src := func(fn func(layer int, out []float32)) error {
		fn(2, []float32{0, 1, 2, 3}) // two samples × two neurons
		fn(3, []float32{1, 2})
		fn(2, []float32{4, 0, 1, 2})
		fn(3, []float32{8, 0.5})
		return nil
	}
	nm, rep, err := normalize.Normalize(m, src, normalize.Config{Percentile: 100})
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range rep.Layers {
		fmt.Printf("%s: P_l = %g (p = %g, %d values)\n", st.Name, st.Scale, st.Percentile, st.Values)
	}
	fmt.Println("fc1:", nm.Nodes[1].W, nm.Nodes[1].B)
	fmt.Println("fc2:", nm.Nodes[3].W, nm.Nodes[3].B)
	// Output:
	// fc1: P_l = 4 (p = 100, 8 values)
	// fc2: P_l = 8 (p = 100, 4 values)
	// fc1: [0.25 0.5 0.75 1] [0.25 0]
	// fc2: [0.5 -0.5] [0.25]
}
