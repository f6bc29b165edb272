package sweep

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/energy"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/shard"
)

// Partial is one shard's share of a sweep (quartz sweep --shard i/n). The
// work is the grid's points × the test samples, in grid order and sample
// order, split by shard.Spec.Range; a shard also runs the ANN on its
// slice of the samples. Everything is kept as integer counters
// (pipeline.Tally), so MergeShards writes the same files as Run.
type Partial struct {
	Manifest Manifest  `json:"manifest"`
	Tmax     []int     `json:"tmax"`
	Pcts     []float64 `json:"percentiles"`
	// CalibKey is the calibration's cache key (pipeline.CalibrationKey).
	CalibKey string `json:"calibration_key"`
	// ANN is the ANN's tally on this shard's samples.
	ANN ANNPart `json:"ann"`
	// Segments hold, per grid point this shard touches, its samples'
	// evaluation.
	Segments []Segment `json:"segments"`
	// Seconds is the shard's wall time.
	Seconds float64 `json:"seconds"`
	// SelectOn is where the best point is chosen (Config.SelectOn). With
	// SelectVal, Validation identifies the slice (its Accuracy empty) and
	// Val holds the validation accuracy of the grid points assigned to
	// this shard: point k goes to shard k mod n, so that each is measured
	// once.
	SelectOn   string      `json:"select_on"`
	Validation *Validation `json:"validation,omitempty"`
	Val        []ValPart   `json:"val,omitempty"`
}

// ValPart is a grid point's SNN accuracy on the validation slice.
type ValPart struct {
	Tmax       int     `json:"tmax"`
	Percentile float64 `json:"percentile"`
	Accuracy   float64 `json:"snn_accuracy"`
}

// ANNPart is the ANN's tally on the samples [Lo, Hi).
type ANNPart struct {
	Lo      int     `json:"lo"`
	Hi      int     `json:"hi"`
	Correct int64   `json:"correct"`
	MACs    int64   `json:"ann_macs"`
	Seconds float64 `json:"seconds"`
}

// Segment is a grid point's evaluation on some of its samples.
type Segment struct {
	Tmax       int     `json:"tmax"`
	Percentile float64 `json:"percentile"`
	pipeline.Part
}

