package snn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/graph"
)

// lenetModel returns a LeNet-5-shaped model on 28×28 (conv 1→6 k5, relu,
// maxpool 2, conv 6→12 k5, relu, maxpool 2, conv 12→120 k4, relu, flatten,
// linear 120→10) with random weights, normalized on random inputs so that
// the 99th percentile of every layer's activations is 1, as SPEC §4 would.
func lenetModel(seed uint64) *graph.Model {
	rng := rand.New(rand.NewPCG(seed, 99))
	conv := func(name string, cin, cout, k int) *graph.Node {
		l := &graph.Node{Name: name, Op: graph.Conv, Kernel: [2]int{k, k}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1,
			WShape: []int{cout, cin, k, k}, W: make([]float32, cout*cin*k*k), B: make([]float32, cout)}
		for i := range l.W {
			l.W[i] = float32(rng.NormFloat64() / math.Sqrt(float64(cin*k*k)))
		}
		for i := range l.B {
			l.B[i] = float32(rng.NormFloat64() * 0.05)
		}
		return l
	}
	pool := func(name string) *graph.Node {
		return &graph.Node{Name: name, Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}
	}
	fc := &graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{10, 120}, W: make([]float32, 1200), B: make([]float32, 10)}
	for i := range fc.W {
		fc.W[i] = float32(rng.NormFloat64() / math.Sqrt(120))
	}
	m := &graph.Model{Name: "lenet5", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
		conv("conv1", 1, 6, 5), {Name: "relu1", Op: graph.ReLU}, pool("pool1"),
		conv("conv2", 6, 12, 5), {Name: "relu2", Op: graph.ReLU}, pool("pool2"),
		conv("conv3", 12, 120, 4), {Name: "relu3", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten}, fc,
	}}
	if err := m.InferShapes(); err != nil {
		panic(err)
	}
	// Normalize: a'_l = a_l / P_l with P_l the 99th percentile over 32 inputs.
	xs := make([][]float64, 32)
	for i := range xs {
		xs[i] = make([]float64, 784)
		for j := range xs[i] {
			xs[i][j] = rng.Float64()
		}
	}
	prevP := 1.0
	for li, l := range m.Nodes {
		var acts []float64
		for i, x := range xs {
			switch l.Op {
			case graph.Conv, graph.Linear:
				x = refLinear(l, x, 1)
				if li+1 < len(m.Nodes) && m.Nodes[li+1].Op == graph.ReLU {
					for j := range x {
						x[j] = math.Max(x[j], 0)
					}
				}
			case graph.MaxPool:
				x = refMaxPool(l, x)
			}
			xs[i] = x
			if l.Op == graph.Conv || l.Op == graph.Linear {
				acts = append(acts, x...)
			}
		}
		if acts == nil {
			continue
		}
		slices.Sort(acts)
		p := acts[len(acts)*99/100]
		for i := range l.W {
			l.W[i] *= float32(prevP / p)
		}
		for i := range l.B {
			l.B[i] /= float32(p)
		}
		for _, x := range xs {
			for j := range x {
				x[j] /= p
			}
		}
		prevP = p
	}
	return m
}

// cpuTime returns the process's user+system CPU time in nanoseconds: the
// machine running the benchmarks may be shared, so wall time alone misleads.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func randomPixels(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n*784)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// BenchmarkLeNet measures samples per second of the fast simulator on the
// LeNet-5 shape, for T = 16 and 64, with 1 and 2 workers.
func BenchmarkLeNet(b *testing.B) {
	const samples = 1000
	x := randomPixels(samples, 1)
	for _, T := range []int{16, 64} {
		n, err := Convert(lenetModel(1), Config{Tmax: T})
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("T=%d/workers=%d", T, workers), func(b *testing.B) {
				s, _ := NewSim(n, workers)
				start, cpu0 := time.Now(), cpuTime()
				iters := 0
				for b.Loop() {
					if err := s.Run(x, samples, nil); err != nil {
						b.Fatal(err)
					}
					iters++
				}
				b.ReportMetric(float64(iters*samples)/time.Since(start).Seconds(), "samples/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(iters*samples), "cpu-µs/sample")
			})
		}
	}
}

// BenchmarkLeNetOracle is the reference simulator on the same network, for
// scale.
func BenchmarkLeNetOracle(b *testing.B) {
	n, _ := Convert(lenetModel(1), Config{Tmax: 16})
	o, _ := NewOracle(n)
	x := randomPixels(1, 1)
	var r SampleResult
	for b.Loop() {
		o.Simulate(x, &r)
	}
}

// TestLeNetStats reports the LeNet benchmark network's early-spike rate and
// counters.
func TestLeNetStats(t *testing.T) {
	x := randomPixels(200, 2)
	for _, T := range []int{16, 64} {
		n, err := Convert(lenetModel(1), Config{Tmax: T})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := NewSim(n, 1)
		w := s.NewWorker()
		var sum Summary
		var r SampleResult
		for i := 0; i < 200; i++ {
			if err := w.Simulate(x[i*784:(i+1)*784], &r); err != nil {
				t.Fatal(err)
			}
			sum.Add(&r, 0, false)
		}
		nu, relay := n.Neurons()
		tot := sum.Total()
		t.Logf("T=%d: ν=%d relay=%d early %.3f%% of ν, σ/sample %.0f, current updates/sample %.0f, ties %d/200, mean latency %.1f",
			T, nu, relay, 100*float64(tot.Early)/float64(200*nu), float64(tot.SynEvents)/200, float64(tot.CurrentUpdates)/200, sum.Ties, float64(sum.FirstSpike)/200)
	}
}

// BenchmarkLeNetSample is one worker's time per sample (ns/op = one sample).
func BenchmarkLeNetSample(b *testing.B) {
	x := randomPixels(256, 1)
	for _, T := range []int{16, 64} {
		n, _ := Convert(lenetModel(1), Config{Tmax: T})
		s, _ := NewSim(n, 1)
		w := s.NewWorker()
		var r SampleResult
		b.Run(fmt.Sprintf("T=%d", T), func(b *testing.B) {
			i := 0
			for b.Loop() {
				w.Simulate(x[i%256*784:(i%256+1)*784], &r)
				i++
			}
		})
	}
}
