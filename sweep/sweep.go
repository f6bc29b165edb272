package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/ratecode"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/train"
)

// Config sets up a sweep. Zero values take pipeline's defaults.
type Config struct {
	Grid Grid
	// ModelName is shown in the results (e.g. the file name); ModelID
	// fingerprints the model (e.g. its file's SHA-256) so that a rerun on
	// another model is refused.
	ModelName, ModelID string
	Calib              int    // calibration samples (default pipeline.DefaultCalib)
	CalibSeed          uint64 // seed of the calibration draw
	Threshold          snn.Threshold
	AnalogFirst        bool
	Workers            int       // goroutines (≤ 0: all CPUs)
	Progress           io.Writer // progress bar (nil: none)
	// Cache is the calibration cache directory ("": none), as
	// pipeline.Config.Cache; MaxMemory refuses a calibration whose
	// estimate (pipeline.EstimateConvert) exceeds it (0: no limit).
	Cache     string
	MaxMemory int64
	// RateSteps, if positive, also runs the rate-coded baseline for N =
	// RateSteps steps once per percentile (pipeline.EvaluateRate, reading
	// accuracy and costs at ratecode.DefaultCheckpoints(N)); 0 is off.
	RateSteps int
	// SelectOn is where the best point is chosen: SelectVal (the default
	// when "") on a validation slice of ValSamples training images
	// (default DefaultValSamples) held out of the calibration draw, or
	// SelectTest on the test set the points report, which biases the
	// best point's test accuracy upwards.
	SelectOn   string
	ValSamples int
	// Evaluated, if not nil, is called after each point has been computed
	// (not for points read back from a previous run); RateEvaluated after
	// each rate baseline has been computed.
	Evaluated     func(Point, *pipeline.Result)
	RateEvaluated func(percentile float64, rr *pipeline.RateResult)
}

// Results is a finished sweep: DIR/results.json.
type Results struct {
	Format      string    `json:"format"`  // "quartz-sweep"
	Version     int       `json:"version"` // 1
	Model       string    `json:"model"`
	Data        string    `json:"data"`
	Samples     int       `json:"samples"`
	Tmax        []int     `json:"tmax"`
	Percentiles []float64 `json:"percentiles"`
	// Points holds one result per grid point, in grid order (Grid.Points).
	Points []*pipeline.Result `json:"points"`
	// Best is the index in Points of the best point (see the package doc).
	Best int `json:"best"`
	// SelectOn says on which samples Best was chosen: SelectVal (the
	// Validation slice of the training split) or SelectTest (the test set
	// the points report). Load reads a sweep written before the field
	// existed as SelectTest, which is how it chose.
	SelectOn string `json:"select_on"`
	// Validation holds, with SelectVal, the slice and every point's SNN
	// accuracy on it.
	Validation *Validation `json:"validation,omitempty"`
	// Rate holds, with Config.RateSteps, the rate-coded baseline of every
	// percentile, in the order of Percentiles; absent otherwise.
	Rate []*pipeline.RateResult `json:"rate,omitempty"`
	// Computed counts the points computed by this run (the others were read
	// back from a previous run), RateComputed the rate baselines; Seconds is
	// this run's wall time.
	Computed     int     `json:"computed"`
	RateComputed int     `json:"rate_computed,omitempty"`
	Seconds      float64 `json:"seconds"`
}

// Where the best point is chosen (Config.SelectOn, Results.SelectOn).
const (
	SelectVal  = "val"
	SelectTest = "test"
)

// Validation is the slice of the training split on which a sweep chooses
// its best point: pipeline.SplitIndices(train, Calib, Samples, Seed), the
// Samples training images after the calibration draw in the same seeded
// permutation, so never a calibration image and never a test image.
type Validation struct {
	Data    string `json:"data"`
	Samples int    `json:"samples"`
	Calib   int    `json:"calibration_samples"`
	Seed    uint64 `json:"seed"`
	// Accuracy holds every point's SNN accuracy (%) on the slice, in the
	// order of Points.
	Accuracy []float64 `json:"snn_accuracy"`
}

// Format identifies sweep files.
const Format = "quartz-sweep"

