package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

func TestZooLeNet5(t *testing.T) {
	m, err := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p, macs := m.Params(), m.MACs(); p != 26338 || macs != 225840 {
		t.Errorf("lenet5: %d params, %d MACs; want 26338, 225840", p, macs)
	}
	names := []string{"conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "drop3", "flatten", "fc1"}
	if len(m.Nodes) != len(names) {
		t.Fatalf("%d layers, want %d", len(m.Nodes), len(names))
	}
	for i, l := range m.Nodes {
		if l.Name != names[i] {
			t.Errorf("layer %d named %q, want %q", i, l.Name, names[i])
		}
	}
	if got := m.Nodes[6].OutShape; graph.Size(got) != 120 {
		t.Errorf("conv3 output %v, want [120 1 1]", got)
	}
	for _, name := range []string{"vgg11", "mobilenet-v1"} {
		m, err := Zoo(name, []int{3, 32, 32}, 10, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		net, err := New(m, 2)
		if err != nil {
			t.Fatal(err)
		}
		y := net.Forward(make([]float32, 2*3*32*32), 2, true)
		if len(y) != 20 {
			t.Errorf("%s: %d outputs, want 20", name, len(y))
		}
		net.Close()
	}
	if _, err := Zoo("resnet", []int{1, 28, 28}, 10, 1); err == nil {
		t.Error("unknown name accepted")
	}
}

func TestInit(t *testing.T) {
	m, _ := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	Init(m, 42)
	a := m.Clone()
	Init(m, 42)
	for i, l := range m.Nodes {
		for j := range l.W {
			if l.W[j] != a.Nodes[i].W[j] {
				t.Fatal("Init not deterministic")
			}
		}
	}
	l := m.Nodes[3] // conv2, fan-in 150
	bound := float32(1 / math.Sqrt(150))
	var mx float32
	for _, v := range append(append([]float32(nil), l.W...), l.B...) {
		mx = max(mx, float32(math.Abs(float64(v))))
	}
	if mx > bound || mx < 0.9*bound {
		t.Errorf("conv2 max |w| = %v, want just under %v", mx, bound)
	}
}

func randomBatch(n, size, classes int, seed uint64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 0))
	x := randVec(rng, n*size, 1)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(classes))
	}
	return x, y
}

// trainSteps runs steps SGD steps on lenet5 (with dropout) and returns the
// parameters.
func trainSteps(t testing.TB, workers, steps int, opt Optimizer) [][]float32 {
	m, err := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	Init(m, 3)
	net, err := New(m, workers)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.SetSeed(9)
	var dl []float32
	for s := 0; s < steps; s++ {
		x, lab := randomBatch(20, 784, 10, uint64(s))
		net.ZeroGrad()
		out := net.Forward(x, 20, true)
		_, dl, _ = SoftmaxCrossEntropy(out, lab, 20, dl)
		net.Backward(dl)
		opt.Step(net)
	}
	var ps [][]float32
	for _, p := range net.Params() {
		ps = append(ps, append([]float32(nil), p.Data...))
	}
	return ps
}

