package snn

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// TestCheckOracleDyadic: on dyadic networks the two simulators agree
// exactly (SPEC §6), and every neuron of every sample is compared.
func TestCheckOracleDyadic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for it := range 40 {
		rn := randomModel(rng)
		n, err := Convert(rn.m, rn.cfg)
		if err != nil {
			t.Fatal(err)
		}
		const k = 3
		var x []float32
		for range k {
			x = append(x, randomInput(rng, n)...)
		}
		c, err := CheckOracle(context.Background(), n, x, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, l := range n.Layers {
			want += int64(l.Size())
		}
		if c.Samples != k || c.SpikeTimes != k*want || c.Differ != 0 || c.Classes != 0 || c.SamplesDiffer != 0 {
			t.Fatalf("net %d (%s): %+v, want %d spike times, none differing", it, describe(n), c, k*want)
		}
	}
}

// TestCheckOracleFinds: with non-dyadic weights the simulators integrate
// u ← u + Δ·i in one multiplication (Sim) or Δ additions (Oracle), which
// can round differently at the threshold. Among random one-layer networks
// with weights of the form k/10 some must disagree, and CheckOracle must
// count exactly the differing spike times.
func TestCheckOracleFinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	found := 0
	for it := 0; it < 3000 && found < 3; it++ {
		const in, out, T = 6, 4, 16
		l := &graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{out, in}, W: make([]float32, in*out), B: make([]float32, out)}
		for i := range l.W {
			l.W[i] = float32(rng.IntN(21)-10) / 30
		}
		m := &graph.Model{Name: "fc", InputShape: []int{in, 1, 1}, Nodes: []*graph.Node{{Name: "flatten", Op: graph.Flatten}, l}}
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		n, err := Convert(m, Config{Tmax: T})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, in)
		for i := range x {
			x[i] = float32(rng.IntN(T+1)) / T
		}
		c, err := CheckOracle(context.Background(), n, x, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Count by hand.
		o, _ := NewOracle(n)
		s, _ := NewSim(n, 1)
		var ro, rs SampleResult
		o.Simulate(x, &ro)
		s.NewWorker().Simulate(x, &rs)
		var differ int64
		for j := range ro.Times[0] {
			if ro.Times[0][j] != rs.Times[0][j] {
				differ++
			}
		}
		if c.Differ != differ || c.LayerDiff[0] != differ || c.SpikeTimes != out {
			t.Fatalf("net %d: CheckOracle %+v, by hand %d of %d differ", it, c, differ, out)
		}
		if differ > 0 {
			found++
			if c.SamplesDiffer != 1 {
				t.Errorf("net %d: SamplesDiffer %d, want 1", it, c.SamplesDiffer)
			}
		}
	}
	if found == 0 {
		t.Fatal("no random non-dyadic network made the simulators disagree: the test no longer exercises the count")
	}
}

func TestCheckOracleBadInput(t *testing.T) {
	n, _ := Convert(lenetModel(1), Config{Tmax: 4})
	if _, err := CheckOracle(context.Background(), n, make([]float32, 100), 1, nil); err == nil {
		t.Error("want an error for a short input")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CheckOracle(ctx, n, make([]float32, 784), 1, nil); err == nil {
		t.Error("want the context's error")
	}
}
