package energy

import (
	"fmt"
	"math"
)

// Activity is the work one network does on one sample (means per sample).
// It is plain data: the caller (package pipeline) fills it from a
// simulator's counts.
type Activity struct {
	// MACs are multiply-accumulates at full precision: the whole ANN, or an
	// SNN's analog first layer (its current computed in floating point).
	MACs float64 `json:"macs"`
	// SynapticOps, σ: additions of a synaptic weight to a neuron's current
	// or potential, one per (spike, target synapse).
	SynapticOps float64 `json:"synaptic_ops"`
	// NeuronUpdates: neuron state updates that do work (integrate, test the
	// threshold), e.g. 2·ν·T for Quartz (the paper's bound in Ω) or ν·N for
	// rate coding.
	NeuronUpdates float64 `json:"neuron_updates"`
	// IdleUpdates: neuron-steps with nothing to integrate that hardware
	// stepping every neuron every step still visits (Loihi charges them).
	IdleUpdates float64 `json:"idle_updates"`
	// Spikes: spike messages sent, relayed spikes included.
	Spikes float64 `json:"spikes"`
	// Steps: time steps per sample (the latency, in steps).
	Steps float64 `json:"steps"`
	// Neurons placed on hardware (relay neurons included); it sets the
	// number of cores a chip profile powers.
	Neurons int `json:"neurons"`
}

// Estimate is one profile's energy estimate for one sample.
type Estimate struct {
	Profile string `json:"profile"`
	Params  string `json:"params"` // the profile's parameters, in words
	// Unit of Dynamic, Static, Total and ANNDynamic: "J", or "bit-op" for
	// the relative bit-width model.
	Unit    string  `json:"unit"`
	Dynamic float64 `json:"dynamic"` // per sample
	Static  float64 `json:"static"`  // per sample (0 where the profile has none)
	Total   float64 `json:"total"`   // Dynamic + Static
	// LatencyS is the time per sample in seconds (profiles with a clock);
	// EDP = Total · LatencyS, the energy-delay product in J·s.
	LatencyS float64 `json:"latency_s,omitempty"`
	EDP      float64 `json:"edp_js,omitempty"`
	// ANNDynamic is the ANN's dynamic energy for the same sample in the same
	// unit (its MACs), 0 where the profile does not model the ANN.
	ANNDynamic float64 `json:"ann_dynamic,omitempty"`
	// Parts splits Dynamic by kind of operation.
	Parts Parts `json:"parts"`
	// Cores is the number of powered cores (chip profiles).
	Cores int `json:"cores,omitempty"`
}

// Parts splits a dynamic energy by kind of operation.
type Parts struct {
	MACs     float64 `json:"macs"`
	Synaptic float64 `json:"synaptic"`
	Neuron   float64 `json:"neuron"`
	Idle     float64 `json:"idle"`
	Spikes   float64 `json:"spikes"`
}

// Ratio returns ANNDynamic / Dynamic, the factor by which the SNN saves
// dynamic energy, or 0 when the profile does not model the ANN.
func (e Estimate) Ratio() float64 {
	if e.ANNDynamic == 0 || e.Dynamic == 0 {
		return 0
	}
	return e.ANNDynamic / e.Dynamic
}

// Profile turns an Activity into an Estimate. snn is the spiking network's
// activity; annMACs the ANN's multiply-accumulates per sample (0: no ANN).
type Profile interface {
	Name() string   // a short key: "bitwidth", "cmos45", "loihi"
	Params() string // the parameters in words
	Estimate(snn Activity, annMACs float64) Estimate
}

// Check returns an error if a is not a valid activity (negative or
// non-finite counts).
func (a Activity) Check() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"MACs", a.MACs}, {"SynapticOps", a.SynapticOps}, {"NeuronUpdates", a.NeuronUpdates},
		{"IdleUpdates", a.IdleUpdates}, {"Spikes", a.Spikes}, {"Steps", a.Steps}, {"Neurons", float64(a.Neurons)}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("energy: activity %s = %v: want a finite count ≥ 0", f.name, f.v)
		}
	}
	return nil
}

