package snn

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/graphtest"
)

// TestConvertResidual: a residual block converts to one Sum layer with two
// input groups: the identity and conv2's weights, both from relu1's layer
// (SPEC §7). With AnalogFirst, conv1 is analog; a second reader of the
// model input is refused naming it (CheckConvertible says the same).
func TestConvertResidual(t *testing.T) {
	n, err := Convert(graphtest.Residual(), Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Layers) != 3 || n.Layers[1].Kind != Sum || len(n.Layers[1].Groups) != 2 || n.Layers[1].Name != "add1" {
		t.Fatalf("layers %s, want conv1, add1 (Sum, 2 groups), fc", describe(n))
	}
	g := n.Layers[1].Groups
	// add1 = relu1 + conv2(relu1): both groups read conv1's layer, with
	// no delay (the delays are tested on the random DAGs).
	if g[0].From != 0 || g[0].Kind != Identity || g[0].Delay != 0 || g[1].From != 0 || g[1].Kind != Conv || g[1].Delay != 0 {
		t.Errorf("groups %+v, want the identity and conv2, both from layer 0 without delay", g)
	}
	if taus := n.Taus(); taus[1] != 4 || taus[2] != 8 {
		t.Errorf("τ = %v, want [0 4 8]", taus)
	}
	// With an analog first layer, conv1 is analog and both groups read
	// its outputs, the input spikes (source −1).
	na, err := Convert(graphtest.Residual(), Config{Tmax: 4, AnalogFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	if !na.Layers[0].Analog || na.Layers[1].Kind != Sum || na.Layers[1].Groups[0].From != -1 || na.Layers[1].Groups[1].From != -1 {
		t.Errorf("analog: layers %s, want conv1 analog and add1 reading the input spikes", describe(na))
	}
	// A node other than the analog layer reading the model input is refused.
	m := graphtest.Residual()
	m.Nodes[2] = graphtest.Conv("conv2", 1, 2)
	m.Nodes[2].Inputs = []int{graph.ModelInput}
	cfg := Config{Tmax: 4, AnalogFirst: true}
	_, err = Convert(m, cfg)
	var ce *ConvertError
	if !errors.As(err, &ce) || ce.Layer != 2 || !strings.Contains(err.Error(), "not supported for branching networks yet") {
		t.Errorf("analog, input read twice: %v, want a *ConvertError naming node 2", err)
	}
	if err2 := CheckConvertible(m, cfg); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("analog: CheckConvertible %v, Convert %v", err2, err)
	}
	if err := n.CheckChain("test"); !errors.Is(err, graph.ErrBranching) || !strings.Contains(err.Error(), `layer 1 "add1"`) {
		t.Errorf("CheckChain: %v", err)
	}
}

// TestConvertSignedPair: a sum without ReLU that is not the output (a
// linear bottleneck) becomes a signed pair: add1 (relu(z)) and add1⁻
// (relu(−z), negated weights and bias, same sources and window), and its
// reader gets both, with W and −W. A MaxPool on it is refused naming the
// node.
func TestConvertSignedPair(t *testing.T) {
	m := graphtest.Residual()
	m.Nodes = append(m.Nodes[:4], m.Nodes[5:]...) // drop relu2
	for i := range m.Nodes[5].W {
		m.Nodes[5].W[i] = 0.25
	}
	n, err := Convert(m, Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Layers) != 4 || n.Layers[1].Name != "add1" || n.Layers[2].Name != "add1"+NegSuffix || n.Signed != 2*72 {
		t.Fatalf("layers %s, signed %d; want conv1, add1, add1⁻, fc and 144 signed neurons", describe(n), n.Signed)
	}
	pos, neg, fc := n.Layers[1], n.Layers[2], n.Layers[3]
	if len(neg.Groups) != 2 || neg.Groups[0].From != 0 || neg.Groups[0].W[0] != -pos.Groups[0].W[0] || neg.Groups[1].W[0] != -pos.Groups[1].W[0] ||
		n.Taus()[2] != n.Taus()[1] || !neg.Rectify || !pos.Rectify {
		t.Errorf("negative half %+v, want the positive half's groups negated, in the same window", neg.Groups)
	}
	if len(fc.Groups) != 2 || fc.Groups[0].From != 1 || fc.Groups[1].From != 2 || fc.Groups[1].W[0] != -fc.Groups[0].W[0] {
		t.Errorf("fc groups %+v, want W from add1 and −W from add1⁻", fc.Groups)
	}
	mp := graphtest.Residual()
	mp.Nodes[4] = &graph.Node{Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}
	mp.Nodes[6].W, mp.Nodes[6].WShape = make([]float32, 3*18), []int{3, 18}
	_, err = Convert(mp, Config{Tmax: 4})
	var ce *ConvertError
	if !errors.As(err, &ce) || ce.Name != "pool" || !strings.Contains(err.Error(), "signed pair") {
		t.Errorf("MaxPool on a signed pair: %v, want a *ConvertError naming \"pool\"", err)
	}
}

// TestConvertRefusesAnnOnly: every ANN-only op is refused with a
// *ConvertError naming the node and giving Op.AnnOnly's reason.
func TestConvertRefusesAnnOnly(t *testing.T) {
	m := graphtest.Tanh()
	_, err := Convert(m, Config{Tmax: 4})
	var ce *ConvertError
	if !errors.As(err, &ce) || ce.Layer != 1 || ce.Name != "tanh1" || ce.Op != graph.Tanh ||
		!strings.Contains(err.Error(), `node 1 "tanh1" (Tanh)`) || !strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("Tanh: %v, want a *ConvertError for node 1 \"tanh1\" with the ANN-only reason", err)
	}
	for _, op := range []graph.Op{graph.Sigmoid, graph.HardSigmoid, graph.HardSwish, graph.SiLU} {
		m := graphtest.Tanh()
		m.Nodes[1] = &graph.Node{Name: "act", Op: op, Alpha: 0.2, Bias: 0.5}
		_, err := Convert(m, Config{Tmax: 4})
		if !errors.As(err, &ce) || ce.Layer != 1 || ce.Op != op || !strings.Contains(err.Error(), op.AnnOnly()) {
			t.Errorf("%v: %v, want a *ConvertError for node 1 with the ANN-only reason", op, err)
		}
	}
}

