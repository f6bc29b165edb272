package hw

import (
	"fmt"
	"io"
	"strings"

	"github.com/quartz-snn/quartz/snn"
)

// EmuResult is the outcome of a fixed-point emulation (`quartz eval --hw`),
// means per sample.
type EmuResult struct {
	Hardware      string  `json:"hardware"`
	Samples       int64   `json:"samples"`
	Accuracy      float64 `json:"accuracy"`       // % with integer arithmetic
	FloatAccuracy float64 `json:"float_accuracy"` // % of the float SNN on the same samples
	DeltaPP       float64 `json:"delta_pp"`       // Accuracy − FloatAccuracy
	Agreement     float64 `json:"agreement"`      // % of samples with the float SNN's class
	TieRate       float64 `json:"tie_rate"`
	NoClassRate   float64 `json:"no_class_rate"`
	FirstSpike    float64 `json:"first_spike_latency"`
	Steps         float64 `json:"steps_per_sample"`
	DelayRelays   int     `json:"delay_relays"` // timing-chain relay neurons
	// GroupRelays: relay neurons carrying input groups over delays longer
	// than the profile's MaxDelay (branching networks), all layers.
	GroupRelays int        `json:"group_delay_relays,omitempty"`
	Layers      []EmuLayer `json:"layers"`
	Seconds     float64    `json:"seconds"`
}

// EmuLayer is one layer's quantization and integer effects.
type EmuLayer struct {
	Name  string      `json:"name"`
	Kind  string      `json:"kind"`
	Quant *LayerQuant `json:"quantization,omitempty"` // nil for relay layers
	// Saturations per sample (means) and neurons whose spike step differs
	// from the float SNN's (% of the layer's neurons).
	CurrentSat    float64 `json:"current_saturations"`
	VoltageSat    float64 `json:"voltage_saturations"`
	RectifierFail float64 `json:"rectifier_failures"`
	DifferPct     float64 `json:"differ_from_float_pct"`
	// Delay relays of the layer's input groups (branching networks): relay
	// neurons, and their spikes and synaptic events per sample.
	DelayRelays      int     `json:"delay_relays,omitempty"`
	DelayRelaySpikes float64 `json:"delay_relay_spikes,omitempty"`
	DelayRelayEvents float64 `json:"delay_relay_events,omitempty"`
}

// Result turns a Summary into per-sample means.
func (q *IntNet) Result(s *Summary) *EmuResult {
	n := float64(max(s.Samples, 1))
	r := &EmuResult{Hardware: q.Profile.Name, Samples: s.Samples,
		Accuracy: 100 * float64(s.Correct) / n, TieRate: 100 * float64(s.Ties) / n,
		NoClassRate: 100 * float64(s.NoClass) / n, Steps: float64(s.Steps) / n, DelayRelays: q.DelayRelays, GroupRelays: q.GroupRelayNeurons}
	if c := s.Samples - s.NoClass; c > 0 {
		r.FirstSpike = float64(s.FirstSpike) / float64(c)
	}
	if s.Compared {
		r.FloatAccuracy = 100 * float64(s.FloatCorrect) / n
		r.DeltaPP = r.Accuracy - r.FloatAccuracy
		r.Agreement = 100 * float64(s.Agree) / n
	}
	for li, l := range q.Net.Layers {
		el := EmuLayer{Name: l.Name, Kind: l.Kind.String()}
		if q.Layers[li] != nil {
			el.Quant = &q.Layers[li].Report
		}
		if li < len(s.Sat) {
			st := s.Sat[li]
			el.CurrentSat = float64(st.CurrentSat) / n
			el.VoltageSat = float64(st.VoltageSat) / n
			el.RectifierFail = float64(st.RectifierFail) / n
			el.DifferPct = 100 * float64(st.Differ) / (n * float64(l.Size()))
			el.DelayRelaySpikes = float64(st.DelayRelaySpikes) / n
			el.DelayRelayEvents = float64(st.DelayRelayEvents) / n
		}
		if li < len(q.GroupRelays) {
			el.DelayRelays = q.GroupRelays[li]
		}
		r.Layers = append(r.Layers, el)
	}
	return r
}

