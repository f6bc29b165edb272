package hw

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
)

// exactModel builds a random chain model whose weights the Loihi 1 profile
// represents exactly: per layer a random quantum 2^−f, mantissas within
// 7 bits + sign, the largest in [64, 127] so that the quantizer picks
// exactly 2^−f; biases on the same grid; average pools with power-of-two
// windows. On such a network integer and float arithmetic agree exactly.
func exactModel(rng *rand.Rand) (*graph.Model, snn.Config) {
	for {
		m := &graph.Model{Name: "exact", InputShape: []int{1 + rng.IntN(2), 4 + rng.IntN(6), 4 + rng.IntN(6)}}
		ok := true
		add := func(l *graph.Node) {
			l.Name = fmt.Sprintf("L%d", len(m.Nodes))
			m.Nodes = append(m.Nodes, l)
			if err := m.InferShapes(); err != nil {
				ok = false
			}
		}
		params := func(l *graph.Node) {
			f := 3 + rng.IntN(5)
			q := math.Ldexp(1, -f)
			l.W = make([]float32, graph.Size(l.WShape))
			fan := len(l.W) / l.WShape[0]
			for i := range l.W {
				l.W[i] = float32(float64(rng.IntN(255)-127) * q / math.Sqrt(float64(fan)))
				l.W[i] = float32(math.Round(float64(l.W[i])/q) * q)
			}
			top := 64 + rng.IntN(64)
			if rng.IntN(2) == 0 {
				top = -top
			}
			l.W[rng.IntN(len(l.W))] = float32(float64(top) * q)
			l.B = make([]float32, l.WShape[0])
			for i := range l.B {
				l.B[i] = float32(float64(rng.IntN(41)-20) * q)
			}
		}
		for b := rng.IntN(3); b > 0 && ok; b-- {
			cin := m.OutputShape()[0]
			l := &graph.Node{Op: graph.Conv, Group: 1, Kernel: [2]int{1 + rng.IntN(3), 1 + rng.IntN(3)},
				Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Pad: [4]int{rng.IntN(2), rng.IntN(2), 0, 0}}
			l.WShape = []int{1 + rng.IntN(4), cin, l.Kernel[0], l.Kernel[1]}
			params(l)
			add(l)
			add(&graph.Node{Op: graph.ReLU})
			switch rng.IntN(3) {
			case 0:
				add(&graph.Node{Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}})
			case 1:
				add(&graph.Node{Op: graph.AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}})
			}
		}
		if !ok {
			continue
		}
		add(&graph.Node{Op: graph.Flatten})
		if rng.IntN(2) == 0 {
			l := &graph.Node{Op: graph.Linear, WShape: []int{2 + rng.IntN(6), m.OutputShape()[0]}}
			params(l)
			add(l)
			add(&graph.Node{Op: graph.ReLU})
		}
		l := &graph.Node{Op: graph.Linear, WShape: []int{2 + rng.IntN(4), m.OutputShape()[0]}}
		params(l)
		add(l)
		if !ok {
			continue
		}
		cfg := snn.Config{Tmax: 1 << rng.IntN(5)}
		if rng.IntN(4) == 0 {
			cfg.Threshold = snn.Truncate
		}
		return m, cfg
	}
}

// TestEmulatorMatchesOracle: on networks the profile represents exactly,
// the integer emulator gives the oracle's spike times, classes and
// counters, with no saturation.
func TestEmulatorMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	nets := 300
	if testing.Short() {
		nets = 60
	}
	for it := range nets {
		m, cfg := exactModel(rng)
		n, err := snn.Convert(m, cfg)
		if err != nil {
			t.Fatalf("net %d: %v", it, err)
		}
		q, err := Quantize(n, Loihi1())
		if err != nil {
			t.Fatalf("net %d: %v", it, err)
		}
		for li, il := range q.Layers {
			if il != nil && il.Report.MaxAbsErr != 0 {
				t.Fatalf("net %d layer %d: weights not exact (max err %g): the test grid is wrong", it, li, il.Report.MaxAbsErr)
			}
		}
		emu, err := NewEmulator(q)
		if err != nil {
			t.Fatal(err)
		}
		o, err := snn.NewOracle(n)
		if err != nil {
			t.Fatal(err)
		}
		w := emu.NewWorker()
		var got, want snn.SampleResult
		for s := 0; s < 4; s++ {
			x := make([]float32, size(n.InShape))
			for i := range x {
				x[i] = rng.Float32()
			}
			if err := o.Simulate(x, &want); err != nil {
				t.Fatal(err)
			}
			if err := w.Simulate(x, &got); err != nil {
				t.Fatal(err)
			}
			for li := range want.Times {
				if !slices.Equal(got.Times[li], want.Times[li]) {
					t.Fatalf("net %d sample %d layer %d (%v): spike times\n got %v\nwant %v", it, s, li, n.Layers[li].Kind, got.Times[li], want.Times[li])
				}
				if got.Stats[li] != want.Stats[li] {
					t.Fatalf("net %d sample %d layer %d: stats\n got %+v\nwant %+v", it, s, li, got.Stats[li], want.Stats[li])
				}
				if s := w.Sat[li]; s.CurrentSat+s.VoltageSat+s.RectifierFail != 0 {
					t.Fatalf("net %d layer %d: saturation %+v", it, li, w.Sat[li])
				}
			}
			if got.Class != want.Class || got.Tie != want.Tie || got.FirstSpike != want.FirstSpike || got.Steps != want.Steps {
				t.Fatalf("net %d sample %d: class %d tie %v first %d steps %d, want %d %v %d %d", it, s,
					got.Class, got.Tie, got.FirstSpike, got.Steps, want.Class, want.Tie, want.FirstSpike, want.Steps)
			}
		}
	}
}
