package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/snn"
)

// AutoCandidates are the percentiles --percentile auto tries, and
// DefaultAutoSamples the size of its validation slice.
var AutoCandidates = []float64{99, 99.5, 99.9, 99.95, 99.99, 100}

const DefaultAutoSamples = 1000

// AutoChoice records how --percentile auto chose (`quartz eval --json`
// prints it as "percentile_auto").
type AutoChoice struct {
	Candidates []float64 `json:"candidates"`
	// Agreement is, per candidate, the % of validation samples where the
	// SNN predicts the ANN's class; −1 where the candidate does not
	// convert (a layer dead at that percentile).
	Agreement []float64 `json:"agreement"`
	Chosen    float64   `json:"chosen"`
	Samples   int       `json:"samples"` // validation samples
	// Source says where the validation slice came from.
	Source string `json:"source"`
	Tmax   int    `json:"tmax"`
	Cached bool   `json:"cached,omitempty"` // read back from the cache

	// With --percentile-layers auto: Layers is the per-layer choice
	// (chooseLayers), LayersAgreement its agreement on the same slice, and
	// LayersChosen reports that it agreed on more samples than Chosen did
	// and is used instead.
	Layers          []float64 `json:"layers,omitempty"`
	LayersAgreement float64   `json:"layers_agreement,omitempty"`
	LayersChosen    bool      `json:"layers_chosen,omitempty"`
}

// Note is the one-line account of the choice printed on stderr.
func (a *AutoChoice) Note() string {
	s := fmt.Sprintf("percentile auto: chose %g, the best SNN–ANN agreement at Tmax %d on %d %s (", a.Chosen, a.Tmax, a.Samples, a.Source)
	for i, p := range a.Candidates {
		if i > 0 {
			s += ", "
		}
		if a.Agreement[i] < 0 {
			s += fmt.Sprintf("%g: does not convert", p)
		} else {
			s += fmt.Sprintf("%g: %.2f %%", p, a.Agreement[i])
		}
	}
	s += "; ties go to the higher percentile, which clips fewer activations)"
	if a.Layers != nil {
		verdict := "kept the single percentile"
		if a.LayersChosen {
			verdict = "used them"
		}
		s += fmt.Sprintf("; per layer (least encoding error at Tmax %d, then one pass over the layers on the slice): %s, %.2f %%, %s", a.Tmax, PercentileList(a.Layers), a.LayersAgreement, verdict)
	}
	if a.Cached {
		s += " [cached]"
	}
	return s
}

// SplitIndices draws the calibration sample and the validation slice of
// --percentile auto from one PCG permutation of n training samples seeded
// by seed: calib is CalibIndices(n, k, seed), the first min(k, n) samples
// of the permutation, and valid the next min(v, n−k), both sorted; the two
// never overlap. valid is empty when the calibration takes every sample.
func SplitIndices(n, k, v int, seed uint64) (calib, valid []int) {
	calib = CalibIndices(n, k, seed)
	if k >= n || v <= 0 {
		return calib, nil
	}
	perm := calibPerm(n, seed)
	valid = slices.Clone(perm[k:min(n, k+v)])
	slices.Sort(valid)
	return calib, valid
}

// choose picks the candidate with the highest agreement; ties go to the
// higher percentile. It returns −1 when none converts.
func choose(cands, agree []float64) int {
	best := -1
	for i := range cands {
		if agree[i] < 0 {
			continue
		}
		if best < 0 || agree[i] > agree[best] || agree[i] == agree[best] && cands[i] > cands[best] {
			best = i
		}
	}
	return best
}

