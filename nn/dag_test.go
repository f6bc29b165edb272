package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// refUnary is a float64 reference of a single-input op on one sample of
// the given per-sample shape.
func refUnary(l *graph.Node, shape []int, x []float64) []float64 {
	y := make([]float64, len(x))
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	switch l.Op {
	case graph.Tanh:
		for i, v := range x {
			y[i] = math.Tanh(v)
		}
	case graph.Sigmoid:
		for i, v := range x {
			y[i] = sig(v)
		}
	case graph.HardSigmoid:
		for i, v := range x {
			y[i] = math.Max(0, math.Min(1, float64(l.Alpha)*v+float64(l.Bias)))
		}
	case graph.HardSwish:
		for i, v := range x {
			y[i] = v * math.Max(0, math.Min(1, v/6+0.5))
		}
	case graph.SiLU:
		for i, v := range x {
			y[i] = v * sig(v)
		}
	case graph.Affine:
		for i, v := range x {
			y[i] = v*float64(l.Scale[i]) + float64(l.Shift[i])
		}
	case graph.Reshape, graph.Flatten:
		copy(y, x)
	case graph.Softmax:
		outer, dim, inner := strides(shape, l.Axis)
		for o := 0; o < outer; o++ {
			for k := 0; k < inner; k++ {
				var s float64
				for d := 0; d < dim; d++ {
					s += math.Exp(x[(o*dim+d)*inner+k])
				}
				for d := 0; d < dim; d++ {
					i := (o*dim+d)*inner + k
					y[i] = math.Exp(x[i]) / s
				}
			}
		}
	case graph.LayerNorm:
		// Group the elements by their indices on the axes not normalized.
		groups := map[string][]int{}
		idx := make([]int, len(shape))
		for e := range x {
			r := e
			for a := len(shape) - 1; a >= 0; a-- {
				idx[a] = r % shape[a]
				r /= shape[a]
			}
			key := ""
			for a := range shape {
				if !slices.Contains(l.Axes, a) {
					key += fmt.Sprint(idx[a], ",")
				}
			}
			groups[key] = append(groups[key], e)
		}
		for _, g := range groups {
			var mean, v float64
			for _, e := range g {
				mean += x[e]
			}
			mean /= float64(len(g))
			for _, e := range g {
				v += (x[e] - mean) * (x[e] - mean)
			}
			v /= float64(len(g))
			for _, e := range g {
				y[e] = (x[e] - mean) / math.Sqrt(v+float64(l.Eps))
			}
		}
	case graph.LRN:
		c, hw := shape[0], len(x)/shape[0]
		for ch := 0; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				var sq float64
				for k := ch - (l.Size-1)/2; k <= ch+int(math.Ceil(float64(l.Size-1)/2)); k++ {
					if k >= 0 && k < c {
						sq += x[k*hw+p] * x[k*hw+p]
					}
				}
				i := ch*hw + p
				y[i] = x[i] / math.Pow(float64(l.Bias)+float64(l.Alpha)/float64(l.Size)*sq, float64(l.Power))
			}
		}
	default:
		panic(fmt.Sprintf("no reference for %v", l.Op))
	}
	return y
}

