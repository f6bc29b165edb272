package normalize

import (
	"errors"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// Calibration holds the histograms of the activations of a model's
// normalized layers (see the package doc, "Percentiles"), gathered in one
// pass over the calibration set: per layer, and per channel. It produces normalized
// models for any number of percentile choices without running the network
// again: Normalize(m, src, cfg) is Calibrate followed by
// (*Calibration).Normalize, with the same results.
//
// A Calibration is read-only after Calibrate; Normalize may be called
// concurrently.
type Calibration struct {
	model *graph.Model
	param []int    // parameter layer of each target
	act   []int    // activation layer of each target
	fixed []bool   // pooling targets: inherit P of their input
	hists []*hist  // nil for fixed targets
	chans [][]hist // per target, per channel; nil for fixed targets
	hw    []int    // values per channel and sample of each target
}

// newCalibration returns an empty Calibration of m's normalized layers,
// refusing a model with none or of a structure normalization does not
// handle.
func newCalibration(m *graph.Model) (*Calibration, error) {
	param, act := Targets(m)
	if len(param) == 0 {
		return nil, errors.New("normalize: model has no Conv or Linear layer")
	}
	if err := CheckStructure(m); err != nil {
		return nil, err
	}
	return &Calibration{model: m, param: param, act: act, fixed: make([]bool, len(param)),
		hists: make([]*hist, len(param)), chans: make([][]hist, len(param)), hw: make([]int, len(param))}, nil
}

// Calibrate runs src once and counts every activation value of every
// normalized layer of m in that layer's histograms (see the package doc,
// "Percentiles"). m must be simplified (no
// BatchNorm); it is not modified, and the Calibration keeps a reference to
// it. src may hand a layer's values over in any number of batches, in any
// order of samples: the result is the same.
func Calibrate(m *graph.Model, src Source) (*Calibration, error) {
	c, err := newCalibration(m)
	if err != nil {
		return nil, err
	}
	param, act := c.param, c.act
	byAct := map[int]int{} // layer index → target index
	for t, p := range param {
		op := m.Nodes[p].Op
		c.fixed[t] = op == graph.AvgPool || op == graph.GlobalAvgPool
		if !c.fixed[t] {
			c.hists[t] = newHist()
			ch, hw := channels(m.Nodes[act[t]].OutShape)
			c.chans[t] = make([]hist, ch)
			for i := range c.chans[t] {
				c.chans[t][i] = makeHist(chanBits)
			}
			c.hw[t] = hw
			// Clip(0, a) normalizes by a whatever the percentile, so its
			// histogram serves AboveOne only: it holds the values before
			// the clip, whose share above a is what the clip cuts (after
			// it, none is ever above a).
			key := act[t]
			if a := m.Nodes[act[t]]; a.Op == graph.Clip && a.Min == 0 && a.Max > 0 && act[t] != p {
				key = p
			}
			byAct[key] = t
		}
	}
	err = src(func(layer int, out []float32) {
		if t, ok := byAct[layer]; ok {
			addChannels(c.hists[t], c.chans[t], c.hw[t], out)
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
// graph.Op.AnnOnly but LeakyReLU). Add and Concat are accepted (SPEC §7:
// see Targets and Normalize). Before the first normalized layer an Affine
// is structure: it computes the first layer's input (P_0 = 1), and normalization leaves it alone. After
// one, its input would be a_l/P_l while its shift stays, so the layers
// behind it would no longer compute a_l/P_l.
func CheckStructure(m *graph.Model) error {
	prev := ""
	for i, l := range m.Nodes {
		switch l.Op {
		case graph.BatchNorm:
			return fmt.Errorf("normalize: node %d %q: fold BatchNorm first (graph.Simplify)", i, l.Name)
		case graph.Affine:
			if prev != "" {
				return fmt.Errorf("normalize: node %d %q (Affine): an input transform after layer %q cannot be normalized (its shift does not scale with 1/P); it may only come before the first Conv or Linear", i, l.Name, prev)
			}
		case graph.Conv, graph.Linear, graph.AvgPool, graph.GlobalAvgPool, graph.Add:
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
// percentiles of cfg, and its report. A model whose weights are already
// normalized (graph.Model.Normalized: quartz finetune's output) keeps
// them: every scale is 1, whatever the percentile, so the copy equals the
// model bit for bit (x·1 and x/1 are exact); the report still counts the
// activations above 1.
func (c *Calibration) Normalize(cfg Config) (*graph.Model, *Report, error) {
	pcts, err := percentiles(cfg, len(c.param))
	if err != nil {
		return nil, nil, err
	}
	if !c.model.IsChain() {
		return c.normalizeDAG(cfg, pcts)
	}
	rep := &Report{}
	nm := c.model.Clone()
	prev := 1.0
	pre := c.model.Normalized()
	for t, p := range c.param {
		l := nm.Nodes[p]
		st := LayerStat{Layer: p, Name: l.Name, Percentile: pcts[t]}
		scale := prev
		if !c.fixed[t] {
			s := c.hists[t]
			if s.n == 0 {
				return nil, nil, fmt.Errorf("normalize: node %d %q: no calibration activations (empty calibration set?)", p, l.Name)
			}
			scale = s.percentile(pcts[t], true)
			if a := nm.Nodes[c.act[t]]; a.Op == graph.Clip && a.Min == 0 && a.Max > 0 {
				// Clip(0, a): normalizing by a makes the clip exactly the
				// Quartz neuron's saturation at 1, whatever the percentile.
				scale = float64(a.Max)
			}
			if pre {
				scale = 1
			}
			st.Values, st.Kept = int(s.n), int(s.n)
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

// channels returns the channel count of an activation of shape s (its first
// axis; 1 for a scalar) and the values per channel and sample.
func channels(s []int) (ch, hw int) {
	if len(s) == 0 || s[0] < 1 {
		return 1, max(1, graph.Size(s))
	}
	return s[0], max(1, graph.Size(s)/s[0])
}

// addChannels counts out, [n, ch, hw], in the layer histogram h and the
// channel histograms cs.
func addChannels(h *hist, cs []hist, hw int, out []float32) {
	ch := len(cs)
	for i := 0; i+hw <= len(out); i += hw {
		addPair(h, &cs[(i/hw)%ch], out[i:i+hw])
	}
}

// target checks t, the index of a normalized layer, and reports whether
// it has statistics of its own (pooling layers that inherit their scale
// have none).
func (c *Calibration) target(t int) bool {
	if t < 0 || t >= len(c.param) {
		panic(fmt.Sprintf("normalize: normalized layer %d of %d", t, len(c.param)))
	}
	return !c.fixed[t]
}

// Values returns the number of activation values counted for normalized
// layer t (0-based, in the order of Config.LayerPercentiles); 0 for a
// pooling layer that inherits its scale.
func (c *Calibration) Values(t int) int64 {
	if !c.target(t) {
		return 0
	}
	return int64(c.hists[t].n)
}

// Percentile returns the nearest-rank p-th percentile (p in (0, 100]) of
// all activation values of normalized layer t, as Normalize uses it before
// any Clip override: within 2^-11 relative of the exact value (see the
// package doc, "Percentiles"). It is NaN for a pooling layer that inherits
// its scale, and when no values were counted.
func (c *Calibration) Percentile(t int, p float64) float64 {
	if !c.target(t) {
		return math.NaN()
	}
	return c.hists[t].percentile(p, true)
}

// Channels returns the number of channels of normalized layer t (the first
// axis of its activation: C of [C, H, W], the units of a Linear); 0 for a
// pooling layer that inherits its scale.
func (c *Calibration) Channels(t int) int {
	if !c.target(t) {
		return 0
	}
	return len(c.chans[t])
}

// ChannelMax returns the largest activation value of every channel of
// normalized layer t (exact; −Inf for a channel that saw no values), nil
// for a pooling layer that inherits its scale.
func (c *Calibration) ChannelMax(t int) []float64 {
	if !c.target(t) {
		return nil
	}
	out := make([]float64, len(c.chans[t]))
	for i := range c.chans[t] {
		out[i] = float64(c.chans[t][i].mx)
	}
	return out
}

// ChannelPercentile returns the nearest-rank p-th percentile (p in (0,
// 100]) of the activation values of every channel of normalized layer t, nil
// for a pooling layer that inherits its scale. The channel histograms are
// coarser than the layer's: a value is within 2^-6 (1.6 %) relative of the
// exact percentile (exact for zeros, the channel's maximum and a bin of
// equal values); NaN for a channel that saw no values.
func (c *Calibration) ChannelPercentile(t int, p float64) []float64 {
	if !c.target(t) {
		return nil
	}
	out := make([]float64, len(c.chans[t]))
	for i := range c.chans[t] {
		out[i] = c.chans[t][i].percentile(p, false)
	}
	return out
}

// Bytes returns the memory held by the histograms.
func (c *Calibration) Bytes() int64 {
	var b int64
	for t, h := range c.hists {
		if h == nil {
			continue
		}
		b += h.bytes()
		for i := range c.chans[t] {
			b += c.chans[t][i].bytes()
		}
	}
	return b
}
