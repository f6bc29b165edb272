package energy_test

import (
	"math"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/energy"
)

// near reports |a − b| ≤ 1e-9·max(|a|, |b|) (relative) or ≤ 1e-18 (absolute:
// values here are joules down to picojoules).
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) || math.Abs(a-b) <= 1e-18
}

func TestBitWidthCosts(t *testing.T) {
	for _, c := range []struct {
		b1, b2 int
		add    float64
	}{{8, 8, 8}, {8, 16, 20}, {16, 8, 20}, {16, 16, 16}, {8, 32, 44}, {32, 32, 32}} {
		if got := energy.AddCost(c.b1, c.b2); got != c.add {
			t.Errorf("AddCost(%d, %d) = %v, want %v", c.b1, c.b2, got, c.add)
		}
	}
	if got := energy.MACCost(32, 32); got != 1024 {
		t.Errorf("MACCost(32, 32) = %v, want 1024", got)
	}
	// 1000 events × 20 + 200 updates × 16 + 10 analog MACs × 1024; ANN 5000 × 1024.
	e := energy.DefaultBitWidth().Estimate(energy.Activity{MACs: 10, SynapticOps: 1000, NeuronUpdates: 200, IdleUpdates: 7, Spikes: 9, Steps: 3}, 5000)
	want := energy.Parts{MACs: 10240, Synaptic: 20000, Neuron: 3200}
	if e.Parts != want || e.Dynamic != 33440 || e.Total != 33440 || e.Static != 0 || e.ANNDynamic != 5000*1024 || e.Unit != "bit-op" {
		t.Errorf("estimate %+v, want parts %+v, dynamic 33440, ANN %v", e, want, 5000*1024)
	}
	if r := e.Ratio(); !near(r, 5000*1024/33440.0) {
		t.Errorf("ratio %v", r)
	}
}

func TestCMOS45(t *testing.T) {
	c := energy.DefaultCMOS45()
	for bits, want := range map[int]float64{4: 0.03e-12, 8: 0.03e-12, 12: 0.05e-12, 16: 0.05e-12, 24: 0.1e-12, 32: 0.1e-12} {
		if got := c.AddJ(bits); got != want {
			t.Errorf("AddJ(%d) = %v, want %v", bits, got, want)
		}
	}
	e := c.Estimate(energy.Activity{SynapticOps: 1e6, NeuronUpdates: 1e5, MACs: 100}, 225840)
	if !near(e.Dynamic, 1.1e6*0.05e-12+100*4.6e-12) || !near(e.ANNDynamic, 225840*4.6e-12) {
		t.Errorf("estimate %+v", e)
	}
}

// TestLoihiPaperFit checks that the defaults reproduce the paper's Table 3
// MNIST row: 91 steps take 4.91 ms; 5.4k neurons occupy 11 cores whose
// static power is 5.09 mW; with the x86 power added, static + x86 energy is
// (5.09 + 22.79) mW × 4.91 ms.
func TestLoihiPaperFit(t *testing.T) {
	l := energy.DefaultLoihi()
	a := energy.Activity{Steps: energy.PaperSteps, Neurons: 5410}
	e := l.Estimate(a, 0)
	if e.Cores != energy.PaperCores {
		t.Errorf("cores %d, want %d", e.Cores, energy.PaperCores)
	}
	if !near(e.LatencyS, energy.PaperLatencyS) {
		t.Errorf("latency %v, want %v", e.LatencyS, energy.PaperLatencyS)
	}
	if !near(e.Static, energy.PaperStaticCoresW*energy.PaperLatencyS) {
		t.Errorf("static %v J, want %v", e.Static, energy.PaperStaticCoresW*energy.PaperLatencyS)
	}
	l.HostW = energy.PaperHostW
	if e := l.Estimate(a, 0); !near(e.Static, (energy.PaperStaticCoresW+energy.PaperHostW)*energy.PaperLatencyS) {
		t.Errorf("static with host %v J", e.Static)
	}
	// Dynamic parts by hand.
	a = energy.Activity{SynapticOps: 100, NeuronUpdates: 10, IdleUpdates: 20, Spikes: 5, Steps: 2, Neurons: 30, MACs: 1e6}
	l = energy.DefaultLoihi()
	l.HopsEW, l.HopsNS = 1, 0.5
	e = l.Estimate(a, 1e9)
	want := energy.Parts{Synaptic: 100 * 23.6e-12, Neuron: 10 * 81e-12, Idle: 20 * 52e-12, Spikes: 5 * (1.7e-12 + 3.0e-12 + 0.5*4.0e-12)}
	if !near(e.Parts.Synaptic, want.Synaptic) || !near(e.Parts.Neuron, want.Neuron) || !near(e.Parts.Idle, want.Idle) ||
		!near(e.Parts.Spikes, want.Spikes) || e.Parts.MACs != 0 || e.ANNDynamic != 0 {
		t.Errorf("parts %+v, want %+v (no MACs, no ANN)", e.Parts, want)
	}
	if !near(e.EDP, e.Total*e.LatencyS) || !near(e.Total, e.Dynamic+e.Static) || e.Cores != 1 {
		t.Errorf("estimate %+v", e)
	}
	l.Cores = 7
	if got := l.CoresFor(1); got != 7 {
		t.Errorf("fixed cores: %d, want 7", got)
	}
}

func TestEstimateAllErrors(t *testing.T) {
	ps := energy.DefaultProfiles()
	if _, err := energy.EstimateAll(ps, energy.Activity{SynapticOps: -1}, 0); err == nil || !strings.Contains(err.Error(), "SynapticOps") {
		t.Errorf("negative count: error %v", err)
	}
	if _, err := energy.EstimateAll(ps, energy.Activity{Steps: math.NaN()}, 0); err == nil {
		t.Error("NaN steps: no error")
	}
	if _, err := energy.EstimateAll(ps, energy.Activity{}, math.Inf(1)); err == nil {
		t.Error("infinite ANN MACs: no error")
	}
	if _, err := energy.EstimateAll(append(ps, energy.DefaultLoihi()), energy.Activity{}, 0); err == nil {
		t.Error("duplicate profile: no error")
	}
	m, err := energy.EstimateAll(ps, energy.Activity{}, 0)
	if err != nil || len(m) != 3 || m["loihi"].Profile != "loihi" || m["bitwidth"].Unit != "bit-op" || m["cmos45"].Unit != "J" {
		t.Errorf("EstimateAll: %v, %v", m, err)
	}
}
