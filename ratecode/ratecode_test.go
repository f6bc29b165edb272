package ratecode_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/ratecode"
)

// twoLayer is the hand-checked network: two pixels → one hidden neuron
// (w = 0.5, 0.25) → two output neurons (w = 1 and −1, b = 0 and 0.5).
func twoLayer() *graph.Model {
	return &graph.Model{InputShape: []int{2, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{1, 2}, W: []float32{0.5, 0.25}},
		{Name: "relu", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, WShape: []int{2, 1}, W: []float32{1, -1}, B: []float32{0, 0.5}},
	}}
}

// TestCountersByHand checks every counter on twoLayer with x = (1, 1), 4 steps.
// fc1's current is 0.75: u = 0.75, 1.5→0.5 (spike), 1.25→0.25 (spike),
// 1.0→0 (spike): spikes at steps 2, 3, 4. Output 0 gets +1 at each: spikes
// at 2, 3, 4, residual 0. Output 1 gets 0.5 − 1 at 2, 3, 4 and 0.5 at 1:
// u = 0.5, 0, −0.5, −1, no spike. σ = 3 hidden spikes × fan-out 2.
func TestCountersByHand(t *testing.T) {
	s, err := ratecode.New(twoLayer(), ratecode.Config{Steps: 4, Checkpoints: []int{1, 2}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if nu, relay := s.Neurons(); nu != 3 || relay != 0 {
		t.Errorf("neurons %d + %d relay, want 3 + 0", nu, relay)
	}
	if got := s.AnalogMACs(); got != 2 {
		t.Errorf("analog MACs %d, want 2", got)
	}
	sum, err := s.Evaluate([]float32{1, 1}, 1, []int32{0})
	if err != nil {
		t.Fatal(err)
	}
	want := &ratecode.Summary{Samples: 1,
		Checkpoints: []ratecode.Checkpoint{
			// step 1: V = (0, 0.5) → class 1; counts (0, 0) tie → class 0.
			{Steps: 1, Correct: 0, CorrectCount: 1, CountTies: 1},
			{Steps: 2, Correct: 1, CorrectCount: 1, Spikes: 2, SynEvents: 2},
			{Steps: 4, Correct: 1, CorrectCount: 1, Spikes: 6, SynEvents: 6},
		},
		Layers: []ratecode.LayerStats{{Spikes: 3, SynEvents: 0}, {Spikes: 3, SynEvents: 6}},
	}
	if d := diff(want, sum); d != "" {
		t.Errorf("summary \n%s", d)
	}
	tr, err := s.Run([]float32{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([][]int32{{3}, {3, 0}}, tr.Counts); d != "" {
		t.Errorf("counts \n%s", d)
	}
	if d := diff([]float32{3, -1}, tr.Potential); d != "" || tr.Class != 0 {
		t.Errorf("potential %v class %d, want [3 -1] class 0", tr.Potential, tr.Class)
	}
}

// diff returns "" when want and got are deeply equal, else both printed.
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return fmt.Sprintf("want %+v\n got %+v", want, got)
}

func TestDefaultCheckpoints(t *testing.T) {
	for _, c := range []struct {
		steps int
		want  []int
	}{
		{1, []int{1}},
		{10, []int{10}},
		{100, []int{10, 20, 50, 100}},
		{500, []int{10, 20, 50, 100, 200, 500}},
		{300, []int{10, 20, 50, 100, 200, 300}},
	} {
		if d := diff(c.want, ratecode.DefaultCheckpoints(c.steps)); d != "" {
			t.Errorf("steps %d \n%s", c.steps, d)
		}
	}
}

func randomNet(r *rand.Rand, variant int) *graph.Model {
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	c1, c2 := 4, 4
	conv1 := &graph.Node{Name: "conv1", Op: graph.Conv, WShape: []int{c1, 2, 3, 3}, W: vec(c1*2*9, 0.3), B: vec(c1, 0.2),
		Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	conv2 := &graph.Node{Name: "conv2", Op: graph.Conv, WShape: []int{c2, c1, 3, 3}, W: vec(c2*c1*9, 0.25), B: vec(c2, 0.2),
		Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	pool := &graph.Node{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}
	hw := 16 // conv2 output 4×4 after the 2×2 pool of 8×8
	switch variant {
	case 1: // strided, dilated, grouped conv; average pooling with padding
		conv1.Stride, conv1.Dilation, conv1.Pad = [2]int{1, 2}, [2]int{2, 1}, [4]int{2, 1, 2, 1}
		conv2.Group, conv2.WShape, conv2.W = 2, []int{c2, c1 / 2, 3, 3}, vec(c2*c1/2*9, 0.35)
		pool = &graph.Node{Name: "pool1", Op: graph.AvgPool, Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Pad: [4]int{1, 1, 1, 1}}
		hw = 4 * 2 // conv1 8×4 → pool 4×2
	}
	return &graph.Model{InputShape: []int{2, 8, 8}, Nodes: []*graph.Node{
		conv1, {Name: "relu1", Op: graph.ReLU}, pool,
		conv2, {Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{8, c2 * hw}, W: vec(8*c2*hw, 0.2), B: vec(8, 0.1)},
		{Name: "relu3", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, WShape: []int{3, 8}, W: vec(24, 0.5), B: vec(3, 0.1)},
	}}
}

// clipped returns the reference the rates converge to: every hidden ReLU
// replaced by Clip(0, 1) (an IF neuron cannot spike more than once a step).
func clipped(m *graph.Model) *graph.Model {
	c := m.Clone()
	for _, l := range c.Nodes {
		if l.Op == graph.ReLU {
			l.Op, l.Min, l.Max = graph.Clip, 0, 1
		}
	}
	return c
}

// TestRatesConverge checks the model of the package doc: after N steps the
// rate of every IF neuron is its (clipped) normalized activation. In the
// first layer the current is constant and |rate − a| ≤ 1/N + 1/N (one spike
// of float rounding over N additions). Deeper, each input rate's error
// (≤ 1/N per input, times |w|), the gate's transient (the winner changes a
// few times) and spikes fired before negative inputs caught up add up to a
// few spikes: we allow |rate − a| ≤ 1/N + tolDeep with tolDeep = 3/N (the
// worst seen is 1.5/N), and the output potential V/N within the same bound
// of the raw output. A MaxPool gate's count equals the max of its window's
// counts exactly.
func TestRatesConverge(t *testing.T) {
	const N = 4000
	const tolDeep = 3.0 / N
	r := rand.New(rand.NewPCG(3, 4))
	for variant := range 2 {
		m := randomNet(r, variant)
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		s, err := ratecode.New(m, ratecode.Config{Steps: N, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := nn.New(clipped(m), 1)
		if err != nil {
			t.Fatal(err)
		}
		// Layer index in the graph of each rate layer's activation.
		act := map[string]int{}
		for i, l := range m.Nodes {
			act[l.Name] = i
			if i+1 < len(m.Nodes) && m.Nodes[i+1].Op == graph.ReLU {
				act[l.Name] = i + 1
			}
		}
		for sample := range 4 {
			x := make([]float32, 2*8*8)
			for i := range x {
				x[i] = r.Float32()
			}
			acts := map[int][]float32{}
			ref.Activations(x, 1, func(i int, out []float32) { acts[i] = append([]float32(nil), out...) })
			tr, err := s.Run(x)
			if err != nil {
				t.Fatal(err)
			}
			layers := s.Layers()
			if variant == 0 { // pool1 is a 2×2/2 MaxPool of conv1 (4×8×8)
				for c := range 4 {
					for o := range 16 {
						oy, ox := o/4, o%4
						m := int32(0)
						for k := range 4 {
							m = max(m, tr.Counts[0][c*64+(2*oy+k/2)*8+2*ox+k%2])
						}
						if got := tr.Counts[1][c*16+o]; got != m {
							t.Fatalf("gate %d,%d: %d spikes, window max %d", c, o, got, m)
						}
					}
				}
			}
			for li, l := range layers {
				a := acts[act[l.Name]]
				tol := 1.0/N + tolDeep
				if li == 0 {
					tol = 2.0 / N
				}
				worst := 0.0
				for k := range a {
					rate := float64(tr.Counts[li][k]) / N
					if l.Output {
						rate = float64(tr.Potential[k]) / N
					}
					worst = max(worst, math.Abs(rate-float64(a[k])))
				}
				if worst > tol {
					t.Errorf("variant %d sample %d layer %s: max |rate − a| = %.5f > %.5f", variant, sample, l.Name, worst, tol)
				}
				if sample == 0 {
					t.Logf("variant %d layer %-6s %-7v max |rate − a| = %.5f (N = %d)", variant, l.Name, l.Kind, worst, N)
				}
			}
		}
		ref.Close()
	}
}

// TestDeterministic: the summary does not depend on the number of workers.
func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := randomNet(r, 0)
	const n = 9
	x := make([]float32, n*2*8*8)
	for i := range x {
		x[i] = r.Float32()
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(r.IntN(3))
	}
	var sums []*ratecode.Summary
	for _, w := range []int{1, 3} {
		s, err := ratecode.New(m, ratecode.Config{Steps: 120, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := s.Evaluate(x, n, labels)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	if d := diff(sums[0], sums[1]); d != "" {
		t.Errorf("1 vs 3 workers \n%s", d)
	}
}

// TestNoAllocPerSample: once the workers exist, Evaluate allocates only its
// per-call bookkeeping, not per sample.
func TestNoAllocPerSample(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r := rand.New(rand.NewPCG(7, 8))
	s, err := ratecode.New(randomNet(r, 0), ratecode.Config{Steps: 50, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 16*2*8*8)
	for i := range x {
		x[i] = r.Float32()
	}
	one := testing.AllocsPerRun(5, func() { s.Evaluate(x[:2*8*8], 1, nil) })
	many := testing.AllocsPerRun(5, func() { s.Evaluate(x, 16, nil) })
	if many > one {
		t.Errorf("Evaluate allocates %.0f times for 16 samples, %.0f for 1: allocations per sample", many, one)
	}
}

func TestErrors(t *testing.T) {
	good := twoLayer()
	if _, err := ratecode.New(nil, ratecode.Config{}); err == nil {
		t.Error("nil model: no error")
	}
	for _, c := range []struct {
		cfg  ratecode.Config
		want string
	}{
		{ratecode.Config{Steps: -1}, "steps -1"},
		{ratecode.Config{Steps: ratecode.MaxSteps + 1}, "steps"},
		{ratecode.Config{Steps: 10, Checkpoints: []int{11}}, "checkpoint 11"},
		{ratecode.Config{Steps: 10, Checkpoints: []int{0}}, "checkpoint 0"},
	} {
		if _, err := ratecode.New(good, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want one containing %q", c.cfg, err, c.want)
		}
	}
	bad := func(f func(m *graph.Model)) *graph.Model {
		m := twoLayer()
		f(m)
		return m
	}
	for name, m := range map[string]*graph.Model{
		"no ReLU": bad(func(m *graph.Model) { m.Nodes[2].Op = graph.Dropout }),
		"Clip(-1,1)": bad(func(m *graph.Model) {
			m.Nodes[2].Op, m.Nodes[2].Min, m.Nodes[2].Max = graph.Clip, -1, 1
		}),
		"BatchNorm": bad(func(m *graph.Model) {
			m.Nodes = append(m.Nodes[:2], append([]*graph.Node{{Name: "bn", Op: graph.BatchNorm,
				Gamma: []float32{1}, Beta: []float32{0}, Mean: []float32{0}, Var: []float32{1}}}, m.Nodes[2:]...)...)
		}),
		"pool first": bad(func(m *graph.Model) {
			m.Nodes = append([]*graph.Node{{Name: "p", Op: graph.MaxPool, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}}}, m.Nodes...)
		}),
		"NaN weight": bad(func(m *graph.Model) { m.Nodes[1].W[0] = float32(math.NaN()) }),
		"shape":      bad(func(m *graph.Model) { m.Nodes[1].WShape = []int{1, 3} }),
		"no layers":  {InputShape: []int{1, 1, 1}},
		"LeakyReLU": bad(func(m *graph.Model) {
			m.Nodes[2].Op, m.Nodes[2].Alpha = graph.LeakyReLU, 0.01
		}),
	} {
		if _, err := ratecode.New(m, ratecode.Config{}); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}

	s, err := ratecode.New(good, ratecode.Config{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		x      []float32
		n      int
		labels []int32
	}{
		"short":     {[]float32{1}, 1, nil},
		"long":      {[]float32{1, 2, 3}, 1, nil},
		"zero":      {nil, 0, nil},
		"NaN":       {[]float32{1, float32(math.NaN())}, 1, nil},
		"Inf":       {[]float32{float32(math.Inf(1)), 0}, 1, nil},
		"labels":    {[]float32{1, 1}, 1, []int32{0, 1}},
		"two short": {[]float32{1, 1, 1}, 2, nil},
	} {
		if _, err := s.Evaluate(c.x, c.n, c.labels); !errors.Is(err, ratecode.ErrInput) {
			t.Errorf("%s: error %v, want ErrInput", name, err)
		}
	}
	if _, err := s.Run([]float32{float32(math.NaN()), 0}); !errors.Is(err, ratecode.ErrInput) {
		t.Errorf("Run NaN: error %v, want ErrInput", err)
	}
}
