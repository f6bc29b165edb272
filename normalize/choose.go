package normalize

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// ChooseLayerPercentiles picks, for every normalized layer on its own, the
// candidate percentile whose scale P encodes the layer's calibration
// activations best in a window of T steps: the one with the smallest mean
// squared error between a value v and its code, P·min(1, round(|v|·T/P)/T)
// in magnitude — rounding below P, saturation above it. A Quartz neuron
// carries its value in that code (SPEC §2: rounded to 1/T, saturated at 1
// where the input does not fire it early), so this is the layer's own
// share of the conversion error, read from the histograms without running
// the network. Ties go to the higher percentile; so layers whose scale does
// not depend on it (a Clip(0, a), pooling that takes its input's scale)
// get the highest candidate. The result is meant as
// Config.LayerPercentiles; it is a per-layer heuristic, which callers
// should check against the network's agreement (pipeline does).
func (c *Calibration) ChooseLayerPercentiles(cands []float64, T int) ([]float64, error) {
	if len(cands) == 0 {
		return nil, errors.New("normalize: no candidate percentiles")
	}
	if T < 1 {
		return nil, fmt.Errorf("normalize: window %d: want ≥ 1", T)
	}
	n := len(c.param)
	best := make([]float64, n)
	bestErr := make([]float64, n)
	top := slices.Max(cands)
	for t := range bestErr {
		best[t], bestErr[t] = top, math.Inf(1)
	}
	for _, p := range cands {
		_, rep, err := c.Normalize(Config{Percentile: p})
		if err != nil {
			continue // a layer is dead at p: not a candidate
		}
		if len(rep.Layers) != n {
			return nil, fmt.Errorf("normalize: %d layers reported, %d calibrated", len(rep.Layers), n)
		}
		for t := range n {
			if c.fixed[t] || c.hists[t] == nil {
				continue
			}
			e := c.hists[t].codeError(rep.Layers[t].Scale, T)
			if e < bestErr[t] || e == bestErr[t] && p > best[t] {
				best[t], bestErr[t] = p, e
			}
		}
	}
	for t := range n {
		if !c.fixed[t] && c.hists[t] != nil && math.IsInf(bestErr[t], 1) {
			return nil, fmt.Errorf("normalize: no candidate of %v normalizes the model (a layer is dead at every one)", cands)
		}
	}
	return best, nil
}

// codeError is the mean, over the counted values (NaNs left out), of
// (|v| − P·min(1, round(|v|·T/P)/T))², each bin's values taken at its
// midpoint.
func (h *hist) codeError(P float64, T int) float64 {
	if !(P > 0) || math.IsInf(P, 0) {
		return math.Inf(1)
	}
	var sum float64
	var n uint64
	step := P / float64(T)
	h.bins(func(c uint64, a, b float64) bool {
		if math.IsInf(a, 0) || math.IsInf(b, 0) {
			sum = math.Inf(1)
			return false
		}
		v := math.Abs(a + (b-a)/2)
		q := P
		if v < P {
			q = math.Min(P, step*math.Round(v/step))
		}
		sum += float64(c) * (v - q) * (v - q)
		n += c
		return true
	})
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Tunable reports, per normalized layer, whether its scale depends on its
// percentile: false for pooling that takes its input's scale and for a
// Clip(0, a), which is normalized by a.
func (c *Calibration) Tunable() []bool {
	tun := make([]bool, len(c.param))
	for t := range tun {
		a := c.model.Nodes[c.act[t]]
		tun[t] = !c.fixed[t] && c.hists[t] != nil && !(a.Op == graph.Clip && a.Min == 0 && a.Max > 0)
	}
	return tun
}