// EstimateAll applies every profile to the same activity, keyed by profile
// name (JSON encodes a map with sorted keys).
func EstimateAll(profiles []Profile, snn Activity, annMACs float64) (map[string]Estimate, error) {
	if err := snn.Check(); err != nil {
		return nil, err
	}
	if !(annMACs >= 0) || math.IsInf(annMACs, 0) {
		return nil, fmt.Errorf("energy: ANN MACs %v: want a finite count ≥ 0", annMACs)
	}
	out := make(map[string]Estimate, len(profiles))
	for _, p := range profiles {
		if _, dup := out[p.Name()]; dup {
			return nil, fmt.Errorf("energy: two profiles named %q", p.Name())
		}
		out[p.Name()] = p.Estimate(snn, annMACs)
	}
	return out, nil
}

// DefaultProfiles returns the three profiles with their documented
// defaults: the paper's bit-width model (8-bit weights, 16-bit state,
// 32-bit ANN), 45 nm CMOS (Horowitz 2014) and Loihi 1 (Davies et al. 2018,
// static power and step time fitted to the paper's Table 3).
func DefaultProfiles() []Profile {
	return []Profile{DefaultBitWidth(), DefaultCMOS45(), DefaultLoihi()}
}

// ---------------------------------------------------------------------------
// The paper's relative bit-width model.

// BitWidth is the relative model of the Quartz paper (Lenz et al., §3.4,
// after Rueckauer & Liu, IJCNN 2021): adding a b1-bit and a b2-bit operand
// costs max(b1, b2) + |b1 − b2|/2 units, a b1×b2-bit MAC costs b1·b2 units.
// The ANN does MACs at ANNBits × ANNBits; the SNN adds WeightBits-bit weights
// to StateBits-bit currents (synaptic ops) and StateBits-bit currents to
// StateBits-bit potentials (neuron updates). Idle updates, spikes and static
// power are not modelled; MACs of an analog layer cost as the ANN's.
type BitWidth struct {
	WeightBits int // synaptic weight width (default 8, Loihi's weight resolution)
	StateBits  int // current/potential width (default 16)
	ANNBits    int // ANN operand width (default 32, float32 treated as 32-bit operands, as the paper does)
}

// DefaultBitWidth returns the bit-width model with 8-bit weights, 16-bit
// state and a 32-bit ANN.
func DefaultBitWidth() BitWidth { return BitWidth{WeightBits: 8, StateBits: 16, ANNBits: 32} }

// AddCost is the paper's cost of adding a b1-bit and a b2-bit operand.
func AddCost(b1, b2 int) float64 {
	return float64(max(b1, b2)) + math.Abs(float64(b1-b2))/2
}

// MACCost is the paper's cost of a b1×b2-bit multiply-accumulate.
func MACCost(b1, b2 int) float64 { return float64(b1) * float64(b2) }

// Name implements Profile.
func (b BitWidth) Name() string { return "bitwidth" }

// Params implements Profile.
func (b BitWidth) Params() string {
	return fmt.Sprintf("weights %d bit, state %d bit, ANN %d bit", b.WeightBits, b.StateBits, b.ANNBits)
}

// Estimate implements Profile.
func (b BitWidth) Estimate(a Activity, annMACs float64) Estimate {
	mac := MACCost(b.ANNBits, b.ANNBits)
	p := Parts{
		MACs:     a.MACs * mac,
		Synaptic: a.SynapticOps * AddCost(b.WeightBits, b.StateBits),
		Neuron:   a.NeuronUpdates * AddCost(b.StateBits, b.StateBits),
	}
	d := p.MACs + p.Synaptic + p.Neuron
	return Estimate{Profile: b.Name(), Params: b.Params(), Unit: "bit-op", Dynamic: d, Total: d, ANNDynamic: annMACs * mac, Parts: p}
}

// ---------------------------------------------------------------------------
// 45 nm CMOS, Horowitz 2014.

