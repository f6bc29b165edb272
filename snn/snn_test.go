package snn

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// simulateAll runs x on both simulators, checks that they agree, and
// returns the result.
func simulateAll(t *testing.T, n *Network, x []float32) *SampleResult {
	t.Helper()
	var first *SampleResult
	for _, sim := range simulators {
		f, err := sim.new(n)
		if err != nil {
			t.Fatal(err)
		}
		r := &SampleResult{}
		if err := f(x, r); err != nil {
			t.Fatalf("%s: %v", sim.name, err)
		}
		if first == nil {
			first = r
		} else if d := diffResults(first, r); d != "" {
			t.Fatalf("Oracle vs %s: %s", sim.name, d)
		}
	}
	return first
}

// figure1 is the paper's Figure 1: two inputs, two neurons computing
// max(0, x1 − x2) and max(0, x2 − x1).
func figure1() *graph.Model {
	return &graph.Model{Name: "figure1", InputShape: []int{2, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 2}, W: []float32{1, -1, -1, 1}},
		{Name: "relu", Op: graph.ReLU},
	}}
}

func TestFigure1(t *testing.T) {
	// T = 4: the inputs fire at s = 4 − round(3) = 1 and 4 − round(1) = 3.
	// Neuron 0: U = 1·(4−1) − 1·(4−3) = 2, fires k = ⌈3.5 − 2⌉ = 2 steps after
	// the readout at 4, at step 6: value (4−2)/4 = 0.5. Neuron 1: U = −2,
	// ⌈3.5 + 2⌉ = 6 > T, so the rectifier fires it at 2T = 8: value 0.
	// T = 8: s = 2 and 6, U = ±4, spikes at 8 + ⌈7.5 − 4⌉ = 12 and 16.
	// Truncate (θ = T) gives the same steps here (U is an integer).
	for _, tc := range []struct {
		T     int
		mode  Threshold
		times []int32
	}{
		{4, Round, []int32{6, 8}},
		{4, Truncate, []int32{6, 8}},
		{8, Round, []int32{12, 16}},
		{8, Truncate, []int32{12, 16}},
	} {
		n, err := Convert(figure1(), Config{Tmax: tc.T, Threshold: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Layers[0].Counter; !reflect.DeepEqual(got, []float32{1, 1}) {
			t.Errorf("counterweights %v, want [1 1]", got)
		}
		r := simulateAll(t, n, []float32{0.75, 0.25})
		T := int32(tc.T)
		if want := []int32{T - int32(math.Round(0.75*float64(T))), T - int32(math.Round(0.25*float64(T)))}; !reflect.DeepEqual(r.Input, want) {
			t.Errorf("T=%d: input spikes %v, want %v", tc.T, r.Input, want)
		}
		if !reflect.DeepEqual(r.Times[0], tc.times) {
			t.Errorf("T=%d %v: spikes %v, want %v", tc.T, tc.mode, r.Times[0], tc.times)
		}
		if v := float64(2*T-r.Times[0][0]) / float64(T); v != 0.5 {
			t.Errorf("T=%d: output 1 decodes to %v, want 0.5", tc.T, v)
		}
		if r.Class != 0 || r.Tie || r.FirstSpike != tc.times[0] || r.Steps != 2*T+1 {
			t.Errorf("T=%d: class %d tie %v first %d steps %d, want 0 false %d %d", tc.T, r.Class, r.Tie, r.FirstSpike, r.Steps, tc.times[0], 2*T+1)
		}
		want := LayerStats{Spikes: 2, SynEvents: 4, ReadoutEvents: 2, RectifierEvents: 2, CurrentUpdates: 8, Rectified: 1}
		if r.Stats[0] != want {
			t.Errorf("T=%d: stats %+v, want %+v", tc.T, r.Stats[0], want)
		}
	}
}

// TestRoundHalf fixes the tie direction: a potential exactly at .5 rounds
// up with θ = T − ½ and down with θ = T.
func TestRoundHalf(t *testing.T) {
	m := &graph.Model{InputShape: []int{1, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{1, 1}, W: []float32{0.625}},
		{Name: "relu", Op: graph.ReLU},
	}}
	// T = 4, x = 1 fires at s = 0: U = 0.625·4 = 2.5.
	for mode, wantQ := range map[Threshold]int32{Round: 3, Truncate: 2} {
		n, err := Convert(m, Config{Tmax: 4, Threshold: mode})
		if err != nil {
			t.Fatal(err)
		}
		r := simulateAll(t, n, []float32{1})
		if q := 8 - r.Times[0][0]; q != wantQ {
			t.Errorf("%v: U = 2.5 decodes to %d/4, want %d/4", mode, q, wantQ)
		}
	}
}

// TestMetricsByHand checks every counter on a small network worked out by
// hand: conv 3×3 with padding 1 (edge neurons have fewer synapses), relu,
// maxpool 2 stride 1, linear 4→2 (output, no rectifier).
func TestMetricsByHand(t *testing.T) {
	conv := &graph.Node{Name: "conv", Op: graph.Conv, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1},
		Dilation: [2]int{1, 1}, Group: 1, WShape: []int{1, 1, 3, 3}, W: make([]float32, 9), B: []float32{0.25}}
	for i := range conv.W {
		conv.W[i] = 0.125
	}
	m := &graph.Model{InputShape: []int{1, 3, 3}, Nodes: []*graph.Node{
		conv, {Name: "relu", Op: graph.ReLU},
		{Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 4}, W: []float32{0.5, 0.5, 0.5, 0.5, -0.5, -0.5, -0.5, -0.5}},
	}}
	n, err := Convert(m, Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Counterweights 1 − b − Σw: corners have 4 synapses, edges 6, centre 9.
	c, e, z := float32(0.25), float32(0), float32(-0.375)
	if got, want := n.Layers[0].Counter, []float32{c, e, c, e, z, e, c, e, c}; !reflect.DeepEqual(got, want) {
		t.Errorf("conv counterweights %v, want %v", got, want)
	}
	if got, want := n.Layers[2].Counter, []float32{-1, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("fc counterweights %v, want %v", got, want)
	}
	x := []float32{.5, .5, .5, .5, .5, .5, .5, .5, .5} // every pixel fires at s = 2
	r := simulateAll(t, n, x)
	// Conv: U = 0.125·2·(synapses) + 0.25·4: corner 2, edge 2.5, centre 3.25;
	// no early spike (u(3) ≤ 1.875); spikes at 4 + ⌈3.5 − U⌉: 6, 5, 5.
	if want := []int32{6, 5, 6, 5, 5, 5, 6, 5, 6}; !reflect.DeepEqual(r.Times[0], want) {
		t.Errorf("conv spikes %v, want %v", r.Times[0], want)
	}
	// Every pool window holds an edge neuron: all relays fire at 5.
	if want := []int32{5, 5, 5, 5}; !reflect.DeepEqual(r.Times[1], want) {
		t.Errorf("relay spikes %v, want %v", r.Times[1], want)
	}
	// fc (τ = 4): inputs at local step 1 (q = 3). Neuron 0 has i = 2 from
	// step 5: u = 2, 4 at steps 6, 7 ≥ 3.5, an early spike at 7. Neuron 1:
	// U = −6 would fire at 8 + 10 = 18, after the end max(12, 7) = 12.
	if want := []int32{7, NoSpike}; !reflect.DeepEqual(r.Times[2], want) {
		t.Errorf("fc spikes %v, want %v", r.Times[2], want)
	}
	if r.Class != 0 || r.FirstSpike != 7 || r.Steps != 13 || r.Tie {
		t.Errorf("class %d first %d steps %d tie %v, want 0 7 13 false", r.Class, r.FirstSpike, r.Steps, r.Tie)
	}
	want := []LayerStats{
		// 49 synapses (7 valid rows × 7 valid columns); updates per neuron:
		// input step 2, bias step 0, readout 4, rectifier 8.
		{Spikes: 9, SynEvents: 49, BiasEvents: 9, ReadoutEvents: 9, RectifierEvents: 9, CurrentUpdates: 36},
		{Spikes: 4, SynEvents: 16},
		// updates: input step 5 and readout 8.
		{Spikes: 1, SynEvents: 8, ReadoutEvents: 2, CurrentUpdates: 4, Early: 1},
	}
	if !reflect.DeepEqual(r.Stats, want) {
		t.Errorf("stats\n got %+v\nwant %+v", r.Stats, want)
	}
	if nu, relay := n.Neurons(); nu != 11 || relay != 4 {
		t.Errorf("neurons %d, relay %d; want 11, 4", nu, relay)
	}
	if o := n.Omega(77); o != 77+2*11*4 {
		t.Errorf("Omega(77) = %v, want %v", o, 77+2*11*4)
	}
}

