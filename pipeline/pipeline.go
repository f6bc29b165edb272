package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/snn"
)

// Defaults.
const (
	DefaultTmax  = 16
	DefaultCalib = 10000
)

// Config sets up a conversion. Zero values take the defaults.
type Config struct {
	Tmax       int   // window T of every layer (default 16)
	TmaxLayers []int // per spiking layer, overrides Tmax
	// Percentile for normalization, (0,100]; 0 means
	// normalize.DefaultPercentile.
	Percentile       float64
	LayerPercentiles []float64
	Calib            int    // calibration samples from the training split (default 10000)
	CalibSeed        uint64 // seed of the calibration draw
	Threshold        snn.Threshold
	AnalogFirst      bool
	Workers          int       // goroutines (≤ 0: all CPUs)
	Progress         io.Writer // progress bars (nil: none)

	// Auto chooses the percentile (ChoosePercentile) among Candidates
	// (default AutoCandidates) on AutoSamples (default DefaultAutoSamples)
	// samples of the training split held out of the calibration draw
	// (SplitIndices); Percentile and LayerPercentiles must be unset.
	Auto        bool
	Candidates  []float64
	AutoSamples int
	// AutoLayers (with Auto) also tries one percentile per layer
	// (ChoosePercentile) and uses it where it agrees better.
	AutoLayers bool
	// Cache is the calibration cache directory ("": no cache); see
	// cache.go for the key.
	Cache string
	// MaxMemory, if positive, refuses a conversion whose estimated peak
	// (EstimateConvert) exceeds it, before anything large is allocated.
	MaxMemory int64
}

func (c *Config) defaults() error {
	if c.Tmax == 0 && len(c.TmaxLayers) == 0 {
		c.Tmax = DefaultTmax
	}
	if c.Tmax < 0 || c.Tmax > MaxTmax {
		return fmt.Errorf("tmax %d: want 1..%d", c.Tmax, MaxTmax)
	}
	for _, t := range c.TmaxLayers {
		if t < 1 || t > MaxTmax {
			return fmt.Errorf("per-layer tmax %v: every value must be in 1..%d", c.TmaxLayers, MaxTmax)
		}
	}
	if c.Workers > MaxWorkers {
		return fmt.Errorf("workers %d: at most %d", c.Workers, MaxWorkers)
	}
	if c.AutoLayers && !c.Auto {
		return errors.New("percentile auto per layer: needs Auto")
	}
	if c.Auto {
		if c.Percentile != 0 || c.LayerPercentiles != nil {
			return errors.New("percentile auto: a fixed percentile was given too")
		}
		if c.AutoSamples == 0 {
			c.AutoSamples = DefaultAutoSamples
		}
		if c.AutoSamples < 1 || c.AutoSamples > MaxCalib {
			return fmt.Errorf("auto samples %d: want 1..%d", c.AutoSamples, MaxCalib)
		}
		if c.Candidates == nil {
			c.Candidates = AutoCandidates
		}
		for _, p := range c.Candidates {
			if !(p > 0 && p <= 100) {
				return fmt.Errorf("percentile candidate %v: must be in (0, 100]", p)
			}
		}
	}
	if c.Percentile == 0 {
		c.Percentile = normalize.DefaultPercentile
	}
	if !(c.Percentile > 0 && c.Percentile <= 100) {
		return fmt.Errorf("percentile %v: must be in (0, 100]", c.Percentile)
	}
	if c.Calib == 0 {
		c.Calib = DefaultCalib
	}
	if c.Calib < 0 || c.Calib > MaxCalib {
		return fmt.Errorf("calibration size %d: want 1..%d", c.Calib, MaxCalib)
	}
	return nil
}

// Converted is an ANN prepared for evaluation and its SNN.
type Converted struct {
	ANN        *graph.Model // the model as given (the float reference)
	Simplified *graph.Model // BatchNorm folded, Dropout dropped
	Normalized *graph.Model
	Norm       *normalize.Report
	SNN        *snn.Network
	Config     Config
	CalibSize  int // calibration samples actually used
	// Auto is how --percentile auto chose Config.Percentile (nil for a
	// fixed percentile).
	Auto *AutoChoice
	// CalibCached reports that the calibration was read from the cache.
	CalibCached bool
	// CalibKey is the calibration's cache key (CalibrationKey), which
	// identifies model, calibration set, sample count and seed.
	CalibKey string
	// Notes say how the data was fed where that is not plain, e.g. images
	// flattened into a model that takes flat vectors (InputNote).
	Notes []string
}

