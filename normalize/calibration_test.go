package normalize_test

import (
	"math"
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
// for each percentile.
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
		cal, err := normalize.Calibrate(m, src)
		if err != nil {
			t.Fatal(err)
		}
		if cal.Layers() != 3 {
			t.Fatalf("Layers() = %d, want 3", cal.Layers())
		}
		for _, p := range []float64{97, 98.5, 99, 99.9, 99.99, 100} {
			cfg := normalize.Config{Percentile: p}
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
		m3, _, _ := normalize.NormalizeReference(m, src, normalize.Config{LayerPercentiles: lp})
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
	cal, err := normalize.Calibrate(m, src)
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

	// Zero biases: both schemes give the same network up to rounding and
	// the histograms' resolution: each percentile is within 2^-11 above the
	// exact one, measured here on differently scaled activations.
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
			if d := float64(w - cl.Nodes[i].W[j]); math.Abs(d) > 1e-5+math.Abs(float64(w))/512 {
				t.Fatalf("zero biases: layer %s weight %d: %v vs %v", l.Name, j, w, cl.Nodes[i].W[j])
			}
		}
	}
}

// TestCalibrationVsExact: on a model small enough to keep every activation,
// the scales are within 0.1 % (2^-11) above the exact nearest-rank
// percentile of all values (the last layer's raw logits are negative too),
// AboveOne is exact, the per-channel statistics match, and any split and
// order of the calibration samples gives the same result, bit for bit.
func TestCalibrationVsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const n = 60
	m := randomNet(r)
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	sz := 2 * 7 * 7
	x := make([]float32, n*sz)
	for i := range x {
		x[i] = r.Float32()
	}
	net, err := nn.New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	all := map[int][]float32{}
	net.Activations(x, n, func(l int, out []float32) { all[l] = append([]float32(nil), out...) })
	cal, err := normalize.Calibrate(m, netSource(t, m, x, n))
	if err != nil {
		t.Fatal(err)
	}
	// Another split and order: one sample at a time, last first.
	rev := func(fn func(int, []float32)) error {
		for s := n - 1; s >= 0; s-- {
			net.Activations(x[s*sz:(s+1)*sz], 1, fn)
		}
		return nil
	}
	cal2, err := normalize.Calibrate(m, rev)
	if err != nil {
		t.Fatal(err)
	}
	_, act := normalize.Targets(m)
	for _, p := range []float64{95, 97, 99, 99.5, 99.9, 99.99, 100} {
		_, rep, err := cal.Normalize(normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		_, rep2, err := cal2.Normalize(normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		sameReport(t, "another split and order", rep, rep2)
		for k, a := range act {
			v := slices.Clone(all[a])
			slices.Sort(v)
			rk := min(max(int(math.Ceil(p/100*float64(len(v)))), 1), len(v))
			want := float64(v[rk-1])
			got := rep.Layers[k].Scale
			if e := (got - want) / math.Abs(want); e < 0 || e > 1.0/2048 || (p == 100 && got != want) {
				t.Errorf("p %v layer %s: scale %v, exact %v (relative error %.3g)", p, rep.Layers[k].Name, got, want, e)
			}
			if got != cal.Percentile(k, p) {
				t.Errorf("p %v layer %s: Percentile %v, report %v", p, rep.Layers[k].Name, cal.Percentile(k, p), got)
			}
			above := 0
			for _, y := range v {
				if float64(y) > got {
					above++
				}
			}
			if f := float64(above) / float64(len(v)); f != rep.Layers[k].AboveOne {
				t.Errorf("p %v layer %s: AboveOne %v, exact %v", p, rep.Layers[k].Name, rep.Layers[k].AboveOne, f)
			}
			if rep.Layers[k].Values != len(v) || rep.Layers[k].Kept != len(v) || cal.Values(k) != int64(len(v)) {
				t.Errorf("layer %s: %d values, kept %d, want %d", rep.Layers[k].Name, rep.Layers[k].Values, rep.Layers[k].Kept, len(v))
			}
			// Per channel.
			shape := m.Nodes[a].OutShape
			ch := shape[0]
			hw := graph.Size(shape) / ch
			if cal.Channels(k) != ch {
				t.Fatalf("layer %s: %d channels, want %d", rep.Layers[k].Name, cal.Channels(k), ch)
			}
			cmax, cp := cal.ChannelMax(k), cal.ChannelPercentile(k, p)
			for c := range ch {
				var cv []float32
				for s := range n {
					cv = append(cv, all[a][(s*ch+c)*hw:(s*ch+c+1)*hw]...)
				}
				slices.Sort(cv)
				if cmax[c] != float64(cv[len(cv)-1]) {
					t.Errorf("layer %s channel %d: max %v, want %v", rep.Layers[k].Name, c, cmax[c], cv[len(cv)-1])
				}
				rk := min(max(int(math.Ceil(p/100*float64(len(cv)))), 1), len(cv))
				w := float64(cv[rk-1])
				if w == 0 && cp[c] != 0 || w != 0 && math.Abs(cp[c]-w) > math.Abs(w)/64 {
					t.Errorf("p %v layer %s channel %d: percentile %v, exact %v", p, rep.Layers[k].Name, c, cp[c], w)
				}
			}
		}
	}
	if b := cal.Bytes(); b <= 0 || b > normalize.EstimateCalibration(m) {
		t.Errorf("Bytes %d, estimate %d", b, normalize.EstimateCalibration(m))
	}
}

// TestNormalizedModelKeepsWeights: a model marked as already normalized
// (quartz finetune's output) normalizes to itself bit for bit at any
// percentile, every scale 1, while an unmarked copy is rescaled; the
// report still counts the activations above 1.
func TestNormalizedModelKeepsWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 30
	m := randomNet(r)
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*2*7*7)
	for i := range x {
		x[i] = r.Float32()
	}
	plain, err := normalize.Calibrate(m, netSource(t, m, x, n))
	if err != nil {
		t.Fatal(err)
	}
	pm := m.Clone()
	pm.Metadata = map[string]string{graph.MetaNormalized: "1"}
	pre, err := normalize.Calibrate(pm, netSource(t, pm, x, n))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []float64{90, 99, 100} {
		nm, rep, err := pre.Normalize(normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, "pre-normalized", nm, pm)
		_, refRep, err := plain.Normalize(normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		for i, st := range rep.Layers {
			if st.Scale != 1 {
				t.Errorf("p %v layer %s: scale %v, want 1", p, st.Name, st.Scale)
			}
			if refRep.Layers[i].Scale != 1 {
				changed = true
			}
		}
		if !changed {
			t.Fatalf("p %v: the unmarked model's scales are all 1; the test shows nothing", p)
		}
		// AboveOne counts the raw activations above 1: p 100 of the
		// unmarked model has none, the marked one some (random weights
		// give activations well above 1).
		if p == 100 {
			some := false
			for _, st := range rep.Layers {
				some = some || st.AboveOne > 0
			}
			if !some {
				t.Errorf("pre-normalized report counts no activation above 1")
			}
		}
	}
}
