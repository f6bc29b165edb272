package train_test

import (
	"context"
	"fmt"
	"log"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/train"
)

// stripes is a synthetic data set of 4×4 images: class 0 lights the left
// half, class 1 the right half.
func stripes(n int) *dataset.Set {
	s := &dataset.Set{Name: "stripes", C: 1, H: 4, W: 4, Classes: []string{"left", "right"}}
	for i := range n {
		class := i % 2
		for range 4 {
			for x := range 4 {
				v := uint8(20 + 3*(i%5))
				if (x < 2) == (class == 0) {
					v = uint8(150 + 10*(i%9))
				}
				s.Pix = append(s.Pix, v)
			}
		}
		s.Labels = append(s.Labels, uint8(class))
	}
	return s
}

// Run trains a network in place; the model it was built on then holds the
// trained weights, ready for onnx.WriteFile or a conversion.
func ExampleRun() {
	m := &graph.Model{
		Name:       "tiny",
		InputShape: []int{1, 4, 4},
		Nodes: []*graph.Node{
			{Name: "flatten", Op: graph.Flatten},
			{Name: "fc1", Op: graph.Linear, WShape: []int{8, 16}},
			{Name: "relu1", Op: graph.ReLU},
			{Name: "fc2", Op: graph.Linear, WShape: []int{2, 8}},
		},
	}
	nn.Init(m, 1) // PyTorch-like initialization from seed 1
	net, err := nn.New(m, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer net.Close()
	cfg := train.Config{Epochs: 5, Batch: 8, LR: 0.01, Seed: 1}
	hist, err := train.Run(context.Background(), net, stripes(64), stripes(16), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	last := hist[len(hist)-1]
	fmt.Printf("%d epochs, test accuracy %.0f %%, loss below 0.5: %v\n", len(hist), last.TestAcc, last.Loss < 0.5)
	// Output:
	// 5 epochs, test accuracy 100 %, loss below 0.5: true
}
