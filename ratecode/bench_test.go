package ratecode_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/ratecode"
)

// lenet returns a LeNet-5-shaped network (the shipped model's layers: conv
// 6@5×5, pool, conv 12@5×5, pool, conv 120@4×4, fc 10) with random weights
// scaled so that hidden rates are around 0.1, as on MNIST.
func lenet(r *rand.Rand, width int) *graph.Model {
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	c1, c2, c3 := 6*width, 12*width, 120*width
	conv := func(name string, cout, cin, k int, s float32) *graph.Node {
		return &graph.Node{Name: name, Op: graph.Conv, WShape: []int{cout, cin, k, k}, W: vec(cout*cin*k*k, s), B: vec(cout, 0.05),
			Kernel: [2]int{k, k}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	}
	pool := func(name string) *graph.Node {
		return &graph.Node{Name: name, Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}
	}
	return &graph.Model{Name: "lenet", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
		conv("conv1", c1, 1, 5, 0.3), {Name: "relu1", Op: graph.ReLU}, pool("pool1"),
		conv("conv2", c2, c1, 5, 0.12/float32(width)), {Name: "relu2", Op: graph.ReLU}, pool("pool2"),
		conv("conv3", c3, c2, 4, 0.08/float32(width)), {Name: "relu3", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{10, c3}, W: vec(10*c3, 0.2/float32(width)), B: vec(10, 0.05)},
	}}
}

// BenchmarkLeNet reports the time per sample at 100 steps, and the
// synaptic events per second, for LeNet widths 1 and 2, one worker.
func BenchmarkLeNet(b *testing.B) {
	for _, width := range []int{1, 2} {
		b.Run(fmt.Sprintf("width%d", width), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			s, err := ratecode.New(lenet(r, width), ratecode.Config{Steps: 100, Workers: 1})
			if err != nil {
				b.Fatal(err)
			}
			const n = 8
			x := make([]float32, n*28*28)
			for i := range x {
				if r.IntN(5) == 0 {
					x[i] = r.Float32()
				}
			}
			b.ResetTimer()
			var events int64
			for b.Loop() {
				sum, err := s.Evaluate(x, n, nil)
				if err != nil {
					b.Fatal(err)
				}
				events += sum.Checkpoints[len(sum.Checkpoints)-1].SynEvents
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
