package hw

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/snn"
)

func checkPlan(t *testing.T, q *IntNet, pl *Plan) {
	t.Helper()
	p := q.Profile
	comp := 0
	for _, c := range pl.CoreList {
		if !c.Use.fits(p) {
			t.Fatalf("core %d over the limits: %+v", c.ID, c.Use)
		}
		comp += c.Use.Compartments
	}
	sp, relay := q.Net.Neurons()
	if comp != sp+relay+pl.AuxNeurons+pl.DelayRelayNeurons {
		t.Fatalf("placed %d compartments, want %d + %d + %d + %d", comp, sp, relay, pl.AuxNeurons, pl.DelayRelayNeurons)
	}
	for _, l := range pl.Layers {
		if l.Tile[0]*l.Tile[1]*l.Tile[2]*l.Tiles < l.Neurons {
			t.Fatalf("layer %s: %d tiles of %v do not cover %d neurons", l.Name, l.Tiles, l.Tile, l.Neurons)
		}
		if len(l.Cores) != l.Tiles {
			t.Fatalf("layer %s: %d tiles on %d cores", l.Name, l.Tiles, len(l.Cores))
		}
	}
	if pl.Chips != (pl.Cores+p.CoresPerChip-1)/p.CoresPerChip {
		t.Fatalf("%d cores on %d chips", pl.Cores, pl.Chips)
	}
}

// TestPlanRespectsLimits: random layer sizes and widths, both profiles.
func TestPlanRespectsLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := range 40 {
		var m *graph.Model
		var err error
		switch it % 3 {
		case 0:
			m, err = nn.Zoo("lenet5", []int{1, 16 + rng.IntN(24), 16 + rng.IntN(24)}, 2+rng.IntN(20), 0.25+3*rng.Float64())
		case 1:
			m, err = nn.Zoo("vgg11", []int{3, 32, 32}, 10, 0.05+0.2*rng.Float64())
		default:
			m, _ = exactModel(rng)
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := graph.Simplify(m)
		if err != nil {
			t.Fatal(err)
		}
		n, err := snn.Convert(s, snn.Config{Tmax: 1 << rng.IntN(8)})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*Profile{Loihi1(), Loihi2()} {
			q, err := Quantize(n, p)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := MapNetwork(q)
			if err != nil {
				t.Fatalf("net %d on %s: %v", it, p.Name, err)
			}
			checkPlan(t, q, pl)
		}
	}
}

// TestPlanLeNet: the shipped architecture fits the paper's 11 cores.
func TestPlanLeNet(t *testing.T) {
	m, err := nn.Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := graph.Simplify(m)
	n, err := snn.Convert(s, snn.Config{Tmax: 16})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(n, Loihi1())
	if err != nil {
		t.Fatal(err)
	}
	pl, err := MapNetwork(q)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, q, pl)
	if pl.Cores > 11 {
		t.Fatalf("LeNet-5 on %d cores, the paper used 11", pl.Cores)
	}
}

// TestPlanDoesNotFit: a neuron whose fan-in exceeds the input axons of a
// core cannot be placed with discrete axons.
func TestPlanDoesNotFit(t *testing.T) {
	m := &graph.Model{Name: "wide", InputShape: []int{1, 80, 80}, Nodes: []*graph.Node{
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 6400}, W: make([]float32, 12800), B: make([]float32, 2)},
	}}
	m.Nodes[1].W[0] = 0.5
	n, err := snn.Convert(m, snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(n, Loihi1())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MapNetwork(q); !errors.Is(err, ErrDoesNotFit) {
		t.Fatalf("got %v, want ErrDoesNotFit", err)
	}
}