// CMOS45 charges operations at the 45 nm, 0.9 V energies of M. Horowitz,
// "Computing's energy problem (and what we can do about it)", ISSCC 2014,
// Fig. 1.1.9 (arithmetic only; memory access is not modelled). The ANN does
// float32 MACs (a multiply and an add); the SNN adds integers at StateBits
// (synaptic ops and neuron updates alike: the accumulator is the wider
// operand). Idle updates, spikes and static power are not modelled.
type CMOS45 struct {
	FloatAddJ float64 // 32-bit float add: 0.9 pJ
	FloatMulJ float64 // 32-bit float multiply: 3.7 pJ
	Int8AddJ  float64 // 8-bit integer add: 0.03 pJ
	Int16AddJ float64 // 16-bit integer add: 0.05 pJ
	Int32AddJ float64 // 32-bit integer add: 0.1 pJ
	Int8MulJ  float64 // 8-bit integer multiply: 0.2 pJ (reference only)
	Int32MulJ float64 // 32-bit integer multiply: 3.1 pJ (reference only)
	StateBits int     // SNN accumulator width: 8, 16 or 32 (default 16)
}

// DefaultCMOS45 returns Horowitz's figures with a 16-bit SNN accumulator.
func DefaultCMOS45() CMOS45 {
	return CMOS45{
		FloatAddJ: 0.9e-12, FloatMulJ: 3.7e-12, // Horowitz 2014, FP add/mult 32 bit
		Int8AddJ: 0.03e-12, Int16AddJ: 0.05e-12, Int32AddJ: 0.1e-12, // Horowitz 2014, integer add 8/16/32 bit
		Int8MulJ: 0.2e-12, Int32MulJ: 3.1e-12, // Horowitz 2014, integer mult 8/32 bit
		StateBits: 16,
	}
}

// Name implements Profile.
func (c CMOS45) Name() string { return "cmos45" }

// Params implements Profile.
func (c CMOS45) Params() string {
	return fmt.Sprintf("ANN float32 MAC %.2g pJ, SNN %d-bit add %.2g pJ", (c.FloatMulJ+c.FloatAddJ)*1e12, c.StateBits, c.AddJ(c.StateBits)*1e12)
}

// AddJ returns the energy of an integer add at the given width: the
// narrowest of Horowitz's 8, 16 and 32 bits that holds it.
func (c CMOS45) AddJ(bits int) float64 {
	switch {
	case bits <= 8:
		return c.Int8AddJ
	case bits <= 16:
		return c.Int16AddJ
	}
	return c.Int32AddJ
}

// Estimate implements Profile.
func (c CMOS45) Estimate(a Activity, annMACs float64) Estimate {
	mac := c.FloatMulJ + c.FloatAddJ
	add := c.AddJ(c.StateBits)
	p := Parts{MACs: a.MACs * mac, Synaptic: a.SynapticOps * add, Neuron: a.NeuronUpdates * add}
	d := p.MACs + p.Synaptic + p.Neuron
	return Estimate{Profile: c.Name(), Params: c.Params(), Unit: "J", Dynamic: d, Total: d, ANNDynamic: annMACs * mac, Parts: p}
}

// ---------------------------------------------------------------------------
// Loihi 1.

// Loihi charges the per-operation energies of Intel's Loihi measured in
// M. Davies et al., "Loihi: a neuromorphic manycore processor with on-chip
// learning", IEEE Micro 38(1), 2018, Table 1, plus a static term: the
// powered cores' static power over the sample's latency. Placement is not
// modelled: each spike costs the within-tile energy plus HopsEW/HopsNS
// average mesh hops (default 0: every spike stays in its tile, a lower
// bound). The analog first layer's MACs run off chip and are not charged;
// the ANN is not modelled.
//
// The defaults of StaticPerCoreW, SecondsPerStep and NeuronsPerCore are fitted
// to the Quartz paper's Table 3 (MNIST, Tmax 16, NxSDK 1.0): 5.09 mW static
// power of the neuromorphic cores over the 11 cores the LeNet occupied
// (0.463 mW per core), 4.91 ms for 91 steps (53.96 µs per step), and 5.4k
// neurons (Table 2) on 11 cores (500 per core, rounding up to 11). HostW, the
// Lakemont x86 power (0.14 mW static + 22.66 mW dynamic in Table 3), is 0 by
// default: it runs the host script, not the network.
type Loihi struct {
	SynOpJ         float64 // per synaptic spike op: 23.6 pJ
	ActiveUpdateJ  float64 // per active neuron update: 81 pJ
	IdleUpdateJ    float64 // per inactive neuron update: 52 pJ
	SpikeJ         float64 // within-tile spike: 1.7 pJ
	HopEWJ         float64 // per east-west tile hop: 3.0 pJ
	HopNSJ         float64 // per north-south tile hop: 4.0 pJ
	HopsEW, HopsNS float64 // average hops per spike (default 0)
	StaticPerCoreW float64 // static power per powered core (default 5.09 mW / 11)
	SecondsPerStep float64 // wall time per step (default 4.91 ms / 91)
	NeuronsPerCore int     // cores = ⌈neurons / NeuronsPerCore⌉ (default 500)
	Cores          int     // if > 0, the number of powered cores, overriding NeuronsPerCore
	HostW          float64 // x86 power added over the latency (default 0)
}