func TestDeterminism(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		a := trainSteps(t, workers, 3, &SGD{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-3, Nesterov: true})
		b := trainSteps(t, workers, 3, &SGD{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-3, Nesterov: true})
		for i := range a {
			for j := range a[i] {
				if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
					t.Fatalf("workers %d: param %d[%d] differs: %v vs %v", workers, i, j, a[i][j], b[i][j])
				}
			}
		}
	}
	// Different worker counts sum in a different order but agree closely.
	a := trainSteps(t, 1, 3, NewAdam(1e-3))
	b := trainSteps(t, 3, 3, NewAdam(1e-3))
	for i := range a {
		for j := range a[i] {
			if math.Abs(float64(a[i][j]-b[i][j])) > 1e-4 {
				t.Fatalf("workers 1 vs 3: param %d[%d]: %v vs %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}

// TestLearns trains a small conv net on a synthetic separable problem: a
// bright 3×3 patch in one of three places marks the class, under Gaussian
// noise of σ = 0.5. After 80 Adam steps the loss must fall by at least 10×
// (from ≈ ln 3 ≈ 1.1) and the accuracy on a fresh batch exceed 95%.
func TestLearns(t *testing.T) {
	m := model(t, []int{1, 8, 8},
		convLayer(1, 4, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 1, true),
		bnLayer(4),
		&graph.Node{Name: "relu", Op: graph.ReLU},
		&graph.Node{Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		&graph.Node{Name: "flat", Op: graph.Flatten},
		&graph.Node{Name: "drop", Op: graph.Dropout, Ratio: 0.1},
		&graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{3, 64}, B: make([]float32, 3)},
	)
	Init(m, 1)
	net, err := New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	batch := func(n int) ([]float32, []int32) {
		x := randVec(rng, n*64, 0.5)
		y := make([]int32, n)
		for i := range y {
			c := rng.IntN(3)
			y[i] = int32(c)
			oy, ox := []int{0, 4, 2}[c], []int{0, 1, 5}[c]
			for dy := 0; dy < 3; dy++ {
				for dx := 0; dx < 3; dx++ {
					x[i*64+(oy+dy)*8+ox+dx] += 1
				}
			}
		}
		return x, y
	}
	opt := NewAdam(0.01)
	var first, last float64
	var dl []float32
	const steps = 80
	for s := 0; s < steps; s++ {
		x, y := batch(32)
		net.ZeroGrad()
		out := net.Forward(x, 32, true)
		var loss float32
		loss, dl, _ = SoftmaxCrossEntropy(out, y, 32, dl)
		net.Backward(dl)
		opt.Step(net)
		if s < 5 {
			first += float64(loss) / 5
		}
		if s >= steps-5 {
			last += float64(loss) / 5
		}
	}
	x, y := batch(500)
	_, _, correct := SoftmaxCrossEntropy(net.Predict(x, 500), y, 500, nil)
	t.Logf("loss %.4f → %.4f, accuracy %d/500", first, last, correct)
	if last > first/10 || correct < 475 {
		t.Errorf("did not learn: loss %.4f → %.4f, accuracy %d/500", first, last, correct)
	}
}

// TestNoAllocs: a training step allocates nothing once buffers exist.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m, _ := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	net, err := New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	x, lab := randomBatch(16, 784, 10, 1)
	dl := make([]float32, 16*10)
	for _, opt := range []Optimizer{&SGD{LR: 0.01, Momentum: 0.9}, NewAdam(1e-3)} {
		step := func() {
			net.ZeroGrad()
			out := net.Forward(x, 16, true)
			SoftmaxCrossEntropy(out, lab, 16, dl)
			net.Backward(dl)
			opt.Step(net)
		}
		// A GC empties sync.Pools (internal/gemm keeps its packing buffers
		// in one); collect first so that none starts during the
		// measurement, which itself allocates nothing to trigger one.
		runtime.GC()
		step()
		step()
		if a := testing.AllocsPerRun(10, step); a != 0 {
			t.Errorf("%T: %v allocations per training step, want 0", opt, a)
		}
	}
	net.Predict(x, 16)
	if a := testing.AllocsPerRun(10, func() { net.Predict(x, 16) }); a != 0 {
		t.Errorf("%v allocations per Predict, want 0", a)
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	logits := []float32{1, 2, 3, 0, 0, 0}
	loss, g, correct := SoftmaxCrossEntropy(logits, []int32{2, 1}, 2, nil)
	l0 := math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)) - 3
	l1 := math.Log(3)
	if math.Abs(float64(loss)-(l0+l1)/2) > 1e-6 {
		t.Errorf("loss %v, want %v", loss, (l0+l1)/2)
	}
	if correct != 1 {
		t.Errorf("correct %d, want 1", correct)
	}
	var s float64
	for _, v := range g[:3] {
		s += float64(v)
	}
	if math.Abs(s) > 1e-7 || math.Abs(float64(g[3])-1./6) > 1e-7 || math.Abs(float64(g[4])-(1./3-1)/2) > 1e-7 {
		t.Errorf("grad %v", g)
	}
	// Large logits must not overflow.
	loss, _, _ = SoftmaxCrossEntropy([]float32{1000, 0}, []int32{1}, 1, nil)
	if math.Abs(float64(loss)-1000) > 1e-3 {
		t.Errorf("loss %v, want 1000", loss)
	}
}

// TestOptimizers checks one step of each optimizer on a hand-computed case.
func TestOptimizers(t *testing.T) {
	m := model(t, []int{2, 1, 1}, &graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{1, 2}, B: []float32{0}})
	net, _ := New(m, 1)
	defer net.Close()
	set := func() {
		copy(m.Nodes[0].W, []float32{1, -2})
		m.Nodes[0].B[0] = 0.5
		copy(net.Params()[0].Grad, []float32{0.1, 0.2})
		net.Params()[1].Grad[0] = -0.3
	}
	set()
	sgd := &SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true}
	sgd.Step(net)
	// g = 0.1 + 0.01·1 = 0.11, v = 0.11, w = 1 − 0.1·(0.11 + 0.9·0.11)
	if w := m.Nodes[0].W[0]; math.Abs(float64(w)-(1-0.1*0.11*1.9)) > 1e-6 {
		t.Errorf("SGD w0 = %v", w)
	}
	// bias: no decay; g = −0.3, w = 0.5 + 0.1·0.3·1.9
	if b := m.Nodes[0].B[0]; math.Abs(float64(b)-(0.5+0.1*0.3*1.9)) > 1e-6 {
		t.Errorf("SGD b = %v", b)
	}
	net2, _ := New(m, 1)
	defer net2.Close()
	set()
	copy(net2.Params()[0].Grad, []float32{0.1, 0.2})
	net2.Params()[1].Grad[0] = -0.3
	adam := NewAdam(0.01)
	adam.WeightDecay, adam.Decoupled = 0.1, true
	adam.Step(net2)
	// First Adam step moves every weight by LR·sign(g) (Eps aside); AdamW
	// first shrinks w by LR·wd·w.
	w0 := 1 - 0.01*0.1*1 - 0.01
	if w := m.Nodes[0].W[0]; math.Abs(float64(w)-w0) > 1e-6 {
		t.Errorf("AdamW w0 = %v, want %v", w, w0)
	}
	if b := m.Nodes[0].B[0]; math.Abs(float64(b)-0.51) > 1e-6 {
		t.Errorf("AdamW b = %v, want 0.51", b)
	}
}