// Manifest is DIR/sweep.json: what makes points comparable.
type Manifest struct {
	Format      string `json:"format"`
	Version     int    `json:"version"`
	Model       string `json:"model"`
	ModelID     string `json:"model_id,omitempty"`
	Data        string `json:"data"`
	Samples     int    `json:"samples"`
	Calib       int    `json:"calibration_samples"`
	CalibSeed   uint64 `json:"calibration_seed"`
	Threshold   string `json:"threshold"`
	AnalogFirst bool   `json:"analog_first"`
}

// annResult is DIR/ann.json.
type annResult struct {
	Accuracy *float64 `json:"ann_accuracy"`
	MACs     int64    `json:"ann_macs"`
	Seconds  float64  `json:"seconds_ann"`
	Samples  int      `json:"samples"`
}

// Run computes the grid of cfg for model m, calibrating on calib (the
// training split) and evaluating on test, and writes its files under dir
// (see the package doc). Finished points already in dir are read back, not
// recomputed.
func Run(ctx context.Context, m *graph.Model, calib, test *dataset.Set, dir string, cfg Config) (*Results, error) {
	t0 := time.Now()
	if err := cfg.check(m, calib, test); err != nil {
		return nil, err
	}
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	man := Manifest{Format: Format, Version: 1, Model: cfg.ModelName, ModelID: cfg.ModelID, Data: test.Name, Samples: test.Len(),
		Calib: min(cfg.Calib, calib.Len()), CalibSeed: cfg.CalibSeed, Threshold: cfg.Threshold.String(), AnalogFirst: cfg.AnalogFirst}
	if err := checkManifest(dir, man); err != nil {
		return nil, err
	}

	points := cfg.Grid.Points()
	res := &Results{Format: Format, Version: 1, Model: cfg.ModelName, Data: test.Name, Samples: test.Len(),
		Tmax: cfg.Grid.Tmax, Percentiles: cfg.Grid.Percentiles, Points: make([]*pipeline.Result, len(points)), SelectOn: cfg.SelectOn}
	var valSet *dataset.Set
	var valAcc []*float64
	valMissing := 0
	if cfg.SelectOn == SelectVal {
		var err error
		if valSet, res.Validation, err = valSlice(calib, cfg); err != nil {
			return nil, err
		}
		valAcc = make([]*float64, len(points))
		for i, p := range points {
			a, err := readVal(dir, p, res.Validation)
			if err != nil && cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "sweep: %v; recomputing %s on the validation slice\n", err, p.Key())
			}
			if valAcc[i] = a; a == nil {
				valMissing++
			}
		}
	}
	missing := 0
	for i, p := range points {
		r, err := readPoint(dir, p)
		if err != nil && cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "sweep: %v; recomputing %s\n", err, p.Key())
		}
		res.Points[i] = r
		if r == nil {
			missing++
		}
	}
	rateMissing := 0
	if cfg.RateSteps > 0 {
		res.Rate = make([]*pipeline.RateResult, len(cfg.Grid.Percentiles))
		for j, pc := range cfg.Grid.Percentiles {
			rr, err := readRate(dir, pc, cfg.RateSteps, test.Len())
			if err != nil && cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "sweep: %v; recomputing %s\n", err, RateKey(pc))
			}
			res.Rate[j] = rr
			if rr == nil {
				rateMissing++
			}
		}
	}

	if missing > 0 || rateMissing > 0 || valMissing > 0 {
		if err := compute(ctx, m, calib, test, valSet, valAcc, dir, cfg, points, res); err != nil {
			return nil, err
		}
		res.Computed, res.RateComputed = missing, rateMissing
	}
	if res.Validation != nil {
		res.Validation.Accuracy = make([]float64, len(points))
		for i, a := range valAcc {
			res.Validation.Accuracy[i] = *a
		}
		res.Best = BestBy(res.Points, res.Validation.Accuracy)
	} else {
		res.Best = Best(res.Points)
	}
	res.Seconds = time.Since(t0).Seconds()
	if err := res.Write(dir); err != nil {
		return nil, err
	}
	return res, nil
}

