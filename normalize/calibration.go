package normalize

import (
	"errors"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// Calibration holds the activation samples of a model's normalized layers,
// gathered in one pass over the calibration set. It produces normalized
// models for any number of percentile choices without running the network
// again: Normalize(m, src, cfg) is Calibrate followed by
// (*Calibration).Normalize, with the same results.
//
// A Calibration is read-only after Calibrate; Normalize may be called
// concurrently.
type Calibration struct {
	model    *graph.Model
	param    []int      // parameter layer of each target
	act      []int      // activation layer of each target
	fixed    []bool     // pooling targets: inherit P of their input
	samplers []*sampler // nil for fixed targets
}

// Calibrate runs src once and keeps up to maxValues activation values per
// normalized layer of m (0 means DefaultMaxValues; see the package doc,
// "Percentiles"). m must be simplified (no BatchNorm); it is not modified,
// and the Calibration keeps a reference to it.
func Calibrate(m *graph.Model, src Source, maxValues int) (*Calibration, error) {
	param, act := Targets(m)
	if len(param) == 0 {
		return nil, errors.New("normalize: model has no Conv or Linear layer")
	}
	if err := CheckStructure(m); err != nil {
		return nil, err
	}
	if maxValues <= 0 {
		maxValues = DefaultMaxValues
	}
	c := &Calibration{model: m, param: param, act: act, fixed: make([]bool, len(param)), samplers: make([]*sampler, len(param))}
	byAct := map[int]int{} // layer index → target index
	for t, p := range param {
		op := m.Nodes[p].Op
		c.fixed[t] = op == graph.AvgPool || op == graph.GlobalAvgPool
		if !c.fixed[t] {
			c.samplers[t] = &sampler{max: maxValues}
			byAct[act[t]] = t
		}
	}
	err := src(func(layer int, out []float32) {
		if t, ok := byAct[layer]; ok {
			c.samplers[t].add(out)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("normalize: calibration: %w", err)
	}
	return c, nil
}

// CheckStructure refuses the nodes normalization cannot scale: BatchNorm
// (fold it first), an Affine after a normalized layer, an op that is not
// positively homogeneous (f(x/P) ≠ f(x)/P: the ANN-only ops of
// graph.Op.AnnOnly but LeakyReLU), and a model that is not a chain
// (graph.ErrBranching): normalizing the branches of a DAG is not built yet.
// Before the first normalized layer an Affine is structure: it computes the
// first layer's input (P_0 = 1), and normalization leaves it alone. After
// one, its input would be a_l/P_l while its shift stays, so the layers
// behind it would no longer compute a_l/P_l.
func CheckStructure(m *graph.Model) error {
	if err := m.CheckChain(); err != nil {
		return fmt.Errorf("normalize: %w (normalizing a DAG is not built)", err)
	}
	prev := ""
	for i, l := range m.Nodes {
		switch l.Op {
		case graph.BatchNorm:
			return fmt.Errorf("normalize: node %d %q: fold BatchNorm first (graph.Simplify)", i, l.Name)
		case graph.Affine:
			if prev != "" {
				return fmt.Errorf("normalize: node %d %q (Affine): an input transform after layer %q cannot be normalized (its shift does not scale with 1/P); it may only come before the first Conv or Linear", i, l.Name, prev)
			}
		case graph.Conv, graph.Linear, graph.AvgPool, graph.GlobalAvgPool:
			prev = l.Name
		case graph.LeakyReLU:
			// Positively homogeneous: normalizes as ReLU does.
		default:
			if why := l.Op.AnnOnly(); why != "" {
				return fmt.Errorf("normalize: node %d %q (%v) runs in the ANN only and cannot be normalized: %s", i, l.Name, l.Op, why)
			}
		}
	}
	return nil
}

// Model returns the model the calibration was measured on.
func (c *Calibration) Model() *graph.Model { return c.model }

// Layers returns the number of normalized layers (the length of
// Config.LayerPercentiles).
func (c *Calibration) Layers() int { return len(c.param) }

// percentiles resolves cfg into one percentile per normalized layer.
func percentiles(cfg Config, n int) ([]float64, error) {
	pcts := make([]float64, n)
	if cfg.LayerPercentiles != nil && len(cfg.LayerPercentiles) != n {
		return nil, fmt.Errorf("normalize: %d layer percentiles given, model has %d normalized layers", len(cfg.LayerPercentiles), n)
	}
	for i := range pcts {
		switch {
		case cfg.LayerPercentiles != nil:
			pcts[i] = cfg.LayerPercentiles[i]
		case cfg.Percentile == 0:
			pcts[i] = DefaultPercentile
		default:
			pcts[i] = cfg.Percentile
		}
		if !(pcts[i] > 0 && pcts[i] <= 100) {
			return nil, fmt.Errorf("normalize: percentile %v outside (0, 100]", pcts[i])
		}
	}
	return pcts, nil
}

// Normalize returns a normalized copy of the calibrated model for the
// percentiles of cfg (cfg.MaxValues is ignored: the values were kept by
// Calibrate), and its report.
func (c *Calibration) Normalize(cfg Config) (*graph.Model, *Report, error) {
	pcts, err := percentiles(cfg, len(c.param))
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{}
	nm := c.model.Clone()
	prev := 1.0
	for t, p := range c.param {
		l := nm.Nodes[p]
		st := LayerStat{Layer: p, Name: l.Name, Percentile: pcts[t]}
		scale := prev
		if !c.fixed[t] {
			s := c.samplers[t]
			if s.seen == 0 {
				return nil, nil, fmt.Errorf("normalize: node %d %q: no calibration activations (empty calibration set?)", p, l.Name)
			}
			scale = s.percentile(pcts[t])
			if a := nm.Nodes[c.act[t]]; a.Op == graph.Clip && a.Min == 0 && a.Max > 0 {
				// Clip(0, a): normalizing by a makes the clip exactly the
				// Quartz neuron's saturation at 1, whatever the percentile.
				scale = float64(a.Max)
			}
			st.Values, st.Kept = s.seen, len(s.vals)
			st.AboveOne = s.fractionAbove(scale)
			if !(scale > 0) || math.IsInf(scale, 0) {
				return nil, nil, fmt.Errorf("normalize: node %d %q: %v-th percentile of its activations is %v; the layer is dead or diverges on the calibration set", p, l.Name, pcts[t], scale)
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
		if a := nm.Nodes[c.act[t]]; a.Op == graph.Clip {
			// The normalized model clips the normalized activation.
			a.Min = float32(float64(a.Min) / scale)
			a.Max = float32(float64(a.Max) / scale)
		}
		if st.AboveOne > 0.01 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %.2f %% of activations above 1 after normalization", l.Name, 100*st.AboveOne))
		}
		rep.Layers = append(rep.Layers, st)
		prev = scale
	}
	return nm, rep, nil
}