// TestOpForward compares each new op, run by the Net on 3 samples, with a
// float64 reference: |got − want| ≤ 1e-6 + 1e-5·|want| (the ops compute
// in float64 and round once, or round a few float32 products).
func TestOpForward(t *testing.T) {
	shape := []int{4, 3, 5}
	size := graph.Size(shape)
	rng := rand.New(rand.NewPCG(9, 10))
	scale, shift := randVec(rng, size, 1), randVec(rng, size, 1)
	unary := []*graph.Node{
		{Name: "tanh", Op: graph.Tanh},
		{Name: "sigmoid", Op: graph.Sigmoid},
		{Name: "hardsigmoid", Op: graph.HardSigmoid, Alpha: 0.2, Bias: 0.5},
		{Name: "hardsigmoid/torch", Op: graph.HardSigmoid, Alpha: 1.0 / 6, Bias: 0.5},
		{Name: "hardswish", Op: graph.HardSwish},
		{Name: "silu", Op: graph.SiLU},
		{Name: "affine/element", Op: graph.Affine, Scale: scale, Shift: shift},
		{Name: "reshape", Op: graph.Reshape, Shape: []int{2, 30}},
		{Name: "softmax0", Op: graph.Softmax, Axis: 0},
		{Name: "softmax1", Op: graph.Softmax, Axis: 1},
		{Name: "softmax2", Op: graph.Softmax, Axis: 2},
		{Name: "layernorm012", Op: graph.LayerNorm, Axes: []int{0, 1, 2}, Eps: 1e-9},
		{Name: "layernorm12", Op: graph.LayerNorm, Axes: []int{1, 2}, Eps: 1e-5},
		{Name: "layernorm0", Op: graph.LayerNorm, Axes: []int{0}, Eps: 1e-9},
		{Name: "layernorm1", Op: graph.LayerNorm, Axes: []int{1}, Eps: 1e-3},
		{Name: "lrn5", Op: graph.LRN, Size: 5, Alpha: 1e-4, Power: 0.75, Bias: 1},
		{Name: "lrn2", Op: graph.LRN, Size: 2, Alpha: 0.5, Power: 0.5, Bias: 2},
		{Name: "lrn3", Op: graph.LRN, Size: 3, Alpha: 2, Power: 1, Bias: 0.5},
	}
	const n = 3
	x := randVec(rng, n*size, 3)
	check := func(t *testing.T, got []float32, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d outputs, want %d", len(got), len(want))
		}
		for i, w := range want {
			if d := math.Abs(float64(got[i]) - w); d > 1e-6+1e-5*math.Abs(w) {
				t.Errorf("y[%d] = %v, want %v", i, got[i], w)
			}
		}
	}
	sample := func(v []float32, s, size int) []float64 {
		out := make([]float64, size)
		for i := range out {
			out[i] = float64(v[s*size+i])
		}
		return out
	}
	for _, l := range unary {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/w%d", l.Name, workers), func(t *testing.T) {
				c := *l
				m := &graph.Model{InputShape: shape, Nodes: []*graph.Node{&c}}
				net, err := New(m, workers)
				if err != nil {
					t.Fatal(err)
				}
				defer net.Close()
				var want []float64
				for s := 0; s < n; s++ {
					want = append(want, refUnary(&c, shape, sample(x, s, size))...)
				}
				check(t, net.Forward(x, n, false), want)
			})
		}
	}
	// Joins over the input and its tanh (t = node 0).
	tanh := func() *graph.Node { return in(&graph.Node{Name: "t", Op: graph.Tanh}, -1) }
	joins := []struct {
		name string
		l    *graph.Node
		ref  func(x, t []float64) []float64
	}{
		{"add", in(&graph.Node{Op: graph.Add}, -1, 0), func(x, t []float64) []float64 {
			y := make([]float64, len(x))
			for i := range x {
				y[i] = x[i] + t[i]
			}
			return y
		}},
		{"add3", in(&graph.Node{Op: graph.Add}, 0, -1, 0), func(x, t []float64) []float64 {
			y := make([]float64, len(x))
			for i := range x {
				y[i] = t[i] + x[i] + t[i]
			}
			return y
		}},
		{"mul", in(&graph.Node{Op: graph.Mul}, 0, -1), func(x, t []float64) []float64 {
			y := make([]float64, len(x))
			for i := range x {
				y[i] = t[i] * x[i]
			}
			return y
		}},
		{"concat", in(&graph.Node{Op: graph.Concat}, -1, 0, -1), func(x, t []float64) []float64 {
			return slices.Concat(x, t, x)
		}},
	}
	for _, j := range joins {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/w%d", j.name, workers), func(t *testing.T) {
				jl := *j.l
				m := &graph.Model{InputShape: shape, Nodes: []*graph.Node{tanh(), &jl}}
				net, err := New(m, workers)
				if err != nil {
					t.Fatal(err)
				}
				defer net.Close()
				var want []float64
				for s := 0; s < n; s++ {
					xs := sample(x, s, size)
					want = append(want, j.ref(xs, refUnary(&graph.Node{Op: graph.Tanh}, shape, xs))...)
				}
				check(t, net.Forward(x, n, false), want)
			})
		}
	}
}