// check validates cfg for a sweep of m on calib and test and fills in its
// defaults (calibration size, where the best point is chosen, the
// validation slice's size, the model's name).
func (cfg *Config) check(m *graph.Model, calib, test *dataset.Set) error {
	if err := cfg.Grid.Validate(); err != nil {
		return err
	}
	if cfg.Calib == 0 {
		cfg.Calib = pipeline.DefaultCalib
	}
	if cfg.Calib < 0 {
		return fmt.Errorf("calibration size %d: must be ≥ 1", cfg.Calib)
	}
	if cfg.RateSteps < 0 || cfg.RateSteps > ratecode.MaxSteps {
		return fmt.Errorf("rate steps %d: want 0 (off) or 1..%d", cfg.RateSteps, ratecode.MaxSteps)
	}
	switch cfg.SelectOn {
	case "":
		cfg.SelectOn = SelectVal
	case SelectVal, SelectTest:
	default:
		return fmt.Errorf("select on %q: want %s or %s", cfg.SelectOn, SelectVal, SelectTest)
	}
	if cfg.ValSamples == 0 {
		cfg.ValSamples = DefaultValSamples
	}
	if cfg.ValSamples < 0 {
		return fmt.Errorf("validation samples %d: must be ≥ 1", cfg.ValSamples)
	}
	if test.Len() == 0 || calib.Len() == 0 {
		return errors.New("empty data set")
	}
	if cfg.ModelName == "" {
		cfg.ModelName = m.Name
	}
	for _, d := range []*dataset.Set{calib, test} {
		if _, err := pipeline.CheckInput(fmt.Sprintf("model %q", cfg.ModelName), m.InputShape, d); err != nil {
			return err
		}
	}
	return nil
}

func compute(ctx context.Context, m *graph.Model, calib, test, val *dataset.Set, valAcc []*float64, dir string, cfg Config, points []Point, res *Results) error {
	if err := m.InferShapes(); err != nil {
		return err
	}
	if err := m.CheckFinite(); err != nil {
		return err
	}
	s, err := graph.Simplify(m)
	if err != nil {
		return fmt.Errorf("simplify: %w", err)
	}
	if err := s.InferShapes(); err != nil {
		return err
	}
	pcfg := pipeline.Config{Calib: cfg.Calib, CalibSeed: cfg.CalibSeed, Threshold: cfg.Threshold, AnalogFirst: cfg.AnalogFirst, Workers: cfg.Workers}
	// Refuse what does not convert before the ANN and calibration passes
	// (the largest window: only the window length depends on T).
	c := pcfg
	c.Tmax = slices.Max(cfg.Grid.Tmax)
	if err := pipeline.CheckConvertible(m, c); err != nil {
		return err
	}

	// The ANN, once: its accuracy is the same at every point.
	ann, err := readANN(dir, test.Len())
	if err != nil {
		return err
	}
	if ann == nil {
		if ann, err = runANN(ctx, m, test, cfg.Workers, cfg.Progress); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, "ann.json"), ann); err != nil {
			return err
		}
	}

	// The calibration, once (or read back from the cache).
	if err := pipeline.CheckMemory("calibrating "+cfg.ModelName, pipeline.EstimateConvert(s, calib, cfg.Workers), cfg.MaxMemory); err != nil {
		return err
	}
	cal, n, _, notes, err := pipeline.CalibrateCached(ctx, s, calib, cfg.Calib, cfg.CalibSeed, cfg.Workers, cfg.Progress, cfg.Cache)
	if err != nil {
		return err
	}
	if cfg.Progress != nil {
		for _, note := range notes {
			fmt.Fprintf(cfg.Progress, "note: %s\n", note)
		}
	}

	j := &job{simplified: s, cal: cal, calibSize: n, test: test, dir: dir, cfg: cfg, pcfg: pcfg, ann: ann,
		val: val, validation: res.Validation, valAcc: valAcc}
	if err := j.points(ctx, points, res); err != nil {
		return err
	}
	return j.rate(ctx, res)
}

// job is what computing a point needs once the ANN and the calibration ran.
type job struct {
	simplified *graph.Model
	cal        *normalize.Calibration
	calibSize  int
	test       *dataset.Set
	dir        string
	cfg        Config
	pcfg       pipeline.Config
	ann        *annResult
	// val is the validation slice (nil with SelectTest), validation its
	// description and valAcc every point's accuracy on it (nil: to do).
	val        *dataset.Set
	validation *Validation
	valAcc     []*float64
}