func TestSchedules(t *testing.T) {
	near := func(a float32, b float64) bool { return math.Abs(float64(a)-b) < 1e-6 }
	if !near(Constant(0.1)(7), 0.1) {
		t.Error("Constant")
	}
	s := StepDecay(0.1, 10, 0.5)
	if !near(s(9.9), 0.1) || !near(s(10), 0.05) || !near(s(25), 0.025) {
		t.Error("StepDecay")
	}
	c := Cosine(0.1, 0.001, 10)
	if !near(c(0), 0.1) || !near(c(5), 0.0505) || !near(c(10), 0.001) || !near(c(20), 0.001) {
		t.Error("Cosine", c(0), c(5), c(10))
	}
	w := Warmup(Constant(0.1), 2)
	if !near(w(1), 0.05) || !near(w(3), 0.1) {
		t.Error("Warmup")
	}
}

// TestBatchNormRunningStats: training updates the running statistics with
// momentum 0.1 and the unbiased variance; eval uses them.
func TestBatchNormRunningStats(t *testing.T) {
	l := bnLayer(1)
	m := model(t, []int{1, 1, 2}, l)
	l.Mean[0], l.Var[0], l.Gamma[0], l.Beta[0] = 0, 1, 1, 0
	net, _ := New(m, 1)
	defer net.Close()
	x := []float32{1, 2, 3, 6} // 2 samples × 2 values: mean 3, Σd² = 14
	y := net.Forward(x, 2, true)
	if m, v := l.Mean[0], l.Var[0]; math.Abs(float64(m)-0.3) > 1e-6 || math.Abs(float64(v)-(0.9+0.1*14./3)) > 1e-6 {
		t.Errorf("running mean %v var %v, want 0.3, %v", m, v, 0.9+0.1*14./3)
	}
	if want := (1 - 3) / math.Sqrt(14./4+1e-5); math.Abs(float64(y[0])-want) > 1e-5 {
		t.Errorf("train y[0] = %v, want %v", y[0], want)
	}
	y = net.Forward(x, 2, false)
	if want := (1 - 0.3) / math.Sqrt(0.9+0.1*14./3+1e-5); math.Abs(float64(y[0])-want) > 1e-5 {
		t.Errorf("eval y[0] = %v, want %v", y[0], want)
	}
}

