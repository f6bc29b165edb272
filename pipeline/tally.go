package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/snn"
)

// An evaluation splits into three parts so that it can run in shards and be
// merged exactly (quartz eval --shard, quartz merge):
//
//   - the header, a Result without counters (Base): the configuration,
//     the calibration, the warnings;
//   - the Layout: what the metrics need from the converted network
//     (layer names, sizes, windows, normalization scales, MACs);
//   - the Tally: integer counters summed over the samples evaluated, and
//     the wall time.
//
// Finish derives every mean, percentage, interval and energy of a Result
// from the three, so a Result is a function of the summed integers alone:
// tallies of disjoint slices that cover the test set sum to the tally of
// the whole set, and Finish gives the same bits as an unsharded run.

// Tally holds the integer counters of an evaluation of some samples.
type Tally struct {
	// SNN sums the simulator's counters (snn.Summary; Samples is the number
	// of samples tallied).
	SNN snn.Summary `json:"snn"`
	// With the ANN (HasANN): ANNCorrect counts samples the ANN classifies
	// correctly, Agree those where ANN and SNN give the same class, and
	// Both, ANNOnly, SNNOnly, Neither the paired 2×2 table of correct
	// answers (AccuracyStats).
	HasANN     bool  `json:"has_ann"`
	ANNCorrect int64 `json:"ann_correct"`
	Agree      int64 `json:"agree"`
	Both       int64 `json:"both_correct"`
	ANNOnly    int64 `json:"ann_only_correct"`
	SNNOnly    int64 `json:"snn_only_correct"`
	Neither    int64 `json:"neither_correct"`
	// SecondsANN and SecondsSNN are wall times (not summed exactly: they
	// are the only inexact fields of a merged result).
	SecondsANN float64 `json:"seconds_ann"`
	SecondsSNN float64 `json:"seconds_snn"`
}

// Merge adds o's counters and times to t.
func (t *Tally) Merge(o *Tally) {
	if len(t.SNN.Layers) == 0 {
		// An empty tally (no samples) has no layer counters yet:
		// snn.Summary.Merge sizes them from o's.
		t.SNN.Layers = nil
	}
	t.SNN.Merge(&o.SNN)
	t.HasANN = t.HasANN || o.HasANN
	t.ANNCorrect += o.ANNCorrect
	t.Agree += o.Agree
	t.Both += o.Both
	t.ANNOnly += o.ANNOnly
	t.SNNOnly += o.SNNOnly
	t.Neither += o.Neither
	t.SecondsANN += o.SecondsANN
	t.SecondsSNN += o.SecondsSNN
}

// Layout is what the metrics of a Result need from the converted network.
type Layout struct {
	Neurons       int           `json:"neurons"`
	RelayNeurons  int           `json:"relay_neurons"`
	SignedNeurons int           `json:"signed_neurons,omitempty"`
	Layers        []LayerLayout `json:"layers"`
}

// LayerLayout is one SNN layer of a Layout.
type LayerLayout struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // as LayerResult.Kind ("analog conv", …)
	Shape   []int  `json:"shape"`
	Neurons int    `json:"neurons"`
	T       int    `json:"t,omitempty"`
	Spiking bool   `json:"spiking,omitempty"`
	Rectify bool   `json:"rectify,omitempty"`
	MaxPool bool   `json:"max_pool,omitempty"`
	// HasNorm: Scale and AboveOne come from the normalization report.
	HasNorm  bool    `json:"has_norm,omitempty"`
	Scale    float64 `json:"norm_scale,omitempty"`
	AboveOne float64 `json:"norm_above_one,omitempty"`
	MACs     int64   `json:"ann_macs,omitempty"`
}

// LayoutOf returns the Layout of c's SNN.
func LayoutOf(c *Converted) *Layout {
	lay := &Layout{SignedNeurons: c.SNN.Signed}
	lay.Neurons, lay.RelayNeurons = c.SNN.Neurons()
	norm := map[string]int{}
	if c.Norm != nil {
		for i, st := range c.Norm.Layers {
			norm[st.Name] = i
		}
	}
	macs := layerMACs(c)
	for _, l := range c.SNN.Layers {
		ll := LayerLayout{Name: l.Name, Kind: l.Kind.String(), Shape: l.OutShape, Neurons: l.Size(), T: l.T,
			Spiking: l.Spiking(), Rectify: l.Rectify, MaxPool: l.Kind == snn.MaxPool}
		if l.Analog {
			ll.Kind = "analog " + ll.Kind
		}
		if k, ok := norm[l.Name]; ok {
			ll.HasNorm, ll.Scale, ll.AboveOne = true, c.Norm.Layers[k].Scale, c.Norm.Layers[k].AboveOne
		}
		ll.MACs = macs[l.Name]
		lay.Layers = append(lay.Layers, ll)
	}
	return lay
}