// Convert simplifies, normalizes (on calibration samples drawn from calib,
// which should be the training split) and converts m.
func Convert(ctx context.Context, m *graph.Model, calib *dataset.Set, cfg Config) (*Converted, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := m.InferShapes(); err != nil {
		return nil, err
	}
	if err := m.CheckFinite(); err != nil {
		return nil, err
	}
	if err := checkShape(m, calib); err != nil {
		return nil, err
	}
	if calib.Len() == 0 {
		return nil, fmt.Errorf("calibration set %s is empty", calib.Name)
	}
	s, err := graph.Simplify(m)
	if err != nil {
		return nil, fmt.Errorf("simplify: %w", err)
	}
	if len(s.Nodes) > MaxNodes {
		return nil, fmt.Errorf("model %q has %d nodes, at most %d are supported", m.Name, len(s.Nodes), MaxNodes)
	}
	if err := CheckMemory("calibrating "+modelName(m), EstimateConvert(s, calib, cfg.Workers), cfg.MaxMemory); err != nil {
		return nil, err
	}
	// Refuse what does not convert before the (long) calibration pass.
	if err := checkConvertible(s, cfg); err != nil {
		return nil, err
	}
	c := &Converted{ANN: m, Simplified: s}
	if m.Normalized() {
		c.addNote(NormalizedNote(m, cfg))
		cfg.Auto, cfg.AutoLayers = false, false // every percentile gives the same model
	}
	autoN := 0
	if cfg.Auto {
		autoN = cfg.AutoSamples
	}
	idx, valid := SplitIndices(calib.Len(), cfg.Calib, autoN, cfg.CalibSeed)
	cal, key, cached, notes, err := calibrateCached(ctx, s, calib, idx, cfg.CalibSeed, cfg.Workers, cfg.Progress, cfg.Cache)
	if err != nil {
		return nil, fmt.Errorf("normalize: calibration: %w", err)
	}
	c.Notes, c.CalibCached, c.CalibKey = append(c.Notes, notes...), cached, key
	if key == "" {
		if c.CalibKey, err = calibKey(s, calib, len(idx), cfg.CalibSeed); err != nil {
			return nil, err
		}
	}
	if cached {
		c.addNote("calibration read from the cache in " + cfg.Cache)
	}
	if cfg.Auto {
		source := "training samples held out of the calibration draw"
		if len(valid) == 0 {
			// Never the test set: the calibration samples themselves.
			valid = idx[:min(len(idx), cfg.AutoSamples)]
			source = "calibration samples (the training split has none left beyond the calibration draw)"
		}
		var ak string
		if cfg.Cache != "" {
			var note string
			ak = autoKey(key, valid, cfg.Candidates, cfg)
			c.Auto, note = loadAuto(cfg.Cache, ak, cfg.Candidates, cfg.AutoLayers)
			c.addNote(note)
		}
		if c.Auto == nil {
			if c.Auto, err = ChoosePercentile(ctx, m, cal, calib, valid, cfg.Candidates, cfg.AutoLayers, cfg); err != nil {
				return nil, err
			}
			c.Auto.Source = source
			if cfg.Cache != "" {
				c.addNote(storeAuto(cfg.Cache, ak, c.Auto))
			}
		}
		cfg.Percentile = c.Auto.Chosen
		if c.Auto.LayersChosen {
			cfg.LayerPercentiles = c.Auto.Layers
		}
		c.addNote(c.Auto.Note())
	}
	nm, rep, err := cal.Normalize(normalize.Config{Percentile: cfg.Percentile, LayerPercentiles: cfg.LayerPercentiles})
	if err != nil {
		return nil, err
	}
	sn, err := snn.Convert(nm, snnConfig(cfg))
	if err != nil {
		return nil, err
	}
	c.Normalized, c.Norm, c.SNN, c.Config, c.CalibSize = nm, rep, sn, cfg, len(idx)
	if note := InputNote(m.InputShape, calib); note != "" {
		c.Notes = append(c.Notes, note)
	}
	return c, nil
}

