package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// model builds a chain over in with the given layers, initialized with Init
// and, for BatchNorm, random gamma/beta/running statistics so that eval-mode
// checks are not trivial.
func model(t testing.TB, in []int, layers ...*graph.Node) *graph.Model {
	t.Helper()
	m := &graph.Model{InputShape: in, Nodes: layers}
	Init(m, 7)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, l := range layers {
		if l.Op == graph.BatchNorm {
			for i := range l.Gamma {
				l.Gamma[i] = float32(0.5 + rng.Float64())
				l.Beta[i] = float32(rng.NormFloat64() * 0.3)
				l.Mean[i] = float32(rng.NormFloat64() * 0.3)
				l.Var[i] = float32(0.5 + rng.Float64())
			}
		}
	}
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	return m
}

func convLayer(cin, cout, kh, kw, sh, sw int, pad [4]int, dh, dw, g int, bias bool) *graph.Node {
	l := &graph.Node{Name: "conv", Op: graph.Conv, WShape: []int{cout, cin / g, kh, kw},
		Kernel: [2]int{kh, kw}, Stride: [2]int{sh, sw}, Pad: pad, Dilation: [2]int{dh, dw}, Group: g}
	if bias {
		l.B = make([]float32, cout)
	}
	return l
}

func bnLayer(c int) *graph.Node {
	return &graph.Node{Name: "bn", Op: graph.BatchNorm, Eps: 1e-5,
		Gamma: make([]float32, c), Beta: make([]float32, c), Mean: make([]float32, c), Var: make([]float32, c)}
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

// kinkFree returns n values in ±[lo, lo+spread) whose pairwise distance is
// at least gap: distinct enough that a perturbation smaller than gap/2 never
// flips a max, and far from 0 for ReLU.
func kinkFree(rng *rand.Rand, n int, gap float64) []float32 {
	v := make([]float32, n)
	perm := rng.Perm(n)
	for i := range v {
		k := perm[i] - n/2
		x := (float64(k) + 0.5) * gap // ..., -1.5gap, -0.5gap, 0.5gap, ...
		v[i] = float32(x)
	}
	return v
}

// gradCheck compares Backward's input and parameter gradients of
// L = Σ r·y (r random, y = Forward(x)) with central differences
// (L(v+ε) − L(v−ε)) / (v+ε − (v−ε)) computed with float64 sums of the
// float32 outputs and the float32-rounded step. An entry passes when
// |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|). At most
// maxChecks entries per tensor are checked (a random subset beyond that).
func gradCheck(t *testing.T, m *graph.Model, n, workers int, train bool, x []float32, eps, rtol, atol float64) {
	t.Helper()
	net, err := New(m, workers)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.inputGrad = true
	rng := rand.New(rand.NewPCG(11, 12))
	r := randVec(rng, n*net.OutSize(), 1)
	loss := func() float64 {
		net.step = 0 // same dropout mask every time
		y := net.Forward(x, n, train)
		var s float64
		for i, v := range y {
			s += float64(r[i]) * float64(v)
		}
		return s
	}
	net.ZeroGrad()
	loss()
	net.Backward(r)
	type tensor struct {
		name       string
		data, grad []float32
	}
	ts := []tensor{{"input", x, append([]float32(nil), net.dInput...)}}
	for _, p := range net.Params() {
		ts = append(ts, tensor{p.Name, p.Data, append([]float32(nil), p.Grad...)})
	}
	const maxChecks = 300
	worst := 0.0
	for _, tt := range ts {
		idx := rng.Perm(len(tt.data))
		if len(idx) > maxChecks {
			idx = idx[:maxChecks]
		}
		for _, i := range idx {
			v := tt.data[i]
			hi, lo := float32(float64(v)+eps), float32(float64(v)-eps)
			tt.data[i] = hi
			lp := loss()
			tt.data[i] = lo
			lm := loss()
			tt.data[i] = v
			num := (lp - lm) / (float64(hi) - float64(lo))
			a := float64(tt.grad[i])
			diff := math.Abs(a - num)
			scale := math.Max(math.Abs(a), math.Abs(num))
			if diff > atol+rtol*scale {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", tt.name, i, a, num)
			}
			if scale > 0 {
				worst = math.Max(worst, diff/(atol+rtol*scale))
			}
		}
	}
	t.Logf("worst error / tolerance = %.3f", worst)
}