// ChoosePercentile is --percentile auto: for each candidate percentile it
// normalizes the calibrated model (cal, one calibration pass for all),
// converts it with cfg (Tmax, threshold, analog first) and simulates the
// validation samples valid of set (which must not be the test set: callers
// pass samples of the training split held out of the calibration draw),
// and returns the candidate whose SNN predicts the class of the ANN ann
// (the model as given) on most samples. Ties go to the higher percentile:
// on the slice they are equal, and the higher one clips fewer activations,
// the error that grows on inputs unlike the slice.
//
// With layers set (--percentile-layers auto) it then searches one
// percentile per layer (chooseLayers) and keeps that only where it agrees
// on more samples than the best single percentile.
func ChoosePercentile(ctx context.Context, ann *graph.Model, cal *normalize.Calibration, set *dataset.Set, valid []int, cands []float64, layers bool, cfg Config) (*AutoChoice, error) {
	if len(valid) == 0 {
		return nil, errors.New("percentile auto: no validation samples")
	}
	if len(cands) == 0 {
		cands = AutoCandidates
	}
	if layers && len(cfg.TmaxLayers) > 0 {
		return nil, errors.New("percentile auto per layer: needs one Tmax for every layer (per-layer Tmax was given)")
	}
	a := &AutoChoice{Candidates: slices.Clone(cands), Agreement: make([]float64, len(cands)), Samples: len(valid), Tmax: cfg.Tmax}
	// The slice in memory: a lazy set decodes each image once, not once
	// per candidate.
	set, err := set.Subset(valid)
	if err != nil {
		return nil, err
	}
	annPred, err := annClasses(ctx, ann, set, cfg.Workers)
	if err != nil {
		return nil, err
	}
	runs := len(cands)
	if layers {
		// The encoding-error start and the pass over the layers.
		tunable := 0
		for _, t := range cal.Tunable() {
			if t {
				tunable++
			}
		}
		runs += 1 + tunable*(len(cands)-1)
	}
	bar := progress.OnTerminal(cfg.Progress, "percentile auto", runs*set.Len())
	defer bar.Done()
	for i, p := range cands {
		a.Agreement[i], err = agreement(ctx, cal, normalize.Config{Percentile: p}, set, annPred, cfg, bar)
		if err != nil {
			return nil, err
		}
	}
	k := choose(a.Candidates, a.Agreement)
	if k < 0 {
		return nil, fmt.Errorf("percentile auto: no candidate of %v converts (a layer is dead on the calibration set at every one)", cands)
	}
	a.Chosen = a.Candidates[k]
	if layers {
		if err := a.chooseLayers(ctx, cal, set, annPred, cfg, bar); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// chooseLayers is the per-layer search of --percentile-layers auto. It
// starts from the better (on the slice; ties: the single percentile) of
// a.Chosen for every layer and each layer's candidate of least encoding
// error at Tmax (normalize.ChooseLayerPercentiles), then makes one pass
// over the layers in order, moving each to the candidate that raises the
// agreement most (strictly) with the others fixed. It records the result
// in a.Layers and a.LayersAgreement, and a.LayersChosen where it agrees on
// more samples than a.Chosen alone.
func (a *AutoChoice) chooseLayers(ctx context.Context, cal *normalize.Calibration, set *dataset.Set, annPred []int32, cfg Config, bar *progress.Bar) error {
	base := a.Agreement[slices.Index(a.Candidates, a.Chosen)]
	cur := make([]float64, cal.Layers())
	for t := range cur {
		cur[t] = a.Chosen
	}
	best := base
	enc, err := cal.ChooseLayerPercentiles(a.Candidates, a.Tmax)
	if err != nil {
		return err
	}
	if !slices.Equal(enc, cur) {
		ag, err := agreement(ctx, cal, normalize.Config{LayerPercentiles: enc}, set, annPred, cfg, bar)
		if err != nil {
			return err
		}
		if ag > best {
			cur, best = enc, ag
		}
	}
	for t, tunable := range cal.Tunable() {
		if !tunable {
			continue
		}
		keep := cur[t]
		for _, p := range a.Candidates {
			if p == keep {
				continue
			}
			try := slices.Clone(cur)
			try[t] = p
			ag, err := agreement(ctx, cal, normalize.Config{LayerPercentiles: try}, set, annPred, cfg, bar)
			if err != nil {
				return err
			}
			if ag > best {
				cur, best = try, ag
			}
		}
	}
	a.Layers, a.LayersAgreement, a.LayersChosen = cur, best, best > base
	return nil
}

// PercentileList lists percentiles as "99.9,99.99,…" (shortest exact
// decimal of each).
func PercentileList(ps []float64) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ","
		}
		s += strconv.FormatFloat(p, 'g', -1, 64)
	}
	return s
}