// resNet is a small residual network with a concat, a squeeze-excite
// style Mul and a dropout, for the whole-Net DAG tests.
func resNet(t testing.TB) *graph.Model {
	conv := func(cin, cout int) *graph.Node {
		return convLayer(cin, cout, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 1, true)
	}
	return model(t, []int{3, 8, 8},
		conv(3, 4), // 0
		bnLayer(4), // 1
		&graph.Node{Name: "relu", Op: graph.ReLU}, // 2
		conv(4, 4), // 3
		&graph.Node{Name: "relu", Op: graph.ReLU},                                                // 4
		in(&graph.Node{Name: "add", Op: graph.Add}, 4, 2),                                        // 5: residual
		in(conv(3, 2), -1),                                                                       // 6
		in(&graph.Node{Name: "cat", Op: graph.Concat}, 5, 6),                                     // 7
		&graph.Node{Name: "gap", Op: graph.GlobalAvgPool},                                        // 8
		&graph.Node{Name: "sig", Op: graph.Sigmoid},                                              // 9
		in(&graph.Node{Name: "gate", Op: graph.Sigmoid}, 7),                                      // 10
		in(&graph.Node{Name: "mul", Op: graph.Mul}, 7, 10),                                       // 11: x·sigmoid(x)
		&graph.Node{Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}, // 12
		&graph.Node{Name: "drop", Op: graph.Dropout, Ratio: 0.2},                                 // 13
		&graph.Node{Name: "flat", Op: graph.Flatten},                                             // 14
		in(&graph.Node{Name: "gflat", Op: graph.Flatten}, 9),                                     // 15
		in(&graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{4, 96}}, 14),                  // 16
		in(&graph.Node{Name: "fc2", Op: graph.Linear, WShape: []int{4, 6}}, 15),                  // 17
		in(&graph.Node{Name: "out", Op: graph.Add}, 16, 17),                                      // 18
	)
}

// TestDAGNet trains a DAG: it learns a fixed batch, a steady-state step
// allocates nothing, Activations reports every node, and results are
// deterministic for a worker count.
func TestDAGNet(t *testing.T) {
	run := func(workers int) []float32 {
		m := resNet(t)
		net, err := New(m, workers)
		if err != nil {
			t.Fatal(err)
		}
		defer net.Close()
		const n = 8
		x, labels := randomBatch(n, net.InSize(), 4, 3)
		dl := make([]float32, n*net.OutSize())
		opt := &SGD{LR: 0.05, Momentum: 0.9}
		step := func() float64 {
			net.ZeroGrad()
			out := net.Forward(x, n, true)
			loss, _, _ := SoftmaxCrossEntropy(out, labels, n, dl)
			net.Backward(dl)
			opt.Step(net)
			return float64(loss)
		}
		first := step()
		var last float64
		for range 60 {
			last = step()
		}
		if !(last < first/2) {
			t.Errorf("workers %d: loss %v → %v, want it halved", workers, first, last)
		}
		if !raceEnabled {
			if a := testing.AllocsPerRun(5, func() { step() }); a != 0 {
				t.Errorf("workers %d: %v allocations per training step, want 0", workers, a)
			}
		}
		calls := 0
		net.Activations(x, n, func(i int, out []float32) {
			if i != calls {
				t.Errorf("Activations: node %d after %d calls", i, calls)
			}
			calls++
			if len(out) != n*graph.Size(m.Nodes[i].OutShape) {
				t.Errorf("node %d: %d values", i, len(out))
			}
		})
		if calls != len(m.Nodes) {
			t.Errorf("%d calls, want %d", calls, len(m.Nodes))
		}
		return slices.Clone(net.Predict(x, n))
	}
	a, b := run(2), run(2)
	if !slices.Equal(a, b) {
		t.Error("two runs with 2 workers differ")
	}
	run(1)
}

// TestDAGNetGrad checks the gradients of the whole resNet (ε and
// tolerances of TestNetGrad).
func TestDAGNetGrad(t *testing.T) {
	m := resNet(t)
	x := randVec(rand.New(rand.NewPCG(1, 2)), 3*3*64, 1)
	gradCheck(t, m, 3, 2, true, x, dagEps, dagTol, dagTol)
}