func TestActivations(t *testing.T) {
	m, _ := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	net, _ := New(m, 2)
	defer net.Close()
	x, _ := randomBatch(3, 784, 10, 1)
	var calls []int
	net.Activations(x, 3, func(i int, out []float32) {
		calls = append(calls, i)
		if len(out) != 3*graph.Size(m.Nodes[i].OutShape) {
			t.Errorf("layer %d: %d values", i, len(out))
		}
		if m.Nodes[i].Op == graph.ReLU {
			for _, v := range out {
				if v < 0 {
					t.Fatalf("layer %d: negative ReLU output", i)
				}
			}
		}
	})
	if len(calls) != len(m.Nodes) {
		t.Errorf("%d calls, want %d", len(calls), len(m.Nodes))
	}
	// Predict (chunked) matches one Forward.
	x, _ = randomBatch(PredictBatch+7, 784, 10, 2)
	want := append([]float32(nil), net.Forward(x, PredictBatch+7, false)...)
	got := net.Predict(x, PredictBatch+7)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("Predict[%d] = %v, Forward %v", i, got[i], want[i])
		}
	}
}

// TestLeakyReLU checks LeakyReLU's values (x if x > 0, else Alpha·x, at 0
// and −0 too), that Predict runs a model with one, and that a non-finite
// slope is refused.
func TestLeakyReLU(t *testing.T) {
	const alpha = 0.25
	m := &graph.Model{InputShape: []int{1, 2, 3}, Nodes: []*graph.Node{
		{Name: "leaky", Op: graph.LeakyReLU, Alpha: alpha},
	}}
	net, err := New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	x := []float32{-4, -1, float32(math.Copysign(0, -1)), 0, 0.5, 3, 2, -2, -0.125, 1e-30, -1e30, 7}
	got := net.Predict(x, 2)
	for i, v := range x {
		want := v
		if !(v > 0) {
			want = alpha * v
		}
		if got[i] != want {
			t.Errorf("LeakyReLU(%v) = %v, want %v", v, got[i], want)
		}
	}

	// A small classifier with a LeakyReLU hidden layer: Predict equals
	// Linear → leaky → Linear computed by hand.
	w1 := []float32{1, -1, 0.5, 2, -0.5, 1}
	w2 := []float32{1, 1, -1, 2}
	mc := &graph.Model{InputShape: []int{3, 1, 1}, Nodes: []*graph.Node{
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, W: w1, B: []float32{0.5, -3}, WShape: []int{2, 3}},
		{Name: "leaky", Op: graph.LeakyReLU, Alpha: 0.01},
		{Name: "fc2", Op: graph.Linear, W: w2, WShape: []int{2, 2}},
	}}
	nc, err := New(mc, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	in := []float32{1, 2, 3, -1, 0.5, -2}
	out := nc.Predict(in, 2)
	for s := 0; s < 2; s++ {
		h := []float32{0.5, -3}
		for o := range h {
			for k := 0; k < 3; k++ {
				h[o] += w1[o*3+k] * in[s*3+k]
			}
			if h[o] <= 0 {
				h[o] *= 0.01
			}
		}
		for o := 0; o < 2; o++ {
			want := w2[o*2]*h[0] + w2[o*2+1]*h[1]
			if d := math.Abs(float64(out[s*2+o] - want)); d > 1e-5 {
				t.Errorf("sample %d output %d = %v, want %v", s, o, out[s*2+o], want)
			}
		}
	}

	for _, a := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		bad := &graph.Model{InputShape: []int{1, 1, 1}, Nodes: []*graph.Node{{Name: "leaky", Op: graph.LeakyReLU, Alpha: a}}}
		if _, err := New(bad, 1); err == nil || !strings.Contains(err.Error(), `layer 0 "leaky" (LeakyReLU): leaky ReLU slope`) {
			t.Errorf("alpha %v: error %v", a, err)
		}
	}
}