// points computes the Quartz points that res lacks.
func (j *job) points(ctx context.Context, points []Point, res *Results) error {
	s, n, test, dir, cfg, pcfg, ann := j.simplified, j.calibSize, j.test, j.dir, j.cfg, j.pcfg, j.ann
	todo := 0
	needVal := func(i int) bool { return j.val != nil && j.valAcc[i] == nil }
	for i, r := range res.Points {
		if r == nil || needVal(i) {
			todo++
		}
	}
	if todo == 0 {
		return nil
	}
	bar := newBar(cfg.Progress, "sweep", todo)
	defer bar.Done()
	var err error
	var base *pipeline.Converted // the normalized model of the current percentile
	for i, p := range points {
		if res.Points[i] != nil && !needVal(i) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var c pipeline.Converted
		if base, c, err = convertPoint(j.cal, base, s, n, pcfg, p); err != nil {
			return err
		}
		if needVal(i) {
			a, err := j.evaluateVal(ctx, &c, p)
			if err != nil {
				return err
			}
			j.valAcc[i] = &a
		}
		if res.Points[i] != nil {
			bar.Add(1)
			continue
		}
		r, err := pipeline.Evaluate(ctx, &c, test)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		r.Model = cfg.ModelName
		if err := setANN(r, ann); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := writeJSON(pointPath(dir, p), r); err != nil {
			return err
		}
		res.Points[i] = r
		if cfg.Evaluated != nil {
			cfg.Evaluated(p, r)
		}
		bar.SetExtra(fmt.Sprintf("%s: SNN %.2f %%", p.Key(), r.SNNAccuracy))
		bar.Add(1)
	}
	return nil
}

// convertPoint converts the calibrated model s (cal, n calibration
// samples) at grid point p with the conversion settings of pcfg. base is
// the normalized model of the previous point, reused where p has the same
// percentile (points are in grid order, Tmax within percentile); it
// returns the base for the next point and p's conversion.
func convertPoint(cal *normalize.Calibration, base *pipeline.Converted, s *graph.Model, n int, pcfg pipeline.Config, p Point) (*pipeline.Converted, pipeline.Converted, error) {
	if base == nil || base.Config.Percentile != p.Percentile {
		nm, rep, err := cal.Normalize(normalize.Config{Percentile: p.Percentile})
		if err != nil {
			return nil, pipeline.Converted{}, err
		}
		base = &pipeline.Converted{Simplified: s, Normalized: nm, Norm: rep, CalibSize: n, Config: pipeline.Config{Percentile: p.Percentile}}
	}
	c := *base
	c.Config = pcfg
	c.Config.Tmax, c.Config.Percentile = p.Tmax, p.Percentile
	var err error
	c.SNN, err = snn.Convert(c.Normalized, snn.Config{Tmax: p.Tmax, Threshold: pcfg.Threshold, AnalogFirst: pcfg.AnalogFirst})
	if err != nil {
		return nil, pipeline.Converted{}, fmt.Errorf("%s: %w", p, err)
	}
	return base, c, nil
}

// rate runs the rate-coded baseline of every percentile that res lacks,
// on the same normalized network as the points (once per percentile: it
// does not depend on Tmax).
func (j *job) rate(ctx context.Context, res *Results) error {
	cfg, ann := j.cfg, j.ann
	for i, pc := range cfg.Grid.Percentiles {
		if res.Rate == nil || res.Rate[i] != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		nm, rep, err := j.cal.Normalize(normalize.Config{Percentile: pc})
		if err != nil {
			return err
		}
		c := pipeline.Converted{Simplified: j.simplified, Normalized: nm, Norm: rep, CalibSize: j.calibSize, Config: j.pcfg}
		c.Config.Percentile = pc
		c.Config.Progress = cfg.Progress
		rr, err := pipeline.EvaluateRate(ctx, &c, j.test, ratecode.Config{Steps: cfg.RateSteps, Workers: cfg.Workers})
		if err != nil {
			return fmt.Errorf("rate coding, percentile %g: %w", pc, err)
		}
		rr.Model = cfg.ModelName
		// The ANN ran once for the whole sweep; the same numbers serve here.
		if err := rr.SetANN(*ann.Accuracy, ann.MACs); err != nil {
			return fmt.Errorf("rate coding, percentile %g: %w", pc, err)
		}
		if err := writeJSON(ratePath(j.dir, pc), rr); err != nil {
			return err
		}
		res.Rate[i] = rr
		if cfg.RateEvaluated != nil {
			cfg.RateEvaluated(pc, rr)
		}
		if cfg.Progress != nil {
			b := rr.Checkpoints[BestCheckpoint(rr)]
			fmt.Fprintf(cfg.Progress, "sweep: %s: rate %.2f %% at %d steps (best), %.2f %% at %d\n", RateKey(pc),
				b.Accuracy, b.Steps, rr.Checkpoints[len(rr.Checkpoints)-1].Accuracy, rr.Steps)
		}
	}
	return nil
}

