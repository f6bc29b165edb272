package normalize

import (
	"errors"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// NormalizeReference is the one-pass Normalize as it was before Calibrate
// existed, kept as the twin that the wrapper must match exactly.
var NormalizeReference = normalizeReference

// Normalize returns a normalized copy of m (which must be simplified:
// no BatchNorm) and its report. src supplies the activations of m on the
// calibration sample.
func normalizeReference(m *graph.Model, src Source, cfg Config) (*graph.Model, *Report, error) {
	param, act := Targets(m)
	if len(param) == 0 {
		return nil, nil, errors.New("normalize: model has no Conv or Linear layer")
	}
	for i, l := range m.Nodes {
		if l.Op == graph.BatchNorm {
			return nil, nil, fmt.Errorf("normalize: layer %d %q: fold BatchNorm first (graph.Simplify)", i, l.Name)
		}
	}
	pcts := make([]float64, len(param))
	for i := range pcts {
		switch {
		case cfg.LayerPercentiles != nil:
			if len(cfg.LayerPercentiles) != len(param) {
				return nil, nil, fmt.Errorf("normalize: %d layer percentiles given, model has %d normalized layers", len(cfg.LayerPercentiles), len(param))
			}
			pcts[i] = cfg.LayerPercentiles[i]
		case cfg.Percentile == 0:
			pcts[i] = DefaultPercentile
		default:
			pcts[i] = cfg.Percentile
		}
		if !(pcts[i] > 0 && pcts[i] <= 100) {
			return nil, nil, fmt.Errorf("normalize: percentile %v outside (0, 100]", pcts[i])
		}
	}

	// Collect activations of the target layers.
	byAct := map[int]int{} // layer index → target index
	for t, a := range act {
		byAct[a] = t
	}
	// For pooling layers, normalization is inherited: skip their collection.
	fixed := make([]bool, len(param))
	for t, p := range param {
		op := m.Nodes[p].Op
		fixed[t] = op == graph.AvgPool || op == graph.GlobalAvgPool
	}
	samplers := make([]*hist, len(param))
	for t := range samplers {
		samplers[t] = newHist()
	}
	err := src(func(layer int, out []float32) {
		if t, ok := byAct[layer]; ok && !fixed[t] {
			samplers[t].add(out)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("normalize: calibration: %w", err)
	}

	rep := &Report{}
	nm := m.Clone()
	prev := 1.0
	for t, p := range param {
		l := nm.Nodes[p]
		st := LayerStat{Layer: p, Name: l.Name, Percentile: pcts[t]}
		scale := prev
		if !fixed[t] {
			s := samplers[t]
			if s.n == 0 {
				return nil, nil, fmt.Errorf("normalize: layer %d %q: no calibration activations (empty calibration set?)", p, l.Name)
			}
			scale = s.percentile(pcts[t], true)
			st.Values, st.Kept = int(s.n), int(s.n)
			st.AboveOne = s.fractionAbove(scale)
			if !(scale > 0) || math.IsInf(scale, 0) {
				return nil, nil, fmt.Errorf("normalize: layer %d %q: %v-th percentile of its activations is %v; the layer is dead or diverges on the calibration set", p, l.Name, pcts[t], scale)
			}
		}
		st.Scale = scale
		if l.Op == graph.Conv || l.Op == graph.Linear {
			wf := prev / scale
			for i := range l.W {
				l.W[i] = float32(float64(l.W[i]) * wf)
			}
			for i := range l.B {
				l.B[i] = float32(float64(l.B[i]) / scale)
			}
		}
		if st.AboveOne > 0.01 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %.2f %% of activations above 1 after normalization", l.Name, 100*st.AboveOne))
		}
		rep.Layers = append(rep.Layers, st)
		prev = scale
	}
	return nm, rep, nil
}