// TestRecomputeBatchNorm: the running statistics become the mean over the
// batches of each BatchNorm's batch mean and unbiased batch variance, with
// the layers before it in training mode; the weights, the dropout step
// count and the momentum of later training are untouched. The oracle reads
// every BatchNorm's input from a separate network's training forwards and
// sums in float64; 1e-5 relative allows for the float32 running means
// (a few roundings of 6e-8 per batch).
func TestRecomputeBatchNorm(t *testing.T) {
	build := func() *graph.Model {
		return model(t, []int{2, 6, 6},
			convLayer(2, 3, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 1, true), bnLayer(3), &graph.Node{Name: "relu", Op: graph.ReLU},
			&graph.Node{Name: "drop", Op: graph.Dropout, Ratio: 0.3},
			convLayer(3, 4, 3, 3, 1, 1, [4]int{}, 1, 1, 1, false), bnLayer(4))
	}
	m, ref := build(), build()
	net, oracle := mustNew(t, m), mustNew(t, ref)
	defer net.Close()
	defer oracle.Close()
	const batches, n = 5, 7
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([][]float32, batches)
	for i := range xs {
		xs[i] = randVec(rng, n*net.InSize(), 1)
	}
	sizes := []int{n, n, n, n, 3} // a short last batch weighs as much as the others
	seq := func(yield func([]float32, int) bool) {
		for i, x := range xs {
			if !yield(x, sizes[i]) {
				return
			}
		}
	}
	net.SetSeed(9)
	oracle.SetSeed(9)
	net.SetSteps(4)
	oracle.SetSteps(4)
	w := slices.Clone(m.Nodes[0].W)

	bn := []int{1, 5}
	wantMean := map[int][]float64{}
	wantVar := map[int][]float64{}
	for b, x := range xs {
		oracle.Forward(x, sizes[b], true)
		for _, i := range bn {
			c := len(m.Nodes[i].Gamma)
			in := oracle.acts[i-1][:sizes[b]*oracle.sizes[i]]
			hw := oracle.sizes[i] / c
			if wantMean[i] == nil {
				wantMean[i], wantVar[i] = make([]float64, c), make([]float64, c)
			}
			for ch := 0; ch < c; ch++ {
				var s, ss float64
				for smp := 0; smp < sizes[b]; smp++ {
					for _, v := range in[(smp*c+ch)*hw : (smp*c+ch+1)*hw] {
						s += float64(v)
					}
				}
				cnt := float64(sizes[b] * hw)
				mean := s / cnt
				for smp := 0; smp < sizes[b]; smp++ {
					for _, v := range in[(smp*c+ch)*hw : (smp*c+ch+1)*hw] {
						ss += (float64(v) - mean) * (float64(v) - mean)
					}
				}
				wantMean[i][ch] += mean / batches
				wantVar[i][ch] += ss / (cnt - 1) / batches
			}
		}
	}
	if got := net.RecomputeBatchNorm(seq); got != 4*n+3 {
		t.Errorf("RecomputeBatchNorm saw %d samples, want %d", got, 4*n+3)
	}
	within := func(got float32, want float64) bool {
		return math.Abs(float64(got)-want) <= 1e-5*math.Max(1, math.Abs(want))
	}
	for _, i := range bn {
		l := m.Nodes[i]
		for ch := range l.Mean {
			if !within(l.Mean[ch], wantMean[i][ch]) || !within(l.Var[ch], wantVar[i][ch]) {
				t.Errorf("layer %d channel %d: running mean %v var %v, want %v %v", i, ch, l.Mean[ch], l.Var[ch], wantMean[i][ch], wantVar[i][ch])
			}
		}
	}
	if net.Steps() != 4 {
		t.Errorf("dropout step count %d after the pass, want 4 as before", net.Steps())
	}
	if !slices.Equal(w, m.Nodes[0].W) {
		t.Error("the pass changed the weights")
	}
	// Later training updates with momentum BNMomentum again, and an empty
	// pass changes nothing.
	before := m.Nodes[1].Mean[0]
	net.Forward(xs[0], n, true)
	batchMean := float64(m.Nodes[1].Mean[0]-float32(1-BNMomentum)*before) / BNMomentum
	if !within(float32(batchMean), wantMeanOf(oracle, xs[0], n)) {
		t.Errorf("training after the pass: running mean moved to %v from %v, not by momentum %v", m.Nodes[1].Mean[0], before, BNMomentum)
	}
	saved := slices.Clone(m.Nodes[5].Var)
	if got := net.RecomputeBatchNorm(func(func([]float32, int) bool) {}); got != 0 || !slices.Equal(saved, m.Nodes[5].Var) {
		t.Errorf("empty pass: %d samples, statistics changed: %v", got, !slices.Equal(saved, m.Nodes[5].Var))
	}
}