// Text writes the emulation report as a table.
func (r *EmuResult) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nFixed-point emulation on %s (%d samples, %.1f s)\n", r.Hardware, r.Samples, r.Seconds)
	fmt.Fprintf(&b, "  accuracy          %.2f %%   (float SNN %.2f %%, Δ %+.2f pp, same class %.2f %%)\n", r.Accuracy, r.FloatAccuracy, r.DeltaPP, r.Agreement)
	fmt.Fprintf(&b, "  ties / no class   %.2f %% / %.2f %%\n", r.TieRate, r.NoClassRate)
	fmt.Fprintf(&b, "  steps per sample  %.1f (first output spike %.1f); timing-chain relays %d\n", r.Steps, r.FirstSpike, r.DelayRelays)
	if r.GroupRelays > 0 {
		fmt.Fprintf(&b, "  delay relays      %d neurons (input groups delayed beyond the chip's maximum synaptic delay):", r.GroupRelays)
		for _, l := range r.Layers {
			if l.DelayRelays > 0 {
				fmt.Fprintf(&b, " %s %d (%.1f spikes/sample)", l.Name, l.DelayRelays, l.DelayRelaySpikes)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n  %-8s %-8s %4s %6s %5s %9s %9s %9s %9s %6s %4s %4s %4s %9s %9s %8s\n",
		"layer", "kind", "e", "bits", "θmant", "max|Δw|", "mean|Δw|", "maxrel", "meanrel", "zeroed", "rd", "bs", "rc", "I-sat", "V-sat", "≠float%")
	for _, l := range r.Layers {
		if l.Quant == nil {
			fmt.Fprintf(&b, "  %-8s %-8s %4s %6s %5s %9s %9s %9s %9s %6s %4s %4s %4s %9s %9s %8.3f\n",
				l.Name, l.Kind, "", "", "", "", "", "", "", "", "", "", "", "", "", l.DifferPct)
			continue
		}
		q := l.Quant
		fmt.Fprintf(&b, "  %-8s %-8s %4d %6d %5d %9.2e %9.2e %9.2e %9.2e %6d %4d %4d %4d %9.2f %9.2f %8.3f\n",
			l.Name, l.Kind, q.WeightExp, q.WeightBits, q.ThetaMant, q.MaxAbsErr, q.MeanAbsErr, q.MaxRelErr, q.MeanRelErr,
			q.Zeroed, q.ReadoutSyn, q.BiasSyn, q.RectifierSyn, l.CurrentSat, l.VoltageSat, l.DifferPct)
	}
	b.WriteString("  e: weight exponent (w·2^(6+e)); bits: magnitude bits; |Δw| relative to the layer's max |w|;\n")
	b.WriteString("  rel: relative to |w|; rd/bs/rc: readout/bias/rectifier synapses per neuron; sat: per sample\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Emulate quantizes n for p and emulates samples 0..nSamples−1 of x,
// comparing with the float SNN. It is the one call behind `quartz eval --hw`
// for data that fits in memory; larger sets call Emulator.Evaluate per chunk
// and merge with Summary.Merge.
func Emulate(n *snn.Network, p *Profile, x []float32, nSamples int, labels []int32, workers int) (*IntNet, *Summary, error) {
	q, err := Quantize(n, p)
	if err != nil {
		return nil, nil, err
	}
	e, err := NewEmulator(q)
	if err != nil {
		return nil, nil, err
	}
	s, err := e.Evaluate(x, nSamples, labels, workers, true)
	return q, s, err
}

// Merge adds o to s.
func (s *Summary) Merge(o *Summary) { s.merge(o) }