// NormalizedNote says that m's weights are already normalized (quartz
// finetune's output) and so are kept as they are, and whether cfg's window
// is the one m was fine-tuned for.
func NormalizedNote(m *graph.Model, cfg Config) string {
	note := "the model's weights are already normalized (quartz finetune): every layer's scale is 1 and the percentile is not used"
	if t := m.Metadata[graph.MetaTmax]; t != "" {
		note += "; fine-tuned for Tmax " + t
		cur := fmt.Sprint(cfg.Tmax)
		if len(cfg.TmaxLayers) > 0 {
			cur = strings.Trim(strings.ReplaceAll(fmt.Sprint(cfg.TmaxLayers), " ", ","), "[]")
		}
		if t != cur {
			note += ", converted with another window: the SNN is no longer exactly the fine-tuned network"
		}
	}
	return note
}

// CheckConvertible reports whether Convert would convert m with cfg (zero
// values take the defaults), without data: m is simplified
// (graph.Simplify), its structure checked for normalization
// (normalize.CheckStructure) and the simplified model converted
// (snn.CheckConvertible). Normalization only rescales weights, so this is
// the verdict of Convert itself, short of data-dependent failures (a layer
// dead on the calibration set). quartz inspect uses it, so that inspect
// and convert always agree.
func CheckConvertible(m *graph.Model, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	mc := m.Clone()
	if err := mc.InferShapes(); err != nil {
		return err
	}
	if err := mc.CheckFinite(); err != nil {
		return err
	}
	s, err := graph.Simplify(mc)
	if err != nil {
		return fmt.Errorf("simplify: %w", err)
	}
	return checkConvertible(s, cfg)
}

// checkConvertible is CheckConvertible on the simplified model s, with
// cfg's defaults set.
func checkConvertible(s *graph.Model, cfg Config) error {
	if err := snn.CheckConvertible(s, snnConfig(cfg)); err != nil {
		return err
	}
	if param, _ := normalize.Targets(s); len(param) == 0 {
		return errors.New("normalize: model has no Conv or Linear layer")
	}
	return normalize.CheckStructure(s)
}

func snnConfig(cfg Config) snn.Config {
	return snn.Config{Tmax: cfg.Tmax, TmaxLayers: cfg.TmaxLayers, Threshold: cfg.Threshold, AnalogFirst: cfg.AnalogFirst}
}

// Calibrate runs the simplified model s over the calibration sample (n
// samples of calib drawn by CalibIndices with seed) and keeps every layer's
// activation values, from which normalized models for any percentile
// follow. It returns the calibration and the number of samples used. prog,
// if not nil, gets a progress bar.
func Calibrate(ctx context.Context, s *graph.Model, calib *dataset.Set, n int, seed uint64, workers int, prog io.Writer) (*normalize.Calibration, int, error) {
	idx := CalibIndices(calib.Len(), n, seed)
	cal, err := calibrateIdx(ctx, s, calib, idx, workers, prog)
	return cal, len(idx), err
}

// CalibrateCached is Calibrate through the calibration cache in dir ("":
// none): an entry for the same simplified model, set, sample count and
// seed is read back instead of running the model; a missing one is
// computed and stored. cached reports a hit; notes say why an entry was
// recomputed or not written.
func CalibrateCached(ctx context.Context, s *graph.Model, calib *dataset.Set, n int, seed uint64, workers int, prog io.Writer, dir string) (cal *normalize.Calibration, used int, cached bool, notes []string, err error) {
	idx := CalibIndices(calib.Len(), n, seed)
	cal, _, cached, notes, err = calibrateCached(ctx, s, calib, idx, seed, workers, prog, dir)
	return cal, len(idx), cached, notes, err
}

