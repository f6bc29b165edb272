package normalize

import (
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// Runner returns a Source that runs model m (a partly normalized copy of the
// model being normalized) over the calibration sample.
type Runner func(m *graph.Model) Source

// NormalizeClassic normalizes m with the classic data-based scheme of
// Rueckauer et al. (2017) as most conversion toolkits apply it, whose bias
// scaling the Quartz paper corrects (its §6.1 and Figure 6). It is provided
// for comparison only (quartz plot's normalization figure); SPEC §4 and the
// converter use Normalize.
//
// Layer by layer in order, with the layers before l already normalized,
// it measures s_l, the percentile of layer l's activation in that network
// (one run of the network over the calibration sample per layer), and sets
//
//	W_l ← W_l / s_l,   b_l ← b_l / s_l.
//
// The weights end up scaled by P_{l−1}/P_l as in Normalize, but the bias
// only by the layer's own factor s_l instead of the product of all factors
// so far, P_l: from the second layer on the normalized activations are no
// longer a_l/P_l, and the error grows with depth. Pooling layers keep their
// weights (s_l = 1). The report's Scale is s_l, the layer's own factor.
func NormalizeClassic(m *graph.Model, run Runner, cfg Config) (*graph.Model, *Report, error) {
	if err := m.CheckChain(); err != nil {
		return nil, nil, fmt.Errorf("normalize: classic normalization: %w", err)
	}
	param, act := Targets(m)
	if len(param) == 0 {
		return nil, nil, fmt.Errorf("normalize: model has no Conv or Linear layer")
	}
	if err := CheckStructure(m); err != nil {
		return nil, nil, err
	}
	pcts, err := percentiles(cfg, len(param))
	if err != nil {
		return nil, nil, err
	}
	nm := m.Clone()
	rep := &Report{}
	for t, p := range param {
		l := nm.Nodes[p]
		st := LayerStat{Layer: p, Name: l.Name, Percentile: pcts[t], Scale: 1}
		if l.Op == graph.Conv || l.Op == graph.Linear {
			s := newHist()
			a := act[t]
			if err := run(nm)(func(layer int, out []float32) {
				if layer == a {
					s.add(out)
				}
			}); err != nil {
				return nil, nil, fmt.Errorf("normalize: calibration: %w", err)
			}
			if s.n == 0 {
				return nil, nil, fmt.Errorf("normalize: node %d %q: no calibration activations (empty calibration set?)", p, l.Name)
			}
			scale := s.percentile(pcts[t], true)
			if !(scale > 0) || math.IsInf(scale, 0) {
				return nil, nil, fmt.Errorf("normalize: node %d %q: %v-th percentile of its activations is %v; the layer is dead or diverges on the calibration set", p, l.Name, pcts[t], scale)
			}
			st.Scale, st.Values, st.Kept, st.AboveOne = scale, int(s.n), int(s.n), s.fractionAbove(scale)
			for i := range l.W {
				l.W[i] = float32(float64(l.W[i]) / scale)
			}
			for i := range l.B {
				l.B[i] = float32(float64(l.B[i]) / scale)
			}
		}
		rep.Layers = append(rep.Layers, st)
	}
	return nm, rep, nil
}