// omega is snn.Network.Omega on the layout: sigma + 2·Σν_l·T_l over the
// spiking layers, summed in the same order.
func (lay *Layout) omega(sigma float64) float64 {
	o := sigma
	for _, l := range lay.Layers {
		if l.Spiking {
			o += 2 * float64(l.Neurons) * float64(l.T)
		}
	}
	return o
}

// Base returns the header of c's evaluation on test: a Result with the
// configuration and warnings and no counters.
func Base(c *Converted, test *dataset.Set) *Result {
	cfg := c.Config
	res := &Result{Model: c.SNN.Name, Data: test.Name, Samples: test.Len(), Tmax: cfg.Tmax, TmaxLayers: cfg.TmaxLayers,
		Percentile: cfg.Percentile, Threshold: c.SNN.Threshold.String(), Analog: cfg.AnalogFirst, CalibSize: c.CalibSize,
		PercentileAuto: c.Auto, PreNormalized: c.ANN != nil && c.ANN.Normalized() || c.Simplified != nil && c.Simplified.Normalized()}
	if c.Norm != nil {
		res.Warnings = append(res.Warnings, c.Norm.Warnings...)
	}
	res.Warnings = append(res.Warnings, c.SNN.Warnings...)
	if c.ANN != nil {
		res.ANNMACs = c.ANN.MACs()
	}
	return res
}

// Finish returns a copy of base with every metric derived from lay and t:
// counts as means per sample, percentages, Ω, energy, and with stats the
// accuracy intervals (EvalOptions.Stats). t must hold at least one sample.
func Finish(base *Result, lay *Layout, t *Tally, stats bool) *Result {
	res := *base
	res.Layers = nil
	res.Samples = int(t.SNN.Samples)
	res.SecondsANN, res.SecondsSNN = t.SecondsANN, t.SecondsSNN
	n := float64(t.SNN.Samples)
	if t.HasANN {
		acc := 100 * float64(t.ANNCorrect) / n
		agree := 100 * float64(t.Agree) / n
		res.ANNAccuracy, res.Agreement = &acc, &agree
	}
	fill(&res, lay, &t.SNN)
	if stats {
		res.Stats = statsFromCounts(int(t.SNN.Samples), int(t.SNN.Correct), t.HasANN,
			int(t.Both), int(t.ANNOnly), int(t.SNNOnly), int(t.Neither))
	}
	return &res
}

// EvaluatePart evaluates the samples [lo, hi) of test (the ANN, when c.ANN
// is set, and the SNN) and returns their tally; Base(c, test) and
// LayoutOf(c) complete it. Tallies of slices that cover test once sum to
// the tally of Evaluate on test.
func EvaluatePart(ctx context.Context, c *Converted, test *dataset.Set, lo, hi int) (*Tally, error) {
	if lo < 0 || hi > test.Len() || lo >= hi {
		return nil, fmt.Errorf("samples [%d, %d) of %s: want a non-empty slice of 0..%d", lo, hi, test.Name, test.Len())
	}
	sub := test
	if lo != 0 || hi != test.Len() {
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		var err error
		if sub, err = test.Subset(idx); err != nil {
			return nil, err
		}
	}
	if err := checkSNNShape(c.SNN, sub); err != nil {
		return nil, err
	}
	t, _, err := tally(ctx, c, sub, EvalOptions{})
	return t, err
}