// RunShard computes shard sp of the sweep of cfg (see Partial); it writes
// no file. The rate-coded baseline is not sharded.
func RunShard(ctx context.Context, m *graph.Model, calib, test *dataset.Set, cfg Config, sp shard.Spec) (*Partial, error) {
	t0 := time.Now()
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	if cfg.RateSteps != 0 {
		return nil, errors.New("the rate-coded baseline (rate steps) is not sharded; run it in an unsharded sweep")
	}
	if err := cfg.check(m, calib, test); err != nil {
		return nil, err
	}
	if err := m.InferShapes(); err != nil {
		return nil, err
	}
	if err := m.CheckFinite(); err != nil {
		return nil, err
	}
	s, err := graph.Simplify(m)
	if err != nil {
		return nil, fmt.Errorf("simplify: %w", err)
	}
	if err := s.InferShapes(); err != nil {
		return nil, err
	}
	pcfg := pipeline.Config{Calib: cfg.Calib, CalibSeed: cfg.CalibSeed, Threshold: cfg.Threshold, AnalogFirst: cfg.AnalogFirst, Workers: cfg.Workers}
	c := pcfg
	c.Tmax = slices.Max(cfg.Grid.Tmax)
	if err := pipeline.CheckConvertible(m, c); err != nil {
		return nil, err
	}
	used := len(pipeline.CalibIndices(calib.Len(), cfg.Calib, cfg.CalibSeed))
	key, err := pipeline.CalibrationKey(s, calib, used, cfg.CalibSeed)
	if err != nil {
		return nil, err
	}
	S := test.Len()
	part := &Partial{Manifest: Manifest{Format: Format, Version: 1, Model: cfg.ModelName, ModelID: cfg.ModelID, Data: test.Name,
		Samples: S, Calib: min(cfg.Calib, calib.Len()), CalibSeed: cfg.CalibSeed, Threshold: cfg.Threshold.String(),
		AnalogFirst: cfg.AnalogFirst}, Tmax: cfg.Grid.Tmax, Pcts: cfg.Grid.Percentiles, CalibKey: key, SelectOn: cfg.SelectOn}
	var valSet *dataset.Set
	if cfg.SelectOn == SelectVal {
		var v *Validation
		if valSet, v, err = valSlice(calib, cfg); err != nil {
			return nil, err
		}
		part.Validation = v
	}

	// The ANN on this shard's slice of the samples.
	lo, hi := sp.Range(int64(S))
	part.ANN = ANNPart{Lo: int(lo), Hi: int(hi), MACs: m.MACs()}
	subsets := map[[2]int]*dataset.Set{}
	subset := func(lo, hi int) (*dataset.Set, error) {
		// An image folder opened lazily is decoded once per slice, here.
		if lo == 0 && hi == S && !test.Lazy() {
			return test, nil
		}
		if s, ok := subsets[[2]int{lo, hi}]; ok {
			return s, nil
		}
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		s, err := test.Subset(idx)
		subsets[[2]int{lo, hi}] = s
		return s, err
	}
	if hi > lo {
		sub, err := subset(int(lo), int(hi))
		if err != nil {
			return nil, err
		}
		if part.ANN.Correct, part.ANN.Seconds, err = countANN(m, sub, cfg.Workers, cfg.Progress); err != nil {
			return nil, err
		}
	}

	// The grid points' samples, and the validation accuracy of the points
	// k ≡ index (mod count).
	points := cfg.Grid.Points()
	ulo, uhi := sp.Range(int64(len(points)) * int64(S))
	var segs []Segment
	seg := make([]int, len(points)) // index in segs + 1; 0: none
	valHere := func(k int) bool { return valSet != nil && k%sp.Count == sp.Index }
	work := 0
	for k, p := range points {
		a, b := max(ulo, int64(k)*int64(S)), min(uhi, int64(k+1)*int64(S))
		if a < b {
			segs = append(segs, Segment{Tmax: p.Tmax, Percentile: p.Percentile,
				Part: pipeline.Part{Lo: int(a - int64(k)*int64(S)), Hi: int(b - int64(k)*int64(S))}})
			seg[k] = len(segs)
		}
		if seg[k] > 0 || valHere(k) {
			work++
		}
	}
	if work > 0 {
		if err := pipeline.CheckMemory("calibrating "+cfg.ModelName, pipeline.EstimateConvert(s, calib, cfg.Workers), cfg.MaxMemory); err != nil {
			return nil, err
		}
		cal, n, _, notes, err := pipeline.CalibrateCached(ctx, s, calib, cfg.Calib, cfg.CalibSeed, cfg.Workers, cfg.Progress, cfg.Cache)
		if err != nil {
			return nil, err
		}
		if cfg.Progress != nil {
			for _, note := range notes {
				fmt.Fprintf(cfg.Progress, "note: %s\n", note)
			}
		}
		bar := newBar(cfg.Progress, "sweep shard "+sp.String(), work)
		var base *pipeline.Converted
		for k, p := range points {
			if seg[k] == 0 && !valHere(k) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var c pipeline.Converted
			if base, c, err = convertPoint(cal, base, s, n, pcfg, p); err != nil {
				return nil, err
			}
			if valHere(k) {
				r, err := pipeline.Evaluate(ctx, &c, valSet)
				if err != nil {
					return nil, fmt.Errorf("%s, validation slice: %w", p, err)
				}
				part.Val = append(part.Val, ValPart{Tmax: p.Tmax, Percentile: p.Percentile, Accuracy: r.SNNAccuracy})
			}
			if seg[k] > 0 {
				sg := &segs[seg[k]-1]
				sub, err := subset(sg.Lo, sg.Hi)
				if err != nil {
					return nil, err
				}
				t, err := pipeline.EvaluatePart(ctx, &c, sub, 0, sub.Len())
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
				sg.Base = pipeline.Base(&c, test)
				sg.Base.Model = cfg.ModelName
				sg.Layout = pipeline.LayoutOf(&c)
				sg.Tally = *t
			}
			bar.Add(1)
		}
		bar.Done()
	}
	part.Segments = segs
	part.Seconds = time.Since(t0).Seconds()
	return part, nil
}

