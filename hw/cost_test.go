package hw

import (
	"math"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
)

// TestEstimateByHand: a 2→1 linear output layer, w = (0.5, 0.25), b = 0.
// Single-sign weights: quantum 2^−8, Scale 2^8, W = 128, 64 state units,
// counterweight 256 − 192 = 64: one readout synapse. With a summary of 2
// input events, 3 active updates and 10 steps on one core:
// synops 3, idle updates 2 compartments·10 − 3 = 17.
func TestEstimateByHand(t *testing.T) {
	m := &graph.Model{Name: "tiny", InputShape: []int{1, 1, 2}, Nodes: []*graph.Node{
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{1, 2}, W: []float32{0.5, 0.25}, B: []float32{0}},
	}}
	n, err := snn.Convert(m, snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	p := Loihi1()
	q, err := Quantize(n, p)
	if err != nil {
		t.Fatal(err)
	}
	il := q.Layers[0]
	if il.ScaleExp != 8 || il.W[0] != 128 || il.W[1] != 64 || il.Counter[0] != 64 || len(il.CounterParts[0]) != 1 {
		t.Fatalf("quantized: scale 2^%d, W %v, counter %v %v", il.ScaleExp, il.W, il.Counter, il.CounterParts)
	}
	pl, err := MapNetwork(q)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Cores != 1 || pl.Compartments != 2 {
		t.Fatalf("%d cores, %d compartments; want 1, 2", pl.Cores, pl.Compartments)
	}
	s := &Summary{Samples: 1, Steps: 10, Layers: []snn.LayerStats{{SynEvents: 2, Spikes: 1}}, Sat: []SatStats{{Active: 3}}}
	c, err := Estimate(q, pl, s)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.12g, want %.12g", name, got, want)
		}
	}
	near("synops", c.SynOps, 3)
	near("idle", c.IdleUpdates, 17)
	dyn := (3*23.6 + 3*81 + 17*52) * 1e-6 // µJ
	near("dynamic µJ", c.DynamicUJ, dyn)
	lat := 10 * 4910.0 / 91 * 1e-3 // ms
	near("latency ms", c.LatencyMS, lat)
	near("static µJ", c.StaticUJ, 5.09/11*lat)
	near("host µJ", c.HostUJ, 22.79*lat)
	near("total µJ", c.TotalUJ, dyn+5.09/11*lat+22.79*lat)
	near("EDP µJs", c.EDPUJS, (dyn+5.09/11*lat+22.79*lat)*lat*1e-3)
}
