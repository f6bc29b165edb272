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

func randomNet(r *rand.Rand) *graph.Model {
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	c1, c2 := 2+r.IntN(4), 2+r.IntN(4)
	k := 1 + 2*r.IntN(2)
	return &graph.Model{InputShape: []int{2, 7, 7}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{c1, 2, k, k}, W: vec(c1*2*k*k, 1), B: vec(c1, 0.5),
			Kernel: [2]int{k, k}, Stride: [2]int{1, 1}, Pad: [4]int{k / 2, k / 2, k / 2, k / 2}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		{Name: "conv2", Op: graph.Conv, WShape: []int{c2, c1, 3, 3}, W: vec(c2*c1*9, 1), B: vec(c2, 0.5),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{4, c2 * 9}, W: vec(4*c2*9, 1), B: vec(4, 0.5)},
	}}
}

// TestNormalizedActivations checks SPEC §4: after normalization every
// layer's activation equals the original divided by P_l. Tolerance: the
// normalized weights are rounded once to float32 and the sums run in a
// different order, so we allow 1e-5 of the layer's activation scale.
func TestNormalizedActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 64
	for trial := 0; trial < 18; trial++ {
		m := randomNet(r)
		if trial%2 == 1 {
			// LeakyReLU is homogeneous too: normalizing through it is exact.
			m.Nodes[4] = &graph.Node{Name: "leaky2", Op: graph.LeakyReLU, Alpha: 0.1}
		}
		clipMax := float32(0)
		if trial >= 14 {
			// Clip(0, a), e.g. ReLU6: normalized by a, whatever the
			// percentile, so the clip becomes the neuron's saturation at 1.
			clipMax = 0.25 + r.Float32()
			m.Nodes[4] = &graph.Node{Name: "clip2", Op: graph.Clip, Min: 0, Max: clipMax}
		}
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		if trial >= 10 {
			// An input transform before the (often padded) first conv is
			// structure: conv1 sees standardized, partly negative inputs,
			// P_0 = 1, and every layer still computes a_l/P_l.
			pm, err := graph.PrependPreprocess(m, graph.Preprocess{Scale: 1 + float32(trial-10), Mean: []float32{0.45, 0.5}, Std: []float32{0.25, 0.2}})
			if err != nil {
				t.Fatal(err)
			}
			m = pm
		}
		x := make([]float32, n*2*7*7)
		for i := range x {
			x[i] = r.Float32()
		}
		net, err := nn.New(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		orig := map[int][]float32{}
		net.Activations(x, n, func(l int, out []float32) { orig[l] = append([]float32(nil), out...) })
		src := func(fn func(int, []float32)) error {
			net.Activations(x, n, fn)
			return nil
		}
		p := []float64{99, 99.9, 100, 90}[trial%4]
		if trial >= 10 {
			p = []float64{99, 99.9, 100, 99.5}[trial%4]
		}
		nm, rep, err := normalize.Normalize(m, src, normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		net2, err := nn.New(nm, 1)
		if err != nil {
			t.Fatal(err)
		}
		param, act := normalize.Targets(m)
		if trial >= 10 && (nm.Nodes[0].Op != graph.Affine || !slices.Equal(nm.Nodes[0].Scale, m.Nodes[0].Scale) || !slices.Equal(nm.Nodes[0].Shift, m.Nodes[0].Shift)) {
			t.Fatalf("trial %d: normalization changed the input transform: %+v", trial, nm.Nodes[0])
		}
		got := map[int][]float32{}
		net2.Activations(x, n, func(l int, out []float32) { got[l] = append([]float32(nil), out...) })
		if clipMax > 0 {
			var clip *graph.Node
			for _, l := range nm.Nodes {
				if l.Op == graph.Clip {
					clip = l
				}
			}
			if rep.Layers[1].Scale != float64(clipMax) || clip == nil || clip.Max != 1 || clip.Min != 0 {
				t.Fatalf("trial %d: clipped layer normalized by %v (want the clip's %v), normalized clip %+v", trial, rep.Layers[1].Scale, clipMax, clip)
			}
		}
		// A clip inside the activation range makes P up to ~10× smaller
		// than a percentile would, and the float32 rounding of the sums
		// (relative to the pre-activation scale) grows by as much.
		tol := 1e-5
		if clipMax > 0 {
			tol = 1e-4
		}
		for k, a := range act {
			P := rep.Layers[k].Scale
			above := 0
			for i, v := range orig[a] {
				want := float64(v) / P
				if d := math.Abs(float64(got[a][i]) - want); d > tol*(1+math.Abs(want)) {
					t.Fatalf("trial %d layer %s value %d: normalized %v, original/P = %v", trial, rep.Layers[k].Name, i, got[a][i], want)
				}
				if want > 1 {
					above++
				}
			}
			// Exact at a percentile, which is a histogram bin edge.
			f, tolAbove := float64(above)/float64(len(orig[a])), 1e-9
			if m.Nodes[a].Op == graph.Clip {
				// Clip(0, a): what the clip cuts, the values before it
				// above a (after it none is). a is no bin edge: the share
				// of the bin holding a (2^-11 of a binade) is
				// interpolated, so allow the values within 2^-10 of a.
				above, near := 0, 0
				for _, v := range orig[param[k]] {
					u := float64(v) / P
					if u > 1 {
						above++
					}
					if math.Abs(u-1) <= 1.0/1024 {
						near++
					}
				}
				f = float64(above) / float64(len(orig[a]))
				tolAbove += float64(near) / float64(len(orig[a]))
				if above == 0 {
					t.Fatalf("trial %d: the clip at %v cuts nothing: the test would not test it", trial, clipMax)
				}
			}
			if math.Abs(f-rep.Layers[k].AboveOne) > tolAbove {
				t.Errorf("layer %s: reported %.4f above 1, measured %.4f", rep.Layers[k].Name, rep.Layers[k].AboveOne, f)
			}
			if p == 100 && rep.Layers[k].AboveOne != 0 && m.Nodes[a].Op != graph.Clip {
				t.Errorf("layer %s: percentile 100 leaves %.4f above 1", rep.Layers[k].Name, rep.Layers[k].AboveOne)
			}
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	m := randomNet(r)
	m.InferShapes()
	net, _ := nn.New(m, 1)
	x := make([]float32, 4*2*7*7)
	for i := range x {
		x[i] = r.Float32()
	}
	src := func(fn func(int, []float32)) error { net.Activations(x, 4, fn); return nil }
	empty := func(fn func(int, []float32)) error { return nil }
	dead := m.Clone()
	for i := range dead.Nodes[0].W {
		dead.Nodes[0].W[i], dead.Nodes[0].B[i%len(dead.Nodes[0].B)] = 0, -1
	}
	deadNet, _ := nn.New(dead, 1)
	deadSrc := func(fn func(int, []float32)) error { deadNet.Activations(x, 4, fn); return nil }
	late := m.Clone() // an input transform between conv1 and conv2
	late.Nodes = append(late.Nodes[:3:3], append([]*graph.Node{{Name: "late", Op: graph.Affine,
		Scale: make([]float32, late.Nodes[0].WShape[0]), Shift: make([]float32, late.Nodes[0].WShape[0])}}, late.Nodes[3:]...)...)
	for _, l := range late.Nodes {
		l.Inputs = nil // a chain again after the insertion
	}
	if err := late.InferShapes(); err != nil {
		t.Fatal(err)
	}
	lateNet, _ := nn.New(late, 1)
	lateSrc := func(fn func(int, []float32)) error { lateNet.Activations(x, 4, fn); return nil }
	if _, _, err := normalize.Normalize(late, lateSrc, normalize.Config{}); err == nil ||
		err.Error() != `normalize: node 3 "late" (Affine): an input transform after layer "conv1" cannot be normalized (its shift does not scale with 1/P); it may only come before the first Conv or Linear` {
		t.Errorf("Affine after conv1: %v", err)
	}
	cases := []struct {
		name string
		m    *graph.Model
		src  normalize.Source
		cfg  normalize.Config
	}{
		{"percentile 0 is default, 101 is not", m, src, normalize.Config{Percentile: 101}},
		{"negative percentile", m, src, normalize.Config{Percentile: -5}},
		{"layer percentile count", m, src, normalize.Config{LayerPercentiles: []float64{99}}},
		{"empty calibration", m, empty, normalize.Config{}},
		{"dead layer", dead, deadSrc, normalize.Config{}},
	}
	for _, tc := range cases {
		if _, _, err := normalize.Normalize(tc.m, tc.src, tc.cfg); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
}