// Paper reference values (Lenz et al., Table 3, MNIST row).
const (
	PaperStaticCoresW  = 5.09e-3   // static power of the neuromorphic cores
	PaperDynamicCoresW = 9.29e-3   // dynamic power of the neuromorphic cores
	PaperHostW         = 22.79e-3  // x86 total (0.14 mW static + 22.66 mW dynamic; Table 3 prints 22.79)
	PaperCores         = 11        // cores the LeNet occupied
	PaperLatencyS      = 4.91e-3   // per inference
	PaperSteps         = 91        // time steps per inference
	PaperEnergyJ       = 182.46e-6 // energy per inference, cores and x86
	PaperEDPJs         = 0.9e-6    // energy-delay product
)

// DefaultLoihi returns Davies et al.'s figures with the Table 3 fit.
func DefaultLoihi() Loihi {
	return Loihi{
		SynOpJ: 23.6e-12, ActiveUpdateJ: 81e-12, IdleUpdateJ: 52e-12, // Davies 2018, Table 1
		SpikeJ: 1.7e-12, HopEWJ: 3.0e-12, HopNSJ: 4.0e-12, // Davies 2018, Table 1
		StaticPerCoreW: PaperStaticCoresW / PaperCores, // Lenz et al., Table 3
		SecondsPerStep: PaperLatencyS / PaperSteps,     // Lenz et al., Table 3
		NeuronsPerCore: 500,                            // 5.4k neurons on 11 cores (Lenz et al., Tables 2, 3)
	}
}

// Name implements Profile.
func (l Loihi) Name() string { return "loihi" }

// Params implements Profile.
func (l Loihi) Params() string {
	cores := fmt.Sprintf("%d neurons per core", l.NeuronsPerCore)
	if l.Cores > 0 {
		cores = fmt.Sprintf("%d cores", l.Cores)
	}
	s := fmt.Sprintf("%.3g mW static per core, %s, %.4g µs per step, hops %g E-W %g N-S", l.StaticPerCoreW*1e3, cores, l.SecondsPerStep*1e6, l.HopsEW, l.HopsNS)
	if l.HostW > 0 {
		s += fmt.Sprintf(", host %.4g mW", l.HostW*1e3)
	}
	return s
}

// CoresFor returns the number of cores powered for n neurons.
func (l Loihi) CoresFor(n int) int {
	if l.Cores > 0 {
		return l.Cores
	}
	if l.NeuronsPerCore <= 0 || n <= 0 {
		return 1
	}
	return (n + l.NeuronsPerCore - 1) / l.NeuronsPerCore
}

// Estimate implements Profile.
func (l Loihi) Estimate(a Activity, _ float64) Estimate {
	p := Parts{
		Synaptic: a.SynapticOps * l.SynOpJ,
		Neuron:   a.NeuronUpdates * l.ActiveUpdateJ,
		Idle:     a.IdleUpdates * l.IdleUpdateJ,
		Spikes:   a.Spikes * (l.SpikeJ + l.HopsEW*l.HopEWJ + l.HopsNS*l.HopNSJ),
	}
	d := p.Synaptic + p.Neuron + p.Idle + p.Spikes
	cores := l.CoresFor(a.Neurons)
	lat := a.Steps * l.SecondsPerStep
	static := (float64(cores)*l.StaticPerCoreW + l.HostW) * lat
	tot := d + static
	return Estimate{Profile: l.Name(), Params: l.Params(), Unit: "J", Dynamic: d, Static: static, Total: tot,
		LatencyS: lat, EDP: tot * lat, Parts: p, Cores: cores}
}
