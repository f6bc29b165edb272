package normalize_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
)

func netSource(t *testing.T, m *graph.Model, x []float32, n int) normalize.Source {
	t.Helper()
	net, err := nn.New(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return func(fn func(int, []float32)) error {
		// Two batches, so that the sampler sees the values in pieces.
		h := n / 2
		sz := len(x) / n
		net.Activations(x[:h*sz], h, fn)
		net.Activations(x[h*sz:], n-h, fn)
		return nil
	}
}

func sameModel(t *testing.T, what string, a, b *graph.Model) {
	t.Helper()
	for i := range a.Nodes {
		if !slices.Equal(a.Nodes[i].W, b.Nodes[i].W) || !slices.Equal(a.Nodes[i].B, b.Nodes[i].B) {
			t.Fatalf("%s: layer %d %s differs", what, i, a.Nodes[i].Name)
		}
	}
}

func sameReport(t *testing.T, what string, a, b *normalize.Report) {
	t.Helper()
	if !slices.Equal(a.Layers, b.Layers) || !slices.Equal(a.Warnings, b.Warnings) {
		t.Fatalf("%s: reports differ:\n%+v\n%+v", what, a, b)
	}
}

// TestCalibrationMatchesNormalize: one Calibrate, many Normalize calls give
// exactly what the one-pass Normalize (and its pre-Calibrate reference) gives
// for each percentile, including with a small MaxValues (strided samples).
func TestCalibrationMatchesNormalize(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const n = 40
	for trial := 0; trial < 6; trial++ {
		m := randomNet(r)
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n*2*7*7)
		for i := range x {
			x[i] = r.Float32()
		}
		src := netSource(t, m, x, n)
		maxv := []int{0, 100, 7}[trial%3]
		cal, err := normalize.Calibrate(m, src, maxv)
		if err != nil {
			t.Fatal(err)
		}
		if cal.Layers() != 3 {
			t.Fatalf("Layers() = %d, want 3", cal.Layers())
		}
		for _, p := range []float64{97, 98.5, 99, 99.9, 99.99, 100} {
			cfg := normalize.Config{Percentile: p, MaxValues: maxv}
			m1, r1, err := cal.Normalize(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m2, r2, err := normalize.Normalize(m, src, cfg)
			if err != nil {
				t.Fatal(err)
			}
			m3, r3, err := normalize.NormalizeReference(m, src, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sameModel(t, "Calibration vs Normalize", m1, m2)
			sameModel(t, "Normalize vs reference", m2, m3)
			sameReport(t, "Calibration vs Normalize", r1, r2)
			sameReport(t, "Normalize vs reference", r2, r3)
		}
		lp := []float64{99, 97, 100}
		m1, _, err := cal.Normalize(normalize.Config{LayerPercentiles: lp})
		if err != nil {
			t.Fatal(err)
		}
		m3, _, _ := normalize.NormalizeReference(m, src, normalize.Config{LayerPercentiles: lp, MaxValues: maxv})
		sameModel(t, "per-layer percentiles", m1, m3)
	}
}

func TestCalibrationErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := randomNet(r)
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	called := false
	src := func(fn func(int, []float32)) error { called = true; return nil }
	if _, _, err := normalize.Normalize(m, src, normalize.Config{Percentile: 101}); err == nil || called {
		t.Fatalf("percentile 101: err %v, calibration ran %v; want an error before calibrating", err, called)
	}
	cal, err := normalize.Calibrate(m, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cal.Normalize(normalize.Config{}); err == nil {
		t.Fatal("no activations: want an error")
	}
	if _, _, err := cal.Normalize(normalize.Config{LayerPercentiles: []float64{99}}); err == nil {
		t.Fatal("1 layer percentile for 3 layers: want an error")
	}
}

// TestClassic: the classic scheme matches the bias-corrected one on the
// first layer (where P_0 = 1), and everywhere when the biases are zero; with
// biases, deeper layers differ.
func TestClassic(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const n = 40
	m := randomNet(r)
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*2*7*7)
	for i := range x {
		x[i] = r.Float32()
	}
	run := func(mm *graph.Model) normalize.Source { return netSource(t, mm, x, n) }
	cfg := normalize.Config{Percentile: 99}
	bc, brep, err := normalize.Normalize(m, run(m), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl, crep, err := normalize.NormalizeClassic(m, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bc.Nodes[0].W, cl.Nodes[0].W) || !slices.Equal(bc.Nodes[0].B, cl.Nodes[0].B) {
		t.Fatal("first layer: classic and bias-corrected differ")
	}
	if brep.Layers[0].Scale != crep.Layers[0].Scale {
		t.Fatalf("first layer scale %v vs %v", brep.Layers[0].Scale, crep.Layers[0].Scale)
	}
	if slices.Equal(bc.Nodes[3].B, cl.Nodes[3].B) {
		t.Fatal("conv2: classic bias equals the bias-corrected one")
	}

	// Zero biases: both schemes give the same network up to rounding.
	z := m.Clone()
	for _, l := range z.Nodes {
		clear(l.B)
	}
	bc, _, err = normalize.Normalize(z, run(z), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err = normalize.NormalizeClassic(z, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range bc.Nodes {
		for j, w := range l.W {
			if d := w - cl.Nodes[i].W[j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("zero biases: layer %s weight %d: %v vs %v", l.Name, j, w, cl.Nodes[i].W[j])
			}
		}
	}
}
