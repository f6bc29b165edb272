package snn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// simulateFunc runs one sample; both simulators provide one.
type simulateFunc func(x []float32, r *SampleResult) error

// factory builds a simulator for a network.
type factory func(n *Network) (simulateFunc, error)

var simulators = []struct {
	name string
	new  factory
}{
	{"Oracle", func(n *Network) (simulateFunc, error) {
		o, err := NewOracle(n)
		if err != nil {
			return nil, err
		}
		return o.Simulate, nil
	}},
	{"Sim", func(n *Network) (simulateFunc, error) {
		s, err := NewSim(n, 1)
		if err != nil {
			return nil, err
		}
		return s.NewWorker().Simulate, nil
	}},
}

// suiteNets is the number of random networks of the conformance suite.
func suiteNets() int {
	if testing.Short() {
		return 150
	}
	return 1000
}

// TestConformance is the shared suite (like gonum's testblas): every
// simulator, on random dyadic networks, must give exactly the spike times,
// class and counters of the closed forms in expected(), and, in samples
// without early spikes, the layer-by-layer quantized ANN.
func TestConformance(t *testing.T) {
	for _, sim := range simulators {
		t.Run(sim.name, func(t *testing.T) {
			runConformance(t, sim.new)
		})
	}
}

func runConformance(t *testing.T, newSim factory) {
	rng := rand.New(rand.NewPCG(1, 2))
	var samples, withEarly, quantChecked int
	for it := 0; it < suiteNets(); it++ {
		rn := randomModel(rng)
		n, err := Convert(rn.m, rn.cfg)
		if err != nil {
			t.Fatalf("net %d: convert: %v", it, err)
		}
		sim, err := newSim(n)
		if err != nil {
			t.Fatalf("net %d: %v", it, err)
		}
		var r SampleResult
		for s := 0; s < 3; s++ {
			x := randomInput(rng, n)
			if err := sim(x, &r); err != nil {
				t.Fatal(err)
			}
			samples++
			if !n.Layers[0].Analog {
				tin := n.InputT()
				for i, v := range x {
					if want := int32(tin) - int32(math.Round(float64(v)*float64(tin))); r.Input[i] != want {
						t.Fatalf("net %d: input %d = %v fires at %d, want %d", it, i, v, r.Input[i], want)
					}
				}
			}
			want := expected(n, &r)
			if diff := diffResults(want, &r); diff != "" {
				t.Fatalf("net %d sample %d (%s): %s", it, s, describe(n), diff)
			}
			if r.Total().Early > 0 {
				withEarly++
				continue
			}
			quantChecked++
			checkQuantized(t, it, n, &r, quantizedANN(t, rn.m, n, &r))
		}
	}
	t.Logf("%d samples, %d with early spikes, %d checked against the quantized ANN", samples, withEarly, quantChecked)
	if withEarly == 0 || quantChecked == 0 {
		t.Errorf("the random networks do not exercise both regimes")
	}
}

// TestSimMatchesOracle checks that both simulators give identical results,
// field by field, on random dyadic networks.
func TestSimMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < suiteNets(); it++ {
		rn := randomModel(rng)
		n, err := Convert(rn.m, rn.cfg)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := NewOracle(n)
		s, _ := NewSim(n, 1)
		w := s.NewWorker()
		var ro, rs SampleResult
		for k := 0; k < 3; k++ {
			x := randomInput(rng, n)
			if err := o.Simulate(x, &ro); err != nil {
				t.Fatal(err)
			}
			if err := w.Simulate(x, &rs); err != nil {
				t.Fatal(err)
			}
			if diff := diffResults(&ro, &rs); diff != "" {
				t.Fatalf("net %d (%s): oracle vs sim: %s", it, describe(n), diff)
			}
		}
	}
}

// checkQuantized fails t unless every spiking neuron of net it that fired
// decodes to exactly its value in ref, the quantized ANN's outputs per
// layer name (for a sample without early spikes).
func checkQuantized(t *testing.T, it int, n *Network, r *SampleResult, ref map[string][]float64) {
	t.Helper()
	for li, l := range n.Layers {
		if l.Analog {
			continue
		}
		got := decoded(n, li, r.Times[li])
		for i, w := range ref[l.Name] {
			if !math.IsNaN(got[i]) && got[i] != w {
				t.Fatalf("net %d (%s): layer %d %s neuron %d decodes to %v, quantized ANN %v", it, describe(n), li, l.Name, i, got[i], w)
			}
		}
	}
}

func describe(n *Network) string {
	s := fmt.Sprintf("in %v %v", n.InShape, n.Threshold)
	for _, l := range n.Layers {
		s += fmt.Sprintf(" | %v%v→%v", l.Kind, l.Kernel, l.OutShape)
		if l.Kind == Conv {
			s += fmt.Sprintf(" s%v p%v d%v g%d", l.Stride, l.Pad, l.Dilation, l.Group)
		}
		if l.Spiking() {
			s += fmt.Sprintf(" T%d/%d", l.T, l.TOut)
		}
		if l.Analog {
			s += " analog"
		}
	}
	return s
}

// diffResults returns a readable description of the first differences.
func diffResults(want, got *SampleResult) string {
	var d []string
	if !slices.Equal(want.Input, got.Input) {
		d = append(d, fmt.Sprintf("input spikes differ:\n want %v\n  got %v", want.Input, got.Input))
	}
	for li := range want.Times {
		if li >= len(got.Times) {
			d = append(d, "missing layers")
			break
		}
		for i := range want.Times[li] {
			if want.Times[li][i] != got.Times[li][i] {
				d = append(d, fmt.Sprintf("layer %d neuron %d fires at %d, want %d", li, i, got.Times[li][i], want.Times[li][i]))
				break
			}
		}
		if !reflect.DeepEqual(want.Stats[li], got.Stats[li]) {
			d = append(d, fmt.Sprintf("layer %d stats:\n want %+v\n  got %+v", li, want.Stats[li], got.Stats[li]))
		}
	}
	if want.Class != got.Class || want.Tie != got.Tie || want.FirstSpike != got.FirstSpike || want.Steps != got.Steps || want.Clamped != got.Clamped {
		d = append(d, fmt.Sprintf("class/tie/first/steps/clamped: want %d %v %d %d %d, got %d %v %d %d %d",
			want.Class, want.Tie, want.FirstSpike, want.Steps, want.Clamped, got.Class, got.Tie, got.FirstSpike, got.Steps, got.Clamped))
	}
	if len(d) > 4 {
		d = d[:4]
	}
	s := ""
	for _, x := range d {
		s += "\n" + x
	}
	return s
}