// annClasses returns the ANN's class of every sample of set.
func annClasses(ctx context.Context, ann *graph.Model, set *dataset.Set, workers int) ([]int32, error) {
	net, err := nn.New(ann, workers)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	pred := make([]int32, 0, set.Len())
	var am []int32
	err = set.Chunks(nil, 4*nn.BatchFor(ann), func(x []float32, _ []int32, n int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		am = nn.Argmax(net.Predict(x, n), n, am)
		pred = append(pred, am[:n]...)
		return nil
	})
	return pred, err
}

// agreement normalizes cal with ncfg, converts with cfg and returns the %
// of samples of set on which the SNN predicts annPred; −1 where the
// normalization fails (a layer dead at that percentile).
func agreement(ctx context.Context, cal *normalize.Calibration, ncfg normalize.Config, set *dataset.Set, annPred []int32, cfg Config, bar *progress.Bar) (float64, error) {
	nm, _, err := cal.Normalize(ncfg)
	if err != nil {
		bar.Add(set.Len())
		return -1, nil
	}
	sn, err := snn.Convert(nm, snnConfig(cfg))
	if err != nil {
		return 0, err
	}
	sim, err := snn.NewSim(sn, cfg.Workers)
	if err != nil {
		return 0, err
	}
	pred := make([]int32, set.Len())
	var mu sync.Mutex
	lo := 0
	err = set.Chunks(nil, 1000, func(x []float32, _ []int32, n int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := sim.RunContext(ctx, x, n, func(j int, r *snn.SampleResult) {
			mu.Lock()
			pred[lo+j] = int32(r.Class)
			mu.Unlock()
		})
		lo += n
		bar.Add(n)
		return err
	})
	if err != nil {
		return 0, err
	}
	return matchPercent(annPred, pred), nil
}

// autoKey is the cache key of an auto choice.
func autoKey(calKey string, valid []int, cands []float64, cfg Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00auto %s %v %d %v %v %v %v\x00", cacheVersion, calKey, cands, cfg.Tmax, cfg.TmaxLayers, cfg.Threshold, cfg.AnalogFirst, layersSearch(cfg.AutoLayers))
	fmt.Fprintf(h, "%v", valid)
	return hex.EncodeToString(h.Sum(nil))
}

// layersSearch names the per-layer search in the cache key, so that a
// change to chooseLayers is not served a result of the old one.
func layersSearch(on bool) string {
	if !on {
		return "single"
	}
	return "layers: encoding error, then one pass"
}

func loadAuto(dir, key string, cands []float64, layers bool) (*AutoChoice, string) {
	p := filepath.Join(dir, "auto-"+key+".json")
	data, err := atomicfile.ReadFile(p, 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ""
	}
	var a AutoChoice
	if err == nil {
		err = json.Unmarshal(data, &a)
	}
	if err == nil && (!slices.Equal(a.Candidates, cands) || len(a.Agreement) != len(cands) || !slices.Contains(cands, a.Chosen) || layers != (a.Layers != nil)) {
		err = errors.New("does not fit the candidates")
	}
	if err != nil {
		return nil, fmt.Sprintf("calibration cache: %s: %v; recomputing", p, err)
	}
	a.Cached = true
	return &a, ""
}

func storeAuto(dir, key string, a *AutoChoice) string {
	js, err := json.Marshal(a)
	if err == nil {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = atomicfile.Write(filepath.Join(dir, "auto-"+key+".json"), append(js, '\n'))
		}
	}
	if err != nil {
		return fmt.Sprintf("calibration cache: not written: %v", err)
	}
	return ""
}