// TestPlanSplitsAux: where the readout, bias and rectifier neurons need
// more output axons than one core has (every one sends an axon to each
// core of its layer), they go on several aux cores, replicated where a
// layer has more cores than a core has output axons; the plan stays within
// every limit and places every compartment.
func TestPlanSplitsAux(t *testing.T) {
	m, err := nn.Zoo("vgg11", []int{3, 32, 32}, 10, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := graph.Simplify(m)
	n, err := snn.Convert(s, snn.Config{Tmax: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ comps, outAxons int }{{1024, 4096}, {16, 4096}, {16, 1000}} {
		p := Loihi2()
		p.CompartmentsPerCore, p.OutAxonsPerCore = tc.comps, tc.outAxons
		outAxons := tc.outAxons
		q, err := Quantize(n, p)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := MapNetwork(q)
		if err != nil {
			t.Fatalf("out axons %d: %v", outAxons, err)
		}
		checkPlan(t, q, pl)
		auxes, tiles, k := 0, 0, 0
		for _, l := range pl.Layers {
			if l.Kind == "aux" {
				auxes++
			}
		}
		for li, il := range q.Layers {
			if il == nil {
				continue
			}
			per := il.Report.ReadoutSyn + il.Report.BiasSyn
			if il.L.Rectify {
				per++
			}
			k += per
			tiles += per * pl.Layers[li].Tiles
			// Replicas: one per OutAxonsPerCore destination cores.
			if r := (pl.Layers[li].Tiles + outAxons - 1) / outAxons; r > 1 {
				k += per * (r - 1)
			}
		}
		want := 1
		if tiles > outAxons {
			want = 2 // at least
		}
		if auxes < want || (tiles <= outAxons && auxes != 1) {
			t.Errorf("out axons %d: %d aux populations for %d aux axons", outAxons, auxes, tiles)
		}
		if pl.AuxNeurons != k+q.DelayRelays {
			t.Errorf("out axons %d: %d aux neurons, want %d (with replicas) + %d", outAxons, pl.AuxNeurons, k, q.DelayRelays)
		}
		t.Logf("out axons %d: %d aux neurons on %d cores, %d cores in all", outAxons, pl.AuxNeurons, auxes, pl.Cores)
	}
}

// TestSplit: values split into parts round-trip and each part fits.
func TestSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		k0 := rng.IntN(8)
		v := (rng.Int64N(1<<(22-k0)) - 1<<(21-k0)) << k0 // |v| < 2^21
		parts, err := split(v, k0, 14, 127)
		if err != nil {
			t.Fatal(err)
		}
		var s int64
		for _, p := range parts {
			if abs64(p.Mant) > 127 || p.Exp > 14 || p.Exp < k0 {
				t.Fatalf("split(%d): part %+v out of range", v, p)
			}
			s += p.Mant << p.Exp
		}
		if s != v {
			t.Fatalf("split(%d) = %v sums to %d", v, parts, s)
		}
		if len(parts) > 4 { // three 7-bit digits and a carry
			t.Fatalf("split(%d) needs %d parts", v, len(parts))
		}
	}
}

// TestQuantizeBounds: rounding error of every weight is at most half a
// quantum, i.e. ≤ max|w|/(2·64) for 7-bit mixed-sign mantissas.
func TestQuantizeBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for range 50 {
		m := &graph.Model{Name: "r", InputShape: []int{1, 1, 40}, Nodes: []*graph.Node{
			{Name: "flat", Op: graph.Flatten},
			{Name: "fc", Op: graph.Linear, WShape: []int{3, 40}, W: make([]float32, 120), B: make([]float32, 3)},
		}}
		scale := math.Exp(rng.NormFloat64() * 3)
		for i := range m.Nodes[1].W {
			m.Nodes[1].W[i] = float32(rng.NormFloat64() * scale)
		}
		n, err := snn.Convert(m, snn.Config{Tmax: 16})
		if err != nil {
			t.Fatal(err)
		}
		q, err := Quantize(n, Loihi1())
		if err != nil {
			t.Fatal(err)
		}
		r := q.Layers[len(q.Layers)-1].Report
		if r.MaxAbsErr > 1.0/128+1e-9 || r.WeightBits != 7 {
			t.Fatalf("scale %g: max error %g of max|w| with %d bits", scale, r.MaxAbsErr, r.WeightBits)
		}
		if r.MaxAbsErr == 0 {
			t.Fatalf("scale %g: random weights quantized exactly?", scale)
		}
	}
}