func TestTie(t *testing.T) {
	m := &graph.Model{InputShape: []int{1, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{3, 1}, W: []float32{0.25, 0.5, 0.5}},
	}}
	n, _ := Convert(m, Config{Tmax: 8})
	r := simulateAll(t, n, []float32{1})
	if r.Class != 1 || !r.Tie {
		t.Errorf("class %d tie %v, want 1 true", r.Class, r.Tie)
	}
}

// TestPerLayerT checks the folding of TOut/T into a layer whose next layer
// has another window: the spike k steps after the readout encodes
// round(v·TOut).
func TestPerLayerT(t *testing.T) {
	m := &graph.Model{InputShape: []int{1, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{1, 1}, W: []float32{0.75}},
		{Name: "relu", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, WShape: []int{1, 1}, W: []float32{1}},
	}}
	n, err := Convert(m, Config{TmaxLayers: []int{4, 16}})
	if err != nil {
		t.Fatal(err)
	}
	l := n.Layers[0]
	if l.T != 4 || l.TOut != 16 || l.Theta != 15.5 || l.W[0] != 3 {
		t.Fatalf("fc1: T %d TOut %d θ %v w %v; want 4 16 15.5 3", l.T, l.TOut, l.Theta, l.W[0])
	}
	r := simulateAll(t, n, []float32{1})          // v = 0.75 → 12/16
	if q := 0 + 4 + 16 - r.Times[0][0]; q != 12 { // τ + T + TOut − t
		t.Errorf("fc1 decodes to %d/16, want 12/16", q)
	}
	if q := 4 + 16 + 16 - r.Times[1][0]; q != 12 {
		t.Errorf("fc2 decodes to %d/16, want 12/16", q)
	}
}