// tally runs the ANN (when c.ANN is set) and the SNN on every sample of
// test and counts; with opt.PerSample or opt.Outputs it also returns the
// per-sample records.
func tally(ctx context.Context, c *Converted, test *dataset.Set, opt EvalOptions) (*Tally, []SamplePrediction, error) {
	cfg := c.Config
	t := &Tally{}
	labels := labels32(test)
	var annPred []int32
	var annOut [][]float32
	if c.ANN != nil {
		annBar := progress.OnTerminal(cfg.Progress, "ANN", test.Len())
		pred, out, dt, err := annOutputs(c.ANN, test, cfg.Workers, opt.Outputs)
		if err != nil {
			return nil, nil, err
		}
		annBar.Add(test.Len())
		annBar.Done()
		annPred, annOut = pred, out
		t.SecondsANN = dt.Seconds()
		t.HasANN = true
	}

	sim, err := snn.NewSim(c.SNN, cfg.Workers)
	if err != nil {
		return nil, nil, err
	}
	bar := progress.OnTerminal(cfg.Progress, "simulate", test.Len())
	snnPred := make([]int32, test.Len())
	var per []SamplePrediction
	if opt.PerSample || opt.Outputs {
		per = make([]SamplePrediction, test.Len())
	}
	last := len(c.SNN.Layers) - 1
	end, tout := c.SNN.EndStep(), c.SNN.Layers[last].TOut
	var mu sync.Mutex
	t0 := time.Now()
	lo := 0
	err = test.Chunks(nil, 1000, func(x []float32, _ []int32, n int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := sim.RunContext(ctx, x, n, func(i int, r *snn.SampleResult) {
			mu.Lock()
			t.SNN.Add(r, labels[lo+i], true)
			snnPred[lo+i] = int32(r.Class)
			if per == nil {
				mu.Unlock()
				return
			}
			p := &per[lo+i]
			p.SNN, p.Tie, p.FirstSpike = r.Class, r.Tie, int(r.FirstSpike)
			if opt.Outputs && tout > 0 {
				p.SNNOut = decodeOutputs(r.Times[last], end, tout)
			}
			mu.Unlock()
		})
		if err != nil {
			return err
		}
		lo += n
		bar.Add(n)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	t.SecondsSNN = time.Since(t0).Seconds()
	bar.Done()

	for i := range per {
		per[i].Index, per[i].Label, per[i].ANN = i, int(labels[i]), -1
		if annPred != nil {
			per[i].ANN = int(annPred[i])
		}
		if annOut != nil {
			per[i].ANNOut = annOut[i]
		}
	}
	if annPred != nil {
		for i, l := range labels {
			if annPred[i] == snnPred[i] {
				t.Agree++
			}
			ann, s := annPred[i] == l, snnPred[i] >= 0 && snnPred[i] == l
			switch {
			case ann && s:
				t.Both++
			case ann:
				t.ANNOnly++
			case s:
				t.SNNOnly++
			default:
				t.Neither++
			}
		}
		t.ANNCorrect = t.Both + t.ANNOnly
	}
	return t, per, nil
}

// CalibrationKey returns the calibration cache key of a calibration of the
// simplified model s on used samples of calib drawn with seed: the same
// key whether or not a cache is in use, so that shards of one run can
// check that they share one calibration.
func CalibrationKey(s *graph.Model, calib *dataset.Set, used int, seed uint64) (string, error) {
	return calibKey(s, calib, used, seed)
}

// Part is the evaluation of the samples [Lo, Hi) of a test set, what a
// shard stores: the header and layout of the whole evaluation and the
// slice's tally.
type Part struct {
	Lo     int     `json:"lo"`
	Hi     int     `json:"hi"`
	Base   *Result `json:"base"`
	Layout *Layout `json:"layout"`
	Tally  Tally   `json:"tally"`
}

// MergeParts sums parts that cover the samples 0..Base.Samples exactly
// once (a part may be empty: more shards than samples) and returns the Result (Finish, with stats as EvalOptions.Stats):
// the same bits as an evaluation of the whole set, but for the wall times,
// which are the sums of the parts'. Parts whose header (but for
// PercentileAuto.Cached, set when every part read it from the cache) or
// layout differ, or whose slices overlap or leave a gap, are refused.
func MergeParts(parts []*Part, stats bool) (*Result, error) {
	if len(parts) == 0 {
		return nil, errors.New("no parts to merge")
	}
	sorted := slices.Clone(parts)
	slices.SortStableFunc(sorted, func(a, b *Part) int {
		if c := cmp.Compare(a.Lo, b.Lo); c != 0 {
			return c
		}
		return cmp.Compare(a.Hi, b.Hi) // an empty slice first
	})
	first := sorted[0]
	if first.Base == nil || first.Layout == nil {
		return nil, errors.New("part without header or layout")
	}
	if first.Base.Samples < 1 {
		return nil, fmt.Errorf("parts of an evaluation of %d samples", first.Base.Samples)
	}
	baseJS, err := headerJSON(first.Base)
	if err != nil {
		return nil, err
	}
	layJS, err := json.Marshal(first.Layout)
	if err != nil {
		return nil, err
	}
	var sum Tally
	cached := true
	next := 0
	for _, p := range sorted {
		if p.Base == nil || p.Layout == nil {
			return nil, fmt.Errorf("samples [%d, %d): part without header or layout", p.Lo, p.Hi)
		}
		switch {
		case p.Lo > next:
			return nil, fmt.Errorf("samples [%d, %d) are in no part", next, p.Lo)
		case p.Lo < next:
			return nil, fmt.Errorf("samples [%d, %d) are in more than one part", p.Lo, min(next, p.Hi))
		case p.Hi < p.Lo:
			return nil, fmt.Errorf("part with the slice [%d, %d)", p.Lo, p.Hi)
		case int64(p.Hi-p.Lo) != p.Tally.SNN.Samples:
			return nil, fmt.Errorf("samples [%d, %d): the part tallies %d samples", p.Lo, p.Hi, p.Tally.SNN.Samples)
		}
		js, err := headerJSON(p.Base)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(js, baseJS) {
			return nil, fmt.Errorf("samples [%d, %d): the part's configuration differs from that of samples [%d, %d)", p.Lo, p.Hi, first.Lo, first.Hi)
		}
		if js, err = json.Marshal(p.Layout); err != nil {
			return nil, err
		}
		if !bytes.Equal(js, layJS) {
			return nil, fmt.Errorf("samples [%d, %d): the part's network differs from that of samples [%d, %d)", p.Lo, p.Hi, first.Lo, first.Hi)
		}
		if p.Base.PercentileAuto != nil && !p.Base.PercentileAuto.Cached {
			cached = false
		}
		sum.Merge(&p.Tally)
		next = p.Hi
	}
	if next != first.Base.Samples {
		return nil, fmt.Errorf("samples [%d, %d) are in no part", next, first.Base.Samples)
	}
	base := *first.Base
	if base.PercentileAuto != nil {
		a := *base.PercentileAuto
		a.Cached = cached
		base.PercentileAuto = &a
	}
	return Finish(&base, first.Layout, &sum, stats), nil
}

// headerJSON encodes a part's header for comparison: without the counts
// (zero in a header) and PercentileAuto.Cached.
func headerJSON(r *Result) ([]byte, error) {
	h := *r
	if h.PercentileAuto != nil {
		a := *h.PercentileAuto
		a.Cached = false
		h.PercentileAuto = &a
	}
	return json.Marshal(&h)
}

// Check reports a tally that no evaluation gives for the layout lay: a
// negative counter, a count above the samples, a paired table that does
// not add up, or per-layer counters for another number of layers. Tallies
// read from files are checked before they are merged.
func (t *Tally) Check(lay *Layout) error {
	s := &t.SNN
	n := s.Samples
	if n < 0 {
		return fmt.Errorf("tally of %d samples", n)
	}
	for _, c := range []struct {
		name string
		v    int64
	}{{"correct", s.Correct}, {"ties", s.Ties}, {"no class", s.NoClass}, {"ann correct", t.ANNCorrect}, {"agree", t.Agree},
		{"both correct", t.Both}, {"ann only", t.ANNOnly}, {"snn only", t.SNNOnly}, {"neither", t.Neither}} {
		if c.v < 0 || c.v > n {
			return fmt.Errorf("tally: %s %d of %d samples", c.name, c.v, n)
		}
	}
	if s.Clamped < 0 || s.FirstSpike < 0 || s.Steps < 0 {
		return errors.New("tally: a negative counter")
	}
	if t.HasANN && (t.Both+t.ANNOnly+t.SNNOnly+t.Neither != n || t.ANNCorrect != t.Both+t.ANNOnly) {
		return errors.New("tally: the paired table does not add up to the samples")
	}
	if n > 0 && len(s.Layers) != len(lay.Layers) || n == 0 && len(s.Layers) != 0 && len(s.Layers) != len(lay.Layers) {
		return fmt.Errorf("tally: counters of %d layers for a network of %d", len(s.Layers), len(lay.Layers))
	}
	for _, l := range s.Layers {
		if l.Spikes < 0 || l.SynEvents < 0 || l.BiasEvents < 0 || l.ReadoutEvents < 0 || l.RectifierEvents < 0 ||
			l.CurrentUpdates < 0 || l.Early < 0 || l.Rectified < 0 || l.DelayedSynapses < 0 || l.DelaySteps < 0 {
			return errors.New("tally: a negative layer counter")
		}
	}
	for _, l := range lay.Layers {
		if l.Neurons < 0 || l.T < 0 {
			return errors.New("layout: a negative size")
		}
	}
	if math.IsNaN(t.SecondsANN) || math.IsNaN(t.SecondsSNN) || math.IsInf(t.SecondsANN, 0) || math.IsInf(t.SecondsSNN, 0) {
		return errors.New("tally: wall time not a number")
	}
	return nil
}

// layerMACs returns the ANN MACs of each SNN layer of c by name: those of
// the simplified model's node of the same name, plus those of every node
// merged into it (SPEC §7: a Conv read only by an Add is an input group of
// the Add's layer), found by following each unnamed node's first reader
// down to a node that is a layer.
func layerMACs(c *Converted) map[string]int64 {
	macs := map[string]int64{}
	if c.Simplified == nil || c.SNN == nil {
		return macs
	}
	layer := map[string]bool{}
	for _, l := range c.SNN.Layers {
		layer[l.Name] = true
	}
	m := c.Simplified
	cons := m.Consumers()
	for i, gl := range m.Nodes {
		n := gl.MACs()
		if n == 0 {
			continue
		}
		j := i
		for !layer[m.Nodes[j].Name] && len(cons[j]) > 0 {
			j = cons[j][0]
		}
		if layer[m.Nodes[j].Name] {
			macs[m.Nodes[j].Name] += n
		}
	}
	return macs
}