// BestCheckpoint returns the index of rr's most accurate checkpoint, ties to
// the fewest steps; −1 if rr has none.
func BestCheckpoint(rr *pipeline.RateResult) int {
	best := -1
	for i, c := range rr.Checkpoints {
		if best < 0 || c.Accuracy > rr.Checkpoints[best].Accuracy ||
			(c.Accuracy == rr.Checkpoints[best].Accuracy && c.Steps < rr.Checkpoints[best].Steps) {
			best = i
		}
	}
	return best
}

func runANN(ctx context.Context, m *graph.Model, test *dataset.Set, workers int, prog io.Writer) (*annResult, error) {
	correct, seconds, err := countANN(m, test, workers, prog)
	if err != nil {
		return nil, err
	}
	acc := 100 * float64(correct) / float64(test.Len())
	return &annResult{Accuracy: &acc, MACs: m.MACs(), Seconds: seconds, Samples: test.Len()}, nil
}

// countANN runs the ANN m on test and returns how many samples it
// classifies correctly and the seconds it took.
func countANN(m *graph.Model, test *dataset.Set, workers int, prog io.Writer) (int64, float64, error) {
	net, err := nn.New(m, workers)
	if err != nil {
		return 0, 0, err
	}
	defer net.Close()
	t0 := time.Now()
	bar := progress.OnTerminal(prog, "ANN", test.Len())
	pred := train.Predictions(net, test)
	bar.Add(test.Len())
	bar.Done()
	var correct int64
	for i, p := range pred {
		if p == int32(test.Labels[i]) {
			correct++
		}
	}
	return correct, time.Since(t0).Seconds(), nil
}

// Best returns the index of the result with the highest SNN accuracy on
// its own samples, ties to the fewest Ω, then to the lowest index; −1 if rs
// has no result. A sweep with SelectTest chooses so.
func Best(rs []*pipeline.Result) int {
	acc := make([]float64, len(rs))
	for i, r := range rs {
		if r != nil {
			acc[i] = r.SNNAccuracy
		}
	}
	return BestBy(rs, acc)
}

// prepareDir creates dir and dir/points and removes temporary files that
// an interrupted run left.
func prepareDir(dir string) error {
	if dir == "" {
		return errors.New("no output directory")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "points"), 0o755); err != nil {
		return err
	}
	for _, d := range []string{dir, filepath.Join(dir, "points")} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Type().IsRegular() && isOwnTemp(e.Name(), d != dir) {
				os.Remove(filepath.Join(d, e.Name()))
			}
		}
	}
	// Check now that the directory is writable, not after the first point.
	probe, err := os.CreateTemp(filepath.Join(dir, "points"), ".quartz-probe*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// ModelID returns the model fingerprint (Config.ModelID) recorded in dir's
// sweep.json, "" if the sweep recorded none.
func ModelID(dir string) (string, error) {
	name := filepath.Join(dir, "sweep.json")
	data, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return m.ModelID, nil
}

// ownFiles are the files the sweep writes in its output directory.
var ownFiles = map[string]bool{"sweep.json": true, "ann.json": true, "results.json": true, "results.csv": true, "rate.csv": true}

// pointFile matches the files the sweep writes in points/: t8_p99.5.json,
// rate_p99.json.
var pointFile = regexp.MustCompile(`^(t[0-9]+|rate)_p[0-9]+(\.[0-9]+)?(\.val)?\.json$`)

// isOwnTemp reports whether name is a temporary file that atomicfile.Write
// left while writing one of the sweep's own files (atomicfile.IsTemp: "." +
// base + ".tmp" + decimal digits, where base is a file the sweep writes, in
// points/ when inPoints). Anything else, such as a user's .bashrc.tmpl, is
// left alone.
func isOwnTemp(name string, inPoints bool) bool {
	i := strings.LastIndex(name, ".tmp")
	if i < 1 || !strings.HasPrefix(name, ".") {
		return false
	}
	base := name[1:i]
	if !atomicfile.IsTemp(name, base) {
		return false
	}
	if inPoints {
		return pointFile.MatchString(base)
	}
	return ownFiles[base]
}

func checkManifest(dir string, want Manifest) error {
	name := filepath.Join(dir, "sweep.json")
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return writeJSON(name, want)
	}
	if err != nil {
		return err
	}
	var got Manifest
	if err := json.Unmarshal(data, &got); err != nil || got.Format != Format {
		return fmt.Errorf("%s exists and is not a quartz sweep; use another directory", name)
	}
	if got != want {
		return fmt.Errorf("%s holds a sweep of another configuration (%s); use another directory or delete it", dir, manifestDiff(got, want))
	}
	return nil
}

