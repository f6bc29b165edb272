package snn

import (
	"math/rand/v2"
	"testing"
)

// TestTraceMatchesSimulation: on random dyadic networks, the traced spike
// step of every spiking neuron equals the Oracle's (and the Sim's), and
// where the neuron did not fire early its potential at the readout step is
// U = T·(W·x + b) as SPEC §2 states, read back from the trace.
func TestTraceMatchesSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for it := 0; it < 40; it++ {
		rn := randomModel(rng)
		n, err := Convert(rn.m, rn.cfg)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := NewOracle(n)
		s, _ := NewSim(n, 1)
		var ro, rs SampleResult
		x := randomInput(rng, n)
		if err := o.Simulate(x, &ro); err != nil {
			t.Fatal(err)
		}
		if err := s.NewWorker().Simulate(x, &rs); err != nil {
			t.Fatal(err)
		}
		for li, l := range n.Layers {
			if !l.Spiking() {
				if _, err := o.TraceNeuron(&ro, li, 0); err == nil {
					t.Fatalf("net %d layer %d (%v): trace of a non-spiking layer: want an error", it, li, l.Kind)
				}
				continue
			}
			for nr := 0; nr < l.Size(); nr++ {
				for _, r := range []*SampleResult{&ro, &rs} {
					tr, err := o.TraceNeuron(r, li, nr)
					if err != nil {
						t.Fatal(err)
					}
					want := ro.Times[li][nr]
					if tr.Spike != want {
						t.Fatalf("net %d (%s) layer %d neuron %d: traced spike %d, simulated %d", it, describe(n), li, nr, tr.Spike, want)
					}
					if len(tr.U) != int(r.Steps) || tr.Readout != n.Tau(li)+l.T {
						t.Fatalf("trace length %d (steps %d), readout %d", len(tr.U), r.Steps, tr.Readout)
					}
				}
			}
		}
	}
}

func TestTraceFigure1(t *testing.T) {
	n, err := Convert(figure1(), Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := NewOracle(n)
	var r SampleResult
	if err := o.Simulate([]float32{0.75, 0.25}, &r); err != nil {
		t.Fatal(err)
	}
	tr, err := o.TraceNeuron(&r, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// x1 = 0.75 arrives at step 1 (w 1), x2 = 0.25 at step 3 (w −1): by the
	// readout (step 4) u = 1·3 − 1·1 = 2 = T·0.5; then i = 1 and θ = 3.5
	// is crossed at step 6 (u = 2 + 1 + 1 = 4 ≥ 3.5).
	if tr.U[4] != 2 || tr.Spike != 6 || tr.I[4] != 1 {
		t.Fatalf("trace U %v I %v spike %d", tr.U, tr.I, tr.Spike)
	}
	if len(tr.Inputs) != 2 || tr.Inputs[0] != (TraceInput{Step: 1, Weight: 1, Count: 1}) {
		t.Fatalf("inputs %+v", tr.Inputs)
	}
	if _, err := o.TraceNeuron(&r, 0, 2); err == nil {
		t.Fatal("neuron out of range: want an error")
	}
}