// TestConvertReshape: Reshape is structure only, as Flatten.
func TestConvertReshape(t *testing.T) {
	m := graphtest.Residual()
	m.Nodes = []*graph.Node{graphtest.Conv("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU},
		{Name: "reshape", Op: graph.Reshape, Shape: []int{72}}, m.Nodes[6]}
	n, err := Convert(m, Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Layers) != 2 || n.Layers[1].Kind != Linear || n.Layers[1].InShape[0] != 72 {
		t.Errorf("layers %v, want conv1 and fc reading 72 values", n.Layers)
	}
}

// TestConvertAffineElsewhere: an Affine (a constant Mul/Add, an unfolded
// BatchNorm) that is not the input transform is refused naming it, with
// or without AnalogFirst; a per-element input transform too.
func TestConvertAffineElsewhere(t *testing.T) {
	mid := graphtest.Tanh()
	mid.Nodes[1] = &graph.Node{Name: "relu1", Op: graph.ReLU}
	mid.Nodes = append(mid.Nodes[:2], append([]*graph.Node{{Name: "scale", Op: graph.Affine, Scale: []float32{2, 2}, Shift: []float32{0, 0}}}, mid.Nodes[2:]...)...)
	perElem := graphtest.Tanh()
	perElem.Nodes[1] = &graph.Node{Name: "relu1", Op: graph.ReLU}
	perElem.Nodes = append([]*graph.Node{{Name: "pre", Op: graph.Affine, Scale: make([]float32, 36), Shift: make([]float32, 36)}}, perElem.Nodes...)
	for _, tc := range []struct {
		name string
		m    *graph.Model
		node int
	}{{"after conv1", mid, 2}, {"per element", perElem, 0}} {
		for _, analog := range []bool{false, true} {
			_, err := Convert(tc.m, Config{Tmax: 4, AnalogFirst: analog})
			var ce *ConvertError
			if !errors.As(err, &ce) || ce.Layer != tc.node || ce.Op != graph.Affine || !strings.Contains(err.Error(), "not supported yet") {
				t.Errorf("%s, analog %v: %v, want a *ConvertError for node %d", tc.name, analog, err, tc.node)
			}
		}
	}
}

// TestConvertNoActivation: a net without any activation does not convert
// (the hidden layer would carry negative values).
func TestConvertNoActivation(t *testing.T) {
	m := graphtest.Tanh()
	m.Nodes = append(m.Nodes[:1], m.Nodes[2:]...)
	_, err := Convert(m, Config{Tmax: 4})
	var ce *ConvertError
	if !errors.As(err, &ce) || ce.Name != "conv1" || !strings.Contains(err.Error(), "not followed by ReLU") {
		t.Errorf("%v, want conv1 not followed by ReLU", err)
	}
}

// TestDAGJSONAndValidate: a branching network round-trips through JSON
// (groups, delays) and simulates identically; corrupted groups are
// refused by Validate with a ValidationError naming the layer, never a
// panic.
func TestDAGJSONAndValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 16))
	var f dagFeatures
	for it := 0; it < 40; it++ {
		rn := randomDAG(rng, &f)
		n, err := Convert(rn.m, rn.cfg)
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
			t.Fatalf("net %d: read back: %v", it, err)
		}
		x := randomInput(rng, n)
		r1, r2 := simulateAll(t, n, x), simulateAll(t, &back, x)
		if diff := diffResults(r1, r2); diff != "" {
			t.Fatalf("net %d: read back simulates differently: %s", it, diff)
		}
		// Corrupt one group of the first layer that has groups.
		li := slices.IndexFunc(n.Layers, func(l *Layer) bool { return len(l.Groups) > 0 })
		for k, corrupt := range []func(g *Group, l *Layer){
			func(g *Group, l *Layer) { g.From = li },
			func(g *Group, l *Layer) { g.From = -2 },
			func(g *Group, l *Layer) { g.From = 1 << 40 },
			func(g *Group, l *Layer) { g.Delay++ },
			func(g *Group, l *Layer) { g.Delay = -1 },
			func(g *Group, l *Layer) { g.InShape = []int{1 << 40, 1 << 40, 1 << 40} },
			func(g *Group, l *Layer) { g.InShape = nil },
			func(g *Group, l *Layer) {
				switch {
				case len(g.W) > 0:
					g.W = g.W[:len(g.W)-1]
				case g.Kind == AvgPool:
					g.PoolW = nil
				default:
					g.Kernel = [2]int{}
				}
			},
			func(g *Group, l *Layer) { g.Kind = Sum },
			func(g *Group, l *Layer) { g.Kind = Kind(99) },
			func(g *Group, l *Layer) {
				if l.Kind == Sum {
					g.Kind = MaxPool
				} else {
					g.Kind = Conv
				}
			},
			func(g *Group, l *Layer) { l.W = []float32{1} },
			func(g *Group, l *Layer) { l.Groups = append(l.Groups, *g); l.Groups[len(l.Groups)-1].W = nil },
			func(g *Group, l *Layer) {
				if len(g.W) > 0 {
					g.W[0] = float32(math.NaN())
				} else {
					g.Kind = Kind(0)
				}
			},
		} {
			var c Network
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			l := c.Layers[li]
			corrupt(&l.Groups[0], l)
			err := c.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || (ve.Layer != li && ve.Layer != -1) {
				t.Errorf("net %d corruption %d: %v, want a ValidationError for layer %d", it, k, err, li)
			}
		}
	}
}