func manifestDiff(got, want Manifest) string {
	var d []string
	add := func(name string, a, b any) {
		if a != b {
			d = append(d, fmt.Sprintf("%s %v, now %v", name, a, b))
		}
	}
	add("model", got.Model, want.Model)
	add("model fingerprint", got.ModelID, want.ModelID)
	add("data", got.Data, want.Data)
	add("samples", got.Samples, want.Samples)
	add("calibration samples", got.Calib, want.Calib)
	add("calibration seed", got.CalibSeed, want.CalibSeed)
	add("threshold", got.Threshold, want.Threshold)
	add("analog first", got.AnalogFirst, want.AnalogFirst)
	add("version", got.Version, want.Version)
	return strings.Join(d, "; ")
}

func pointPath(dir string, p Point) string {
	return filepath.Join(dir, "points", p.Key()+".json")
}

// readPoint returns the stored result of p, nil if there is none; a file
// that does not parse or belongs to another point is reported and ignored.
func readPoint(dir string, p Point) (*pipeline.Result, error) {
	data, err := os.ReadFile(pointPath(dir, p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r pipeline.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", pointPath(dir, p), err)
	}
	if r.Tmax != p.Tmax || r.Percentile != p.Percentile || r.Samples == 0 {
		return nil, fmt.Errorf("%s holds Tmax %d, percentile %g", pointPath(dir, p), r.Tmax, r.Percentile)
	}
	return &r, nil
}

func ratePath(dir string, percentile float64) string {
	return filepath.Join(dir, "points", RateKey(percentile)+".json")
}

// readRate returns the stored rate baseline of a percentile, nil if there is
// none; a file that does not parse, belongs to another percentile or was
// run for another number of steps or samples is reported and ignored.
func readRate(dir string, percentile float64, steps, samples int) (*pipeline.RateResult, error) {
	name := ratePath(dir, percentile)
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rr pipeline.RateResult
	if err := json.Unmarshal(data, &rr); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if rr.Percentile != percentile || rr.Samples != samples {
		return nil, fmt.Errorf("%s holds percentile %g on %d samples", name, rr.Percentile, rr.Samples)
	}
	want := ratecode.DefaultCheckpoints(steps)
	ok := rr.Steps == steps && len(rr.Checkpoints) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = rr.Checkpoints[i].Steps == want[i]
	}
	if !ok {
		return nil, fmt.Errorf("%s holds %d steps, not %d", name, rr.Steps, steps)
	}
	return &rr, nil
}

func readANN(dir string, samples int) (*annResult, error) {
	data, err := os.ReadFile(filepath.Join(dir, "ann.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a annResult
	if err := json.Unmarshal(data, &a); err != nil || a.Samples != samples || a.Accuracy == nil {
		return nil, nil // recompute
	}
	return &a, nil
}

func writeJSON(name string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return atomicfile.Write(name, append(js, '\n'))
}

// newBar returns the sweep's bar: as w's mode says for a
// *progress.Writer, else a bar on a terminal and one line at the end
// elsewhere.
func newBar(w io.Writer, label string, total int) *progress.Bar {
	if w == nil {
		return nil
	}
	if _, ok := w.(*progress.Writer); ok {
		return progress.OnTerminal(w, label, total)
	}
	return progress.New(w, label, total)
}
