package hw

import (
	"fmt"
	"sort"
	"strings"

	"github.com/quartz-snn/quartz/energy"
)

// Profile holds every hardware constant the emulator, the planner and the
// cost model use, each with its source. Values marked "assumed" or "fitted"
// in their comment are not published figures; docs/hardware.md lists them.
type Profile struct {
	Name string `json:"name"`

	// ---- Arithmetic (fixed-point emulation) ----

	// WeightBits is the stored synaptic weight width. Loihi 1: 8 bits
	// (Davies et al. 2018, IEEE Micro 38(1), "1 to 9 bits" synaptic weights
	// with sign; NxSDK numWeightBits ≤ 8; nengo-loihi WEIGHT_BITS_MAP max 8).
	WeightBits int `json:"weight_bits"`
	// MixedSignLosesBit: a synapse group with both signs ("mixed" sign mode)
	// gives up one magnitude bit, so 8-bit weights become 7 bits + sign
	// (NxSDK shift = 8 − numWeightBits + isMixed; nengo-loihi
	// SynapseConfig.shift_bits).
	MixedSignLosesBit bool `json:"mixed_sign_loses_bit"`
	// WeightExpMin, WeightExpMax bound the per-synapse-group weight exponent
	// e; a weight w adds w·2^(6+e) to the current (NxSDK weightExponent
	// −8..7; the 2^6 is nengo-loihi get_real_weight_exp).
	WeightExpMin, WeightExpMax int `json:"-"`
	// WeightExpOffset is the fixed 6 of 2^(6+e).
	WeightExpOffset int `json:"weight_exp_offset"`
	// StateBits is the width of the synaptic current u and the membrane
	// voltage v, both signed and saturating. Loihi 1: 24 bits (Davies 2018
	// compartment state; nengo-loihi vmax ≤ 2^23 − 1, vmin ≥ −2^23 + 1).
	StateBits int `json:"state_bits"`
	// VMinExp sets the lower voltage bound v ≥ −2^VMinExp (NxSDK vMinExp,
	// 0..23, configurable per compartment prototype). We choose 20 so that
	// one maximal rectifier synapse lifts any voltage over θ; a voltage that
	// hits the bound is counted as a saturation.
	VMinExp int `json:"vmin_exp"`
	// ThetaShift: the threshold is vthMant·2^ThetaShift (Loihi 1: 2^6,
	// Davies 2018; NxSDK vThMant), with ThetaMantBits bits of mantissa
	// (17 bits, 0..131071, NxSDK / Brian2Loihi threshold_v_mant).
	ThetaShift    int `json:"theta_shift"`
	ThetaMantBits int `json:"theta_mant_bits"`
	// MaxDelay is the longest synaptic delay in steps (Loihi 1: 62, 6-bit
	// delay field; NxSDK). Longer delays are chained through relay neurons.
	MaxDelay int `json:"max_delay"`

	// ---- Per-core and per-chip limits (mapping planner) ----

	// CompartmentsPerCore (Loihi 1: 1024, Davies 2018 Table 1; nengo-loihi
	// MAX_COMPARTMENTS).
	CompartmentsPerCore int `json:"compartments_per_core"`
	// InAxonsPerCore, OutAxonsPerCore (Loihi 1: 4096 each, Davies 2018;
	// nengo-loihi MAX_IN_AXONS, MAX_OUT_AXONS).
	InAxonsPerCore  int `json:"in_axons_per_core"`
	OutAxonsPerCore int `json:"out_axons_per_core"`
	// SynMemBits is the synaptic memory per core in bits (Loihi 1:
	// 1,048,576 bits = 128 KiB; 16 MB per chip / 128 cores, Davies 2018;
	// nengo-loihi MAX_SYNAPSE_BITS).
	SynMemBits int `json:"syn_mem_bits"`
	// SynIndexBits: the target-compartment index stored with every sparse
	// synapse (10 bits address 1024 compartments; nengo-loihi INDEX_BITS_MAP
	// offers 6..12). SynHeaderBits per synapse block of up to SynBlock
	// synapses (4 + 6 bits), blocks rounded up to SynWordBits (64).
	SynIndexBits  int `json:"syn_index_bits"`
	SynDelayBits  int `json:"syn_delay_bits"` // only for synapses with a delay (bias, readout, rectifier)
	SynHeaderBits int `json:"syn_header_bits"`
	SynBlock      int `json:"syn_block"`
	SynWordBits   int `json:"syn_word_bits"`
	// SharedConv: the hardware stores one copy of a convolution kernel per
	// core and reuses it for every output position (Loihi 2; the paper
	// §4.2: "Loihi 2, which supports shared weights for convolutional
	// layers"). Loihi 1 through NxSDK 1.0 stores every synapse (the paper:
	// "the first version of Loihi does not provide support for weight
	// sharing without low-level engineering effort").
	SharedConv bool `json:"shared_conv"`
	// CoresPerChip (128, Davies 2018). CoresPerTile and MeshWidth lay the
	// cores out on the mesh for hop counts: Loihi 1 groups 4 cores per
	// tile (assumed from the Davies 2018 floorplan), tiles in an 8-wide mesh
	// (assumed).
	CoresPerChip int `json:"cores_per_chip"`
	CoresPerTile int `json:"cores_per_tile"`
	MeshWidth    int `json:"mesh_width"` // tiles per row

	// ---- Energy and time (cost model) ----

	// Dynamic energies, pJ (Davies 2018 Table 2, Loihi 1 at 0.75 V):
	// synaptic operation, neuron update active/inactive, spike within a tile,
	// one hop east-west / north-south.
	SynOpPJ, NeuronActivePJ, NeuronIdlePJ, SpikePJ, HopEWPJ, HopNSPJ float64 `json:"-"`
	// StaticPerCoreMW is the static power of one powered core, mW: fitted
	// to the paper's Table 3 MNIST row (5.09 mW neuron-core static on
	// 11 cores = 0.463 mW/core).
	StaticPerCoreMW float64 `json:"static_per_core_mw"`
	// HostPerChipMW is the Lakemont x86 power per chip in use (static +
	// dynamic), mW: the paper's Table 3 MNIST row (22.79 as printed;
	// 0.14 + 22.66 as itemized).
	HostPerChipMW float64 `json:"host_per_chip_mw"`
	// StepUS is the wall time of one time step, µs: fitted to the paper's
	// Table 3 MNIST row (4.91 ms / 91 steps).
	StepUS float64 `json:"step_us"`
	// RelayStepDelay: steps a relay (max-pool) neuron adds on hardware, where
	// a spike needs one step per hop (assumed 1; the SPEC relays instantly).
	RelayStepDelay int `json:"relay_step_delay"`
}

