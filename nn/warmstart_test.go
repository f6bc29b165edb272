package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// trainedVGG returns a tiny VGG-11 (width 1/16: 4…32 channels) whose
// BatchNorms hold random affine parameters and running statistics, as a
// trained one would, and n random input images.
func trainedVGG(t *testing.T, seed uint64, n int) (*graph.Model, []float32) {
	t.Helper()
	m, err := Zoo("vgg11", []int{3, 32, 32}, 10, 1.0/16)
	if err != nil {
		t.Fatal(err)
	}
	Init(m, seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, l := range m.Nodes {
		if l.Op == graph.BatchNorm {
			for i := range l.Gamma {
				l.Gamma[i] = float32(0.5 + rng.Float64())
				l.Beta[i] = float32(rng.NormFloat64() * 0.3)
				l.Mean[i] = float32(rng.NormFloat64() * 0.1)
				l.Var[i] = float32(0.05 + 0.1*rng.Float64())
			}
		}
	}
	x := make([]float32, n*3*32*32)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	return m, x
}

func forward(t *testing.T, m *graph.Model, x []float32, n int, train bool) []float32 {
	t.Helper()
	net, err := New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	return append([]float32(nil), net.Forward(x, n, train)...)
}

// maxRel is the largest |a−b| relative to the largest |b|.
func maxRel(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = max(s, math.Abs(float64(b[i])))
	}
	return d / s
}

// TestWarmStartFolded starts a fresh network from the folded inference form
// of a "trained" one. In eval mode it must compute the folded model's
// outputs: the recalibrated BatchNorms are the identity, up to float32
// rounding of γ/√(var+ε) ≈ 1 per layer (tolerance 1e-5 relative over eight
// layers). In train mode on the calibration batch itself, the batch
// statistics are the calibrated ones, so the outputs match too; the only
// difference is the summation order of the statistics (float64 here,
// float32-accumulated per batch in BatchNorm's forward): 1e-4 relative.
func TestWarmStartFolded(t *testing.T) {
	const n = 16
	trained, x := trainedVGG(t, 1, n)
	folded, err := graph.InferenceForm(trained)
	if err != nil {
		t.Fatal(err)
	}
	want := forward(t, folded, x, n, false)
	if d := maxRel(forward(t, trained, x, n, false), want); d > 1e-5 {
		t.Fatalf("folding changed the outputs by %.2g (relative): the test's premise fails", d)
	}

	fresh, _ := trainedVGG(t, 2, 0) // other weights, other statistics
	net, err := New(fresh, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	k, err := net.WarmStart(folded, x, n)
	if err != nil {
		t.Fatal(err)
	}
	if k != 8 {
		t.Errorf("recalibrated %d BatchNorms, want 8", k)
	}
	if d := maxRel(net.Forward(x, n, false), want); d > 1e-5 {
		t.Errorf("eval mode after WarmStart: outputs differ by %.2g (relative), want ≤ 1e-5", d)
	}
	if d := maxRel(net.Forward(x, n, true), want); d > 1e-4 {
		t.Errorf("train mode on the calibration batch: outputs differ by %.2g (relative), want ≤ 1e-4", d)
	}
}

// TestWarmStartUnfolded copies a model that still has its BatchNorms: the
// result is the same model, bit for bit, and needs no samples.
func TestWarmStartUnfolded(t *testing.T) {
	const n = 4
	trained, x := trainedVGG(t, 1, n)
	fresh, _ := trainedVGG(t, 2, 0)
	net, err := New(fresh, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	k, err := net.WarmStart(trained, nil, 0)
	if err != nil || k != 0 {
		t.Fatalf("WarmStart = %d, %v; want 0, nil", k, err)
	}
	got, want := net.Forward(x, n, false), forward(t, trained, x, n, false)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output %d = %v, want %v (bit for bit)", i, got[i], want[i])
		}
	}
}

func TestWarmStartErrors(t *testing.T) {
	const n = 2
	trained, x := trainedVGG(t, 1, n)
	folded, err := graph.InferenceForm(trained)
	if err != nil {
		t.Fatal(err)
	}
	wider, err := Zoo("vgg11", []int{3, 32, 32}, 10, 1.0/8)
	if err != nil {
		t.Fatal(err)
	}
	lenet, err := Zoo("lenet5", []int{3, 32, 32}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	nan := folded.Clone()
	nan.Nodes[3].W[5] = float32(math.NaN())
	short := folded.Clone()
	short.Nodes = short.Nodes[:len(short.Nodes)-1] // no fc1
	other := folded.Clone()
	other.InputShape = []int{1, 32, 32}
	cases := []struct {
		name string
		src  *graph.Model
		x    []float32
		want string
	}{
		{"wider", wider, x, "weights [8 3 3 3]"},
		{"other architecture", lenet, x, "is Conv with weights [6 3 5 5]"},
		{"NaN weight", nan, x, "weight[5] = NaN"},
		{"missing layer", short, x, "no more Conv or Linear layers"},
		{"input shape", other, x, "input shape [1 32 32]"},
		{"no samples", folded, nil, "no samples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fresh, _ := trainedVGG(t, 2, 0)
			net, err := New(fresh, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			nx := n
			if c.x == nil {
				nx = 0
			}
			_, err = net.WarmStart(c.src, c.x, nx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