func calibrateCached(ctx context.Context, s *graph.Model, calib *dataset.Set, idx []int, seed uint64, workers int, prog io.Writer, dir string) (cal *normalize.Calibration, key string, cached bool, notes []string, err error) {
	note := func(n string) {
		if n != "" {
			notes = append(notes, n)
		}
	}
	if dir != "" {
		if key, err = calibKey(s, calib, len(idx), seed); err != nil {
			return nil, "", false, nil, err
		}
		var n string
		cal, n = loadCalibration(dir, key, s)
		note(n)
		if cal != nil {
			return cal, key, true, notes, nil
		}
	}
	if cal, err = calibrateIdx(ctx, s, calib, idx, workers, prog); err != nil {
		return nil, "", false, nil, err
	}
	if dir != "" {
		note(storeCalibration(dir, key, cal))
	}
	return cal, key, false, notes, nil
}

// calibrateCalls counts the calibration forward passes (tests).
var calibrateCalls atomic.Int64

// calibrateIdx runs s over the samples idx of calib and counts the
// activations.
func calibrateIdx(ctx context.Context, s *graph.Model, calib *dataset.Set, idx []int, workers int, prog io.Writer) (*normalize.Calibration, error) {
	calibrateCalls.Add(1)
	net, err := nn.New(s, workers)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	bar := progress.OnTerminal(prog, "calibrate", len(idx))
	defer bar.Done()
	src := func(fn func(layer int, out []float32)) error {
		return calib.Chunks(idx, nn.BatchFor(s), func(x []float32, _ []int32, k int) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			net.Activations(x, k, fn)
			bar.Add(k)
			return nil
		})
	}
	return normalize.Calibrate(s, src)
}

func (c *Converted) addNote(n string) {
	if n != "" {
		c.Notes = append(c.Notes, n)
	}
}

func modelName(m *graph.Model) string {
	if m.Name == "" {
		return "the model"
	}
	return fmt.Sprintf("model %q", m.Name)
}

// CalibIndices draws min(k, n) distinct sample indices, sorted, from a PCG
// stream seeded by seed: the calibration sample.
func CalibIndices(n, k int, seed uint64) []int {
	if k >= n {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	perm := slices.Clone(calibPerm(n, seed)[:k])
	// Sorting keeps memory access sequential; the set of samples is what
	// matters for the percentile.
	slices.Sort(perm)
	return perm
}

// calibPerm is the permutation of n samples the calibration draw takes
// its first samples from.
func calibPerm(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 0x5155_4152_545a)) // "QUARTZ"
	return r.Perm(n)
}

func checkShape(m *graph.Model, s *dataset.Set) error {
	if _, err := CheckInput(fmt.Sprintf("model %q", m.Name), m.InputShape, s); err != nil {
		return err
	}
	if k := graph.Size(m.OutputShape()); k < len(s.Classes) {
		return fmt.Errorf("data set %s has %d classes, model %q has %d outputs", s.Name, len(s.Classes), m.Name, k)
	}
	return nil
}

// CheckInput checks that the images of s fit a network whose what (e.g.
// `model "lenet"`) takes inputs of shape in: the same C×H×W, or as many
// values in all (a model that takes flat vectors, [C·H·W 1 1], reads the
// images flattened: the same values in the same memory order). It returns
// InputNote's note for the second case.
func CheckInput(what string, in []int, s *dataset.Set) (note string, err error) {
	if len(in) == 3 && in[0] == s.C && in[1] == s.H && in[2] == s.W {
		return "", nil
	}
	if note := InputNote(in, s); note != "" {
		return note, nil
	}
	return "", fmt.Errorf("data set %s has images of %d×%d×%d, %s expects %s", s.Name, s.C, s.H, s.W, what, shapeString(in))
}

// InputNote returns a note when the images of s are fed flattened to a
// network with input shape in (a model that takes flat vectors, whose C·H·W
// equals the image size but whose shape differs), else "".
func InputNote(in []int, s *dataset.Set) string {
	if len(in) != 3 || (in[0] == s.C && in[1] == s.H && in[2] == s.W) || graph.Size(in) != s.C*s.H*s.W {
		return ""
	}
	return fmt.Sprintf("images of %d×%d×%d fed flattened to the model input %s (the same %d values in the same order)",
		s.C, s.H, s.W, shapeString(in), graph.Size(in))
}

func shapeString(in []int) string {
	t := ""
	for i, d := range in {
		if i > 0 {
			t += "×"
		}
		t += fmt.Sprint(d)
	}
	return t
}