// Loihi1 returns the Loihi 1 profile (Nahuku boards, NxSDK 1.0: what the
// paper used).
func Loihi1() *Profile {
	l := energy.DefaultLoihi()
	return &Profile{
		Name:              "loihi1",
		WeightBits:        8,
		MixedSignLosesBit: true,
		WeightExpMin:      -8,
		WeightExpMax:      7,
		WeightExpOffset:   6,
		StateBits:         24,
		VMinExp:           20,
		ThetaShift:        6,
		ThetaMantBits:     17,
		MaxDelay:          62,

		CompartmentsPerCore: 1024,
		InAxonsPerCore:      4096,
		OutAxonsPerCore:     4096,
		SynMemBits:          1 << 20,
		SynIndexBits:        10,
		SynDelayBits:        6,
		SynHeaderBits:       10,
		SynBlock:            64,
		SynWordBits:         64,
		SharedConv:          false,
		CoresPerChip:        128,
		CoresPerTile:        4,
		MeshWidth:           8,

		// Energies and time: the same figures as energy.DefaultLoihi (one
		// source for both packages), in pJ, mW and µs.
		SynOpPJ:         l.SynOpJ * 1e12,
		NeuronActivePJ:  l.ActiveUpdateJ * 1e12,
		NeuronIdlePJ:    l.IdleUpdateJ * 1e12,
		SpikePJ:         l.SpikeJ * 1e12,
		HopEWPJ:         l.HopEWJ * 1e12,
		HopNSPJ:         l.HopNSJ * 1e12,
		StaticPerCoreMW: l.StaticPerCoreW * 1e3,
		HostPerChipMW:   energy.PaperHostW * 1e3,
		StepUS:          l.SecondsPerStep * 1e6,
		RelayStepDelay:  1,
	}
}

// Loihi2 returns a Loihi 2 profile: Loihi 1 where Loihi 2's documented
// limits are not known to differ. Differences (Intel, "Taking Neuromorphic
// Computing to the Next Level with Loihi 2", technology brief, 2021; Orchard
// et al. 2021, SiPS): up to 8192 neurons per core, shared-weight
// convolutional connectivity, synaptic memory per core ≈ 120 M synapses per
// chip / 128 cores (we keep Loihi 1's 1 Mbit). Energies and static power
// for Loihi 2 are not published per operation: the Loihi 1 figures are kept
// and marked as such in docs/hardware.md; treat Loihi 2 costs as an upper
// bound. Weights stay 8 bits with mixed-sign loss (assumed the same).
func Loihi2() *Profile {
	p := Loihi1()
	p.Name = "loihi2"
	p.CompartmentsPerCore = 8192
	p.SynIndexBits = 13
	p.SharedConv = true
	return p
}

var profiles = map[string]func() *Profile{"loihi1": Loihi1, "loihi2": Loihi2}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	var s []string
	for k := range profiles {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// ByName returns a fresh copy of a built-in profile.
func ByName(name string) (*Profile, error) {
	f, ok := profiles[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("hw: unknown hardware %q (have %s)", name, strings.Join(ProfileNames(), ", "))
	}
	return f(), nil
}

// stateMax and stateMin are the saturation bounds of u and v.
func (p *Profile) stateMax() int64 { return 1<<(p.StateBits-1) - 1 }
func (p *Profile) stateMin() int64 { return -(1<<(p.StateBits-1) - 1) }

// mantMax is the largest weight mantissa magnitude: 127 for 8-bit mixed-sign
// synapses, 255 for single-sign ones.
func (p *Profile) mantMax(mixed bool) int64 {
	b := p.WeightBits
	if mixed && p.MixedSignLosesBit {
		b--
	}
	return 1<<b - 1
}
