package hw

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/graphtest"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/snn"
)

// deepResidualModel: input → conv1 → relu1 → conv2 → relu2 → conv3,
// add1 = relu1 + conv3 → relu3 → flatten → fc, with weights and biases
// multiples of 2^−6 in [−1, 1] (random from seed): the Sum layer's
// Identity group (weight 1) waits T steps for relu2, so it has a delay,
// and every weight is on the quantum the shared scale of the Sum layer
// picks, so the emulator is exact.
func deepResidualModel(seed uint64) *graph.Model {
	rng := rand.New(rand.NewPCG(seed, 7))
	dy := func(n int, k int) []float32 {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(rng.IntN(2*k+1)-k) / 64
		}
		return w
	}
	conv := func(name string, cin, cout int) *graph.Node {
		c := graphtest.Conv(name, cin, cout)
		c.W, c.B = dy(len(c.W), 12), dy(cout, 8)
		return c
	}
	return &graph.Model{Name: "residual2", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		conv("conv1", 1, 2),
		{Name: "relu1", Op: graph.ReLU},
		conv("conv2", 2, 2),
		{Name: "relu2", Op: graph.ReLU},
		conv("conv3", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 4}},
		{Name: "relu3", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: dy(3*72, 20), B: dy(3, 8), WShape: []int{3, 72}},
	}}
}

// TestDAGEmulatorMatchesOracle: on residual networks the profile
// represents exactly, the emulator gives the oracle's spike times, classes
// and counters (delayed synapses included), with no saturation, whether the
// shortcut's delay is a synaptic delay (Loihi 1, max 62) or goes through
// relay neurons (a test profile with max delay 1); the relays are counted
// apart, per layer, and do not change the spike times.
func TestDAGEmulatorMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for it := range 6 {
		m := deepResidualModel(uint64(it))
		n, err := snn.Convert(m, snn.Config{Tmax: 1 << (1 + it%3)})
		if err != nil {
			t.Fatal(err)
		}
		if !n.Branching() {
			t.Fatal("not a branching network")
		}
		or, err := snn.NewOracle(n)
		if err != nil {
			t.Fatal(err)
		}
		small := Loihi1()
		small.MaxDelay = 1
		for _, p := range []*Profile{Loihi1(), Loihi2(), small} {
			q, err := Quantize(n, p)
			if err != nil {
				t.Fatalf("net %d %s: %v", it, p.Name, err)
			}
			for li, il := range q.Layers {
				if il != nil && (il.Report.MaxAbsErr != 0 || il.Report.MaxBiasErr != 0) {
					t.Fatalf("net %d layer %d: weights not exact (%g, %g)", it, li, il.Report.MaxAbsErr, il.Report.MaxBiasErr)
				}
			}
			e, err := NewEmulator(q)
			if err != nil {
				t.Fatal(err)
			}
			w := e.NewWorker()
			var got, want snn.SampleResult
			var relaySpikes, delayed int64
			for s := range 8 {
				x := make([]float32, 36)
				for k := range x {
					x[k] = rng.Float32()
				}
				if err := w.Simulate(x, &got); err != nil {
					t.Fatal(err)
				}
				if err := or.Simulate(x, &want); err != nil {
					t.Fatal(err)
				}
				for li := range n.Layers {
					if !slices.Equal(got.Times[li], want.Times[li]) {
						t.Fatalf("net %d %s sample %d layer %d: spike times\n got %v\nwant %v", it, p.Name, s, li, got.Times[li], want.Times[li])
					}
					if got.Stats[li] != want.Stats[li] {
						t.Fatalf("net %d %s sample %d layer %d: stats\n got %+v\nwant %+v", it, p.Name, s, li, got.Stats[li], want.Stats[li])
					}
					sat := w.Sat[li]
					if sat.CurrentSat+sat.VoltageSat+sat.RectifierFail != 0 {
						t.Fatalf("net %d layer %d: saturation %+v", it, li, sat)
					}
					relaySpikes += sat.DelayRelaySpikes
					delayed += got.Stats[li].DelayedSynapses
					if sat.DelayRelayEvents != sat.DelayRelaySpikes {
						t.Fatalf("relay events %d, spikes %d", sat.DelayRelayEvents, sat.DelayRelaySpikes)
					}
				}
				if got.Class != want.Class || got.Tie != want.Tie || got.Steps != want.Steps || got.FirstSpike != want.FirstSpike {
					t.Fatalf("net %d sample %d: class %d, want %d", it, s, got.Class, want.Class)
				}
			}
			if delayed == 0 {
				t.Fatalf("net %d: no delayed synapse", it)
			}
			// The Sum layer reads relu1 (2×6×6 neurons) with delay T:
			// T−1 relays per neuron with max delay 1, none otherwise.
			sum := slices.IndexFunc(n.Layers, func(l *snn.Layer) bool { return l.Kind == snn.Sum })
			if sum < 0 {
				t.Fatal("no Sum layer")
			}
			wantRelays := 0
			if p == small {
				wantRelays = (n.Layers[sum].T - 1) * 72
			}
			if q.GroupRelayNeurons != wantRelays || q.GroupRelays[sum] != wantRelays || (wantRelays > 0) != (relaySpikes > 0) {
				t.Errorf("net %d %s: %d delay relays (%v), %d relay spikes; want %d", it, p.Name, q.GroupRelayNeurons, q.GroupRelays, relaySpikes, wantRelays)
			}
			pl, err := MapNetwork(q)
			if err != nil {
				t.Fatalf("net %d %s: map: %v", it, p.Name, err)
			}
			checkPlan(t, q, pl)
			if pl.DelayRelayNeurons != wantRelays {
				t.Errorf("plan: %d delay relay neurons, want %d", pl.DelayRelayNeurons, wantRelays)
			}
		}
	}
}

