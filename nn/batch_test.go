package nn_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
)

// TestBatchFor: a CIFAR-size network runs at PredictBatch; one with
// 64×256×256 activations (16.8 MB a slot) runs fewer samples at a time,
// within InferBudget; and Predict's outputs do not depend on how the
// samples are batched (every sample alone gives the same bits).
func TestBatchFor(t *testing.T) {
	small, err := nn.Zoo("vgg11", []int{3, 32, 32}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := small.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if b := nn.BatchFor(small); b != nn.PredictBatch {
		t.Errorf("VGG-11 on 32×32: batch %d, want %d", b, nn.PredictBatch)
	}
	big := &graph.Model{Name: "big", InputShape: []int{3, 256, 256}, Nodes: []*graph.Node{
		{Name: "conv", Op: graph.Conv, WShape: []int{64, 3, 3, 3}, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1},
			Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu", Op: graph.ReLU},
		{Name: "gap", Op: graph.GlobalAvgPool},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{10, 64}},
	}}
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range big.Nodes {
		if l.WShape != nil {
			l.W = make([]float32, graph.Size(l.WShape))
			l.B = make([]float32, l.WShape[0])
			for i := range l.W {
				l.W[i] = float32(r.NormFloat64() * 0.1)
			}
		}
	}
	if err := big.InferShapes(); err != nil {
		t.Fatal(err)
	}
	b := nn.BatchFor(big)
	if b < 1 || b >= nn.PredictBatch || int64(b)*nn.EstimateInference(big, 1, 1) > 2*nn.InferBudget {
		t.Fatalf("64×256×256 activations: batch %d", b)
	}
	net, err := nn.New(big, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if net.Batch() != b {
		t.Fatalf("Net.Batch() = %d, BatchFor = %d", net.Batch(), b)
	}
	n := b + 2 // two batches
	x := make([]float32, n*3*256*256)
	for i := range x {
		x[i] = r.Float32()
	}
	all := slices.Clone(net.Predict(x, n))
	for i := range n {
		one := net.Predict(x[i*3*256*256:(i+1)*3*256*256], 1)
		if !slices.Equal(one, all[i*10:(i+1)*10]) {
			t.Fatalf("sample %d: %v alone, %v in a batch", i, one, all[i*10:(i+1)*10])
		}
	}
}