// MergeShards merges the parts of every shard of one sweep (in shard
// order; shard.Check has checked their headers) and writes the files of
// Run under dir: the same bytes as an unsharded sweep, but for the wall
// times (each the sum of the shards') and with every point counted as
// computed. It refuses parts that leave a point's sample uncovered or
// cover it twice.
func MergeShards(dir string, parts []*Partial) (*Results, error) {
	if len(parts) == 0 {
		return nil, errors.New("no parts to merge")
	}
	p0 := parts[0]
	grid := Grid{Tmax: p0.Tmax, Percentiles: p0.Pcts}
	if err := grid.Validate(); err != nil {
		return nil, err
	}
	S := p0.Manifest.Samples
	ann := &annResult{Samples: S}
	var correct int64
	next := 0
	var seconds float64
	byPoint := map[Point][]*pipeline.Part{}
	for k, pt := range parts {
		if pt.Manifest != p0.Manifest || !slices.Equal(pt.Tmax, p0.Tmax) || !slices.Equal(pt.Pcts, p0.Pcts) || pt.CalibKey != p0.CalibKey ||
			pt.SelectOn != p0.SelectOn || !sameSlice(pt.Validation, p0.Validation) {
			return nil, fmt.Errorf("part %d is of another sweep than part 0", k)
		}
		a := pt.ANN
		if a.Lo == a.Hi {
			continue
		}
		if a.Lo != next || a.Hi < a.Lo {
			return nil, fmt.Errorf("part %d: the ANN's samples [%d, %d) do not follow [0, %d)", k, a.Lo, a.Hi, next)
		}
		next = a.Hi
		correct += a.Correct
		ann.Seconds += a.Seconds
		ann.MACs = a.MACs
	}
	if next != S {
		return nil, fmt.Errorf("the ANN's samples [%d, %d) are in no part", next, S)
	}
	acc := 100 * float64(correct) / float64(S)
	ann.Accuracy = &acc
	for _, pt := range parts {
		seconds += pt.Seconds
		for i := range pt.Segments {
			sg := &pt.Segments[i]
			p := Point{Tmax: sg.Tmax, Percentile: sg.Percentile}
			byPoint[p] = append(byPoint[p], &sg.Part)
		}
	}
	points := grid.Points()
	res := &Results{Format: Format, Version: 1, Model: p0.Manifest.Model, Data: p0.Manifest.Data, Samples: S,
		Tmax: grid.Tmax, Percentiles: grid.Percentiles, Points: make([]*pipeline.Result, len(points)), Computed: len(points)}
	for i, p := range points {
		segs := byPoint[p]
		if len(segs) == 0 {
			return nil, fmt.Errorf("%s is in no part", p)
		}
		delete(byPoint, p)
		r, err := pipeline.MergeParts(segs, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if err := setANN(r, ann); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		res.Points[i] = r
	}
	for p := range byPoint {
		return nil, fmt.Errorf("a part holds %s, which is not on the grid", p)
	}
	res.SelectOn = p0.SelectOn
	if res.SelectOn == "" {
		res.SelectOn = SelectTest // parts written before the choice was recorded
	}
	var vals []valPoint
	if p0.Validation != nil {
		v := *p0.Validation
		res.Validation = &v
		acc := map[Point]*float64{}
		for k, pt := range parts {
			for _, vp := range pt.Val {
				p := Point{Tmax: vp.Tmax, Percentile: vp.Percentile}
				if acc[p] != nil {
					return nil, fmt.Errorf("part %d: the validation accuracy of %s is in another part too", k, p)
				}
				a := vp.Accuracy
				acc[p] = &a
			}
		}
		v.Accuracy = make([]float64, len(points))
		for i, p := range points {
			if acc[p] == nil {
				return nil, fmt.Errorf("the validation accuracy of %s is in no part", p)
			}
			v.Accuracy[i] = *acc[p]
			vals = append(vals, valPoint{Tmax: p.Tmax, Percentile: p.Percentile, Data: v.Data, Samples: v.Samples, Calib: v.Calib, Seed: v.Seed, Accuracy: *acc[p]})
		}
		res.Validation.Accuracy = v.Accuracy
		res.Best = BestBy(res.Points, v.Accuracy)
	} else {
		res.Best = Best(res.Points)
	}
	res.Seconds = seconds

	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "sweep.json"), p0.Manifest); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "ann.json"), ann); err != nil {
		return nil, err
	}
	for i, p := range points {
		if err := writeJSON(pointPath(dir, p), res.Points[i]); err != nil {
			return nil, err
		}
	}
	for i, p := range points {
		if vals != nil {
			if err := writeJSON(valPath(dir, p), vals[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := res.Write(dir); err != nil {
		return nil, err
	}
	return res, nil
}

// sameSlice reports whether two parts name the same validation slice.
func sameSlice(a, b *Validation) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Data == b.Data && a.Samples == b.Samples && a.Calib == b.Calib && a.Seed == b.Seed
}

// setANN puts the sweep's ANN numbers into a point's result and derives
// its energy estimates, which include the ANN's.
func setANN(r *pipeline.Result, ann *annResult) error {
	r.ANNAccuracy, r.ANNMACs, r.SecondsANN = ann.Accuracy, ann.MACs, ann.Seconds
	var err error
	r.Energy, err = energy.EstimateAll(energy.DefaultProfiles(), pipeline.QuartzActivity(r), float64(r.ANNMACs))
	return err
}