// wantMeanOf is the batch mean of channel 0 of layer 0's output (the first
// BatchNorm's input) for x.
func wantMeanOf(net *Net, x []float32, n int) float64 {
	net.Forward(x, n, false) // the conv output does not depend on the mode
	c := 3
	hw := net.sizes[0] / c
	var s float64
	for smp := 0; smp < n; smp++ {
		for _, v := range net.acts[0][smp*c*hw : smp*c*hw+hw] {
			s += float64(v)
		}
	}
	return s / float64(n*hw)
}

// TestZooDAG builds the residual zoo models on CIFAR-shaped inputs and
// checks their size, their branches, and one training step's shapes.
func TestZooDAG(t *testing.T) {
	for _, tc := range []struct {
		name   string
		width  float64
		params int // conv weights and biases, BatchNorm's four vectors, fc
		adds   int
	}{
		// stem 512 + stage 1 14,304 + stage 2 52,320 (with a 16→32
		// projection of 672) + stage 3 207,040 (64-wide, projection
		// 2,368) + fc 650, counted by hand.
		{"resnet20", 1, 274826, 9},
		{"mobilenet-v2", 1, 2287850, 10},
		{"mobilenet-v2", 0.5, 0, 10},
		// torchvision's 11,689,512 with 1000 classes, less 507,870 for
		// a 10-class fc, plus 4,800 conv biases and 9,600 BatchNorm
		// running statistics (it counts neither).
		{"resnet18", 1, 11196042, 8},
	} {
		t.Run(fmt.Sprintf("%s-w%g", tc.name, tc.width), func(t *testing.T) {
			m, err := Zoo(tc.name, []int{3, 32, 32}, 10, tc.width)
			if err != nil {
				t.Fatal(err)
			}
			if m.IsChain() {
				t.Fatal("zoo model is a chain")
			}
			adds := 0
			for _, l := range m.Nodes {
				if l.Op == graph.Add {
					adds++
				}
			}
			if adds != tc.adds {
				t.Errorf("%d Add nodes, want %d", adds, tc.adds)
			}
			if tc.params > 0 && m.Params() != tc.params {
				t.Errorf("%d parameters, want %d", m.Params(), tc.params)
			}
			if got := m.OutputShape(); len(got) != 1 || got[0] != 10 {
				t.Errorf("output shape %v", got)
			}
			net, err := New(m, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			x := make([]float32, 2*3*32*32)
			for i := range x {
				x[i] = float32(i%7) / 7
			}
			y := net.Forward(x, 2, true)
			if len(y) != 20 {
				t.Fatalf("%d outputs", len(y))
			}
			net.Backward(make([]float32, 20))
		})
	}
}