func TestConvertErrors(t *testing.T) {
	base := func() *graph.Model { return figure1() }
	nan := base()
	nan.Nodes[1].W[0] = float32(math.NaN())
	bn := base()
	bn.Nodes = append(bn.Nodes[:2], append([]*graph.Node{{Name: "bn", Op: graph.BatchNorm, Gamma: []float32{1, 1}, Beta: []float32{0, 0}, Mean: []float32{0, 0}, Var: []float32{1, 1}}}, bn.Nodes[2:]...)...)
	unknown := base()
	unknown.Nodes = append(unknown.Nodes, &graph.Node{Name: "mystery", Op: graph.Op(99)})
	clip := base()
	clip.Nodes[2] = &graph.Node{Name: "clip", Op: graph.Clip, Min: -1, Max: 1}
	leaky := base()
	leaky.Nodes[2] = &graph.Node{Name: "leaky", Op: graph.LeakyReLU, Alpha: 0.01}
	shape := base()
	shape.InputShape = []int{3, 1, 1}
	noRelu := &graph.Model{InputShape: []int{2, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{2, 2}, W: []float32{1, 0, 0, 1}},
		{Name: "fc2", Op: graph.Linear, WShape: []int{2, 2}, W: []float32{1, 0, 0, 1}},
	}}
	for _, tc := range []struct {
		name string
		m    *graph.Model
		cfg  Config
		want string
	}{
		{"Tmax", base(), Config{Tmax: 0}, "Tmax = 0"},
		{"TmaxLayers", base(), Config{TmaxLayers: []int{4, 4}}, "2 TmaxLayers for 1 spiking layers"},
		{"NaN", nan, Config{Tmax: 4}, "non-finite"},
		{"BatchNorm", bn, Config{Tmax: 4}, `"bn" (BatchNorm): BatchNorm must be folded`},
		{"unknown op", unknown, Config{Tmax: 4}, `"mystery"`},
		{"clip", clip, Config{Tmax: 4}, `"clip" (Clip): Clip with Min = -1`},
		{"leaky", leaky, Config{Tmax: 4}, `node 2 "leaky" (LeakyReLU): LeakyReLU (alpha 0.01): not convertible to Quartz (ANN only): negative outputs need a second spike; retrain with ReLU`},
		{"input shape", shape, Config{Tmax: 4}, "features"},
		{"no relu", noRelu, Config{Tmax: 4}, `"fc1" (Linear): not followed by ReLU but feeds layer "fc2"`},
		{"analog", base(), Config{Tmax: 4, AnalogFirst: true}, "no spiking layer after the analog layer"},
		{"nil", nil, Config{Tmax: 4}, "nil model"},
	} {
		_, err := Convert(tc.m, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	var ce *ConvertError
	if _, err := Convert(bn, Config{Tmax: 4}); !errors.As(err, &ce) || ce.Layer != 2 {
		t.Errorf("BatchNorm: %v, want a *ConvertError for layer 2", err)
	}
	if _, err := Convert(leaky, Config{Tmax: 4}); !errors.As(err, &ce) || ce.Layer != 2 || ce.Name != "leaky" || ce.Op != graph.LeakyReLU {
		t.Errorf("LeakyReLU: %v, want a *ConvertError for layer 2 \"leaky\"", err)
	}
}

func TestSimulateBadInput(t *testing.T) {
	n, _ := Convert(figure1(), Config{Tmax: 4})
	for _, sim := range simulators {
		f, _ := sim.new(n)
		if err := f([]float32{1, 2, 3}, &SampleResult{}); err == nil {
			t.Errorf("%s: no error for 3 values", sim.name)
		}
	}
	s, _ := NewSim(n, 2)
	if err := s.Run(make([]float32, 3), 2, nil); err == nil {
		t.Error("Run: no error for too short data")
	}
}

// TestClamped: pixels outside [0, 1] are clamped and counted.
func TestClamped(t *testing.T) {
	n, _ := Convert(figure1(), Config{Tmax: 4})
	r := simulateAll(t, n, []float32{1.5, float32(math.NaN())})
	if r.Clamped != 2 || r.Input[0] != 0 || r.Input[1] != 4 {
		t.Errorf("clamped %d, input spikes %v; want 2, [0 4]", r.Clamped, r.Input)
	}
}

func TestAnalogFirst(t *testing.T) {
	m := &graph.Model{InputShape: []int{1, 1, 2}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{3, 2}, W: []float32{1, 0, 0, 1, 2, 2}, B: []float32{0, 0, 0.5}},
		{Name: "relu", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, WShape: []int{1, 3}, W: []float32{1, 1, 1}},
	}}
	n, err := Convert(m, Config{Tmax: 8, AnalogFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	// fc1 on (0.5, −2): (0.5, −2, −2.5) → relu → 0.5, 0, 0 → spikes 8−4, 8, 8.
	r := simulateAll(t, n, []float32{0.5, -2})
	if want := []int32{4, 8, 8}; !reflect.DeepEqual(r.Input, want) || r.Clamped != 0 {
		t.Errorf("input spikes %v clamped %d, want %v 0", r.Input, r.Clamped, want)
	}
	// (1, 1): (1, 1, 4.5) → the last is clamped to 1.
	r = simulateAll(t, n, []float32{1, 1})
	if want := []int32{0, 0, 0}; !reflect.DeepEqual(r.Input, want) || r.Clamped != 1 {
		t.Errorf("input spikes %v clamped %d, want %v 1", r.Input, r.Clamped, want)
	}
	if len(r.Times[0]) != 0 || len(r.Times[1]) != 1 {
		t.Errorf("times per layer %d, %d; want 0, 1", len(r.Times[0]), len(r.Times[1]))
	}
}

// TestAnalogForward checks the analog layer's kernel against a float64
// convolution with groups, strides, padding and dilation.
func TestAnalogForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 50; it++ {
		rn := randomModel(rng)
		var gl *graph.Node
		for _, l := range rn.m.Nodes {
			if l.Op == graph.Conv {
				gl = l
				break
			}
		}
		if gl == nil || gl != rn.m.Nodes[0] {
			continue
		}
		l := &Layer{Kind: Conv, InShape: gl.InShape, OutShape: gl.OutShape, Kernel: gl.Kernel, Stride: gl.Stride, Pad: gl.Pad,
			Dilation: gl.Dilation, Group: gl.Group, W: gl.W, WShape: gl.WShape, B: make([]float32, gl.WShape[0])}
		if gl.B != nil {
			l.B = gl.B
		}
		x := make([]float32, graph.Size(gl.InShape))
		x64 := make([]float64, len(x))
		for i := range x {
			x[i] = rng.Float32()*2 - 1
			x64[i] = float64(x[i])
		}
		a := newAnalogLayer(l)
		y := make([]float32, l.Size())
		a.forward(x, make([]float32, a.scratch()), y)
		want := refLinear(gl, x64, 1)
		for i := range y {
			if math.Abs(float64(y[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("net %d: y[%d] = %v, want %v", it, i, y[i], want[i])
			}
		}
	}
}

// TestJSONRoundTrip: a Network survives encoding/json, and Validate catches
// damaged files.
func TestJSONRoundTrip(t *testing.T) {
	n, err := Convert(lenetModel(3), Config{Tmax: 16})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var back Network
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n, &back) {
		t.Error("network differs after a JSON round trip")
	}
	if !strings.Contains(string(b), `"kind":"MaxPool"`) || !strings.Contains(string(b), `"threshold":"round"`) {
		t.Errorf("kinds and modes should be written by name: %.200s", b)
	}
	for _, tc := range []struct {
		name   string
		damage func(n *Network)
		want   string
	}{
		{"counterweight", func(n *Network) { n.Layers[0].Counter[5] += 0.5 }, "counterweight[5]"},
		{"weights", func(n *Network) { n.Layers[0].W = n.Layers[0].W[1:] }, "weight has"},
		{"NaN bias", func(n *Network) { n.Layers[2].B[0] = float32(math.NaN()) }, "bias[0]"},
		{"TOut", func(n *Network) { n.Layers[0].TOut = 8 }, "TOut"},
		{"theta", func(n *Network) { n.Layers[2].Theta = 16 }, "threshold"},
		{"shape", func(n *Network) { n.Layers[1].OutShape = []int{6, 11, 12} }, "output shape"},
		{"rectifier", func(n *Network) { n.Layers[0].Rectify = false }, "rectifier"},
		{"kind", func(n *Network) { n.Layers[1].Kind = 9 }, "invalid kind"},
		{"output", func(n *Network) { n.Layers[5].Output = false }, "output flag"},
		{"input", func(n *Network) { n.InShape = []int{1, 28} }, "input shape"},
	} {
		var d Network
		json.Unmarshal(b, &d)
		tc.damage(&d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate() = %v, want an ErrInvalid containing %q", tc.name, err, tc.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	n, _ := Convert(lenetModel(1), Config{Tmax: 16})
	s, _ := NewSim(n, 1)
	w := s.NewWorker()
	x := randomPixels(2, 3)
	var r SampleResult
	w.Simulate(x[:784], &r) // warm-up sizes r
	i := 0
	if a := testing.AllocsPerRun(20, func() {
		i++
		w.Simulate(x[i%2*784:(i%2+1)*784], &r)
	}); a != 0 {
		t.Errorf("Simulate allocates %v times per sample", a)
	}
}

// TestDeterministic: the summary does not depend on the worker count, and
// Run reports the same per-sample results as a lone Worker.
func TestDeterministic(t *testing.T) {
	n, _ := Convert(lenetModel(2), Config{Tmax: 8})
	const samples = 40
	x := randomPixels(samples, 4)
	labels := make([]int32, samples)
	var sums []*Summary
	for _, workers := range []int{1, 2, 3} {
		s, _ := NewSim(n, workers)
		sum, err := s.Evaluate(x, samples, labels)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	for i := 1; i < len(sums); i++ {
		if !reflect.DeepEqual(sums[0], sums[i]) {
			t.Errorf("summary with %d workers differs:\n%+v\n%+v", i+1, sums[0], sums[i])
		}
	}
	s, _ := NewSim(n, 2)
	classes := make([]int, samples)
	s.Run(x, samples, func(i int, r *SampleResult) { classes[i] = r.Class })
	w := s.NewWorker()
	var r SampleResult
	for i := range classes {
		w.Simulate(x[i*784:(i+1)*784], &r)
		if r.Class != classes[i] {
			t.Fatalf("sample %d: Run class %d, Worker %d", i, classes[i], r.Class)
		}
	}
	if sums[0].Samples != samples || sums[0].Total().Spikes == 0 {
		t.Errorf("summary %+v", sums[0])
	}
}

// TestNonDyadic: with arbitrary float weights the two simulators may differ
// only where a potential lies within float rounding of a threshold (SPEC
// §6); on the LeNet shape they should agree on (nearly) every spike.
func TestNonDyadic(t *testing.T) {
	n, _ := Convert(lenetModel(5), Config{Tmax: 16})
	o, _ := NewOracle(n)
	s, _ := NewSim(n, 1)
	w := s.NewWorker()
	x := randomPixels(5, 5)
	var ro, rs SampleResult
	var diff, total int
	for i := 0; i < 5; i++ {
		o.Simulate(x[i*784:(i+1)*784], &ro)
		w.Simulate(x[i*784:(i+1)*784], &rs)
		for li := range ro.Times {
			for j := range ro.Times[li] {
				total++
				if ro.Times[li][j] != rs.Times[li][j] {
					diff++
				}
			}
		}
	}
	t.Logf("%d of %d spike times differ with float weights", diff, total)
	if diff > total/1000 {
		t.Errorf("%d of %d spike times differ", diff, total)
	}
}