// TestResidualZoo: an (untrained) ResNet-20 of width 0.25 converts to a
// branching network that Quantize, Emulate and MapNetwork take: the
// emulator's classes agree with the float simulator's on ≥ 90 % of random
// inputs (weights off the quantum: not exact), and with a small maximum
// delay the shortcut delays become counted relay neurons that the plan
// places on cores, with the same classes.
func TestResidualZoo(t *testing.T) {
	m, err := nn.Zoo("resnet20", []int{1, 12, 12}, 4, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	nn.Init(m, 1)
	s, err := graph.Simplify(m)
	if err != nil {
		t.Fatal(err)
	}
	n, err := snn.Convert(s, snn.Config{Tmax: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Branching() {
		t.Fatal("resnet20 converted to a chain")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const samples = 16
	x := make([]float32, samples*144)
	for k := range x {
		x[k] = rng.Float32()
	}
	small := Loihi2()
	small.MaxDelay = 4
	var classes [][]int
	for _, p := range []*Profile{Loihi1(), small} {
		q, sum, err := Emulate(n, p, x, samples, nil, 2)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if sum.Agree*10 < sum.Samples*9 {
			t.Errorf("%s: classes agree on %d of %d samples, want ≥ 90 %%", p.Name, sum.Agree, sum.Samples)
		}
		var relaySpikes int64
		for _, st := range sum.Sat {
			relaySpikes += st.DelayRelaySpikes
		}
		if (p == small) != (q.GroupRelayNeurons > 0) || (q.GroupRelayNeurons > 0) != (relaySpikes > 0) {
			t.Errorf("%s: %d delay relays, %d relay spikes", p.Name, q.GroupRelayNeurons, relaySpikes)
		}
		pl, err := MapNetwork(q)
		if err != nil {
			t.Fatalf("%s: map: %v", p.Name, err)
		}
		checkPlan(t, q, pl)
		if pl.DelayRelayNeurons != q.GroupRelayNeurons {
			t.Errorf("%s: plan has %d delay relays, quantization %d", p.Name, pl.DelayRelayNeurons, q.GroupRelayNeurons)
		}
		if _, err := Estimate(q, pl, sum); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d cores, %d delay relays, agreement %d/%d", p.Name, pl.Cores, q.GroupRelayNeurons, sum.Agree, sum.Samples)
		e, _ := NewEmulator(q)
		w := e.NewWorker()
		var r snn.SampleResult
		var cl []int
		for k := range samples {
			if err := w.Simulate(x[k*144:(k+1)*144], &r); err != nil {
				t.Fatal(err)
			}
			cl = append(cl, r.Class)
		}
		classes = append(classes, cl)
	}
	// Relays change no spike time: the same classes with and without.
	if !slices.Equal(classes[0], classes[1]) {
		t.Errorf("classes differ with delay relays: %v vs %v", classes[0], classes[1])
	}
}

// TestRefusesANNOnly: snn.Convert refuses an ANN-only op naming the node,
// and the chain part of the residual network still goes through.
func TestRefusesANNOnly(t *testing.T) {
	_, err := snn.Convert(graphtest.Tanh(), snn.Config{Tmax: 4})
	var ce *snn.ConvertError
	if !errors.As(err, &ce) || ce.Name != "tanh1" || !strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("tanh: %v, want a *snn.ConvertError naming \"tanh1\"", err)
	}
	m := graphtest.Residual()
	m.Nodes = []*graph.Node{m.Nodes[0], m.Nodes[1], {Name: "reshape", Op: graph.Reshape, Shape: []int{72}}, m.Nodes[6]}
	n, err := snn.Convert(m, snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Emulate(n, Loihi1(), make([]float32, 36), 1, []int32{0}, 1); err != nil {
		t.Error(err)
	}
	// The residual network itself is taken.
	dag, err := snn.Convert(graphtest.Residual(), snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Emulate(dag, Loihi1(), make([]float32, 36), 1, []int32{0}, 1); err != nil {
		t.Error(err)
	}
}
