package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

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
}

func (c *Config) defaults() error {
	if c.Tmax == 0 && len(c.TmaxLayers) == 0 {
		c.Tmax = DefaultTmax
	}
	if c.Tmax < 0 {
		return fmt.Errorf("tmax %d: must be ≥ 1", c.Tmax)
	}
	for _, t := range c.TmaxLayers {
		if t < 1 {
			return fmt.Errorf("per-layer tmax %v: every value must be ≥ 1", c.TmaxLayers)
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
	if c.Calib < 0 {
		return fmt.Errorf("calibration size %d: must be ≥ 1", c.Calib)
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
	// Refuse what does not convert before the (long) calibration pass.
	if err := checkConvertible(s, cfg); err != nil {
		return nil, err
	}
	cal, used, err := Calibrate(ctx, s, calib, cfg.Calib, cfg.CalibSeed, cfg.Workers, cfg.Progress)
	if err != nil {
		return nil, fmt.Errorf("normalize: calibration: %w", err)
	}
	nm, rep, err := cal.Normalize(normalize.Config{Percentile: cfg.Percentile, LayerPercentiles: cfg.LayerPercentiles})
	if err != nil {
		return nil, err
	}
	sn, err := snn.Convert(nm, snnConfig(cfg))
	if err != nil {
		return nil, err
	}
	c := &Converted{ANN: m, Simplified: s, Normalized: nm, Norm: rep, SNN: sn, Config: cfg, CalibSize: used}
	if note := InputNote(m.InputShape, calib); note != "" {
		c.Notes = append(c.Notes, note)
	}
	return c, nil
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
	net, err := nn.New(s, workers)
	if err != nil {
		return nil, 0, err
	}
	defer net.Close()
	idx := CalibIndices(calib.Len(), n, seed)
	bar := progress.OnTerminal(prog, "calibrate", len(idx))
	defer bar.Done()
	src := func(fn func(layer int, out []float32)) error {
		return calib.Chunks(idx, 256, func(x []float32, _ []int32, k int) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			net.Activations(x, k, fn)
			bar.Add(k)
			return nil
		})
	}
	cal, err := normalize.Calibrate(s, src, 0)
	return cal, len(idx), err
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
	r := rand.New(rand.NewPCG(seed, 0x5155_4152_545a)) // "QUARTZ"
	perm := r.Perm(n)[:k]
	// Sorting keeps memory access sequential; the set of samples is what
	// matters for the percentile.
	slices.Sort(perm)
	return perm
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