// TestDAGNoAllocs: on branching networks too (Sum layers, delays, signed
// pairs, Concat groups), Simulate allocates nothing once the result has
// been sized, and the summary does not depend on the worker count.
func TestDAGNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 16))
	var f dagFeatures
	for it := 0; it < 20; it++ {
		rn := randomDAG(rng, &f)
		n, err := Convert(rn.m, rn.cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := NewSim(n, 1)
		w := s.NewWorker()
		x := append(randomInput(rng, n), randomInput(rng, n)...)
		in := len(x) / 2
		var r SampleResult
		w.Simulate(x[:in], &r)
		i := 0
		if a := testing.AllocsPerRun(5, func() {
			i++
			w.Simulate(x[i%2*in:(i%2+1)*in], &r)
		}); a != 0 {
			t.Fatalf("net %d (%s): Simulate allocates %v times per sample", it, describe(n), a)
		}
		s3, _ := NewSim(n, 3)
		a, _ := s.Evaluate(x, 2, nil)
		b, _ := s3.Evaluate(x, 2, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("net %d: summary differs with 3 workers", it)
		}
	}
}

// TestDAGWindows: a branching network takes one T for all spiking
// layers; per-layer windows that differ are refused with a clear error,
// and equal ones work.
func TestDAGWindows(t *testing.T) {
	if _, err := Convert(graphtest.Residual(), Config{TmaxLayers: []int{4, 8, 4}}); err == nil || !strings.Contains(err.Error(), "one T for all spiking layers") {
		t.Errorf("per-layer windows: %v, want a refusal", err)
	}
	if _, err := Convert(graphtest.Residual(), Config{TmaxLayers: []int{4, 4}}); err == nil || !strings.Contains(err.Error(), "2 TmaxLayers for 3 spiking layers") {
		t.Errorf("two windows for three layers: %v", err)
	}
	n, err := Convert(graphtest.Residual(), Config{TmaxLayers: []int{8, 8, 8}})
	if err != nil || n.Layers[2].T != 8 || n.EndStep() != 32 {
		t.Errorf("equal windows: %v", err)
	}
}
