package pipeline

import (
	"context"
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
	cal, used, err := Calibrate(ctx, s, calib, cfg.Calib, cfg.CalibSeed, cfg.Workers, cfg.Progress)
	if err != nil {
		return nil, fmt.Errorf("normalize: calibration: %w", err)
	}
	nm, rep, err := cal.Normalize(normalize.Config{Percentile: cfg.Percentile, LayerPercentiles: cfg.LayerPercentiles})
	if err != nil {
		return nil, err
	}
	sn, err := snn.Convert(nm, snn.Config{Tmax: cfg.Tmax, TmaxLayers: cfg.TmaxLayers, Threshold: cfg.Threshold, AnalogFirst: cfg.AnalogFirst})
	if err != nil {
		return nil, err
	}
	return &Converted{ANN: m, Simplified: s, Normalized: nm, Norm: rep, SNN: sn, Config: cfg, CalibSize: used}, nil
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
	in := m.InputShape
	if in[0] != s.C || in[1] != s.H || in[2] != s.W {
		return fmt.Errorf("data set %s has images of %d×%d×%d, model %q expects %d×%d×%d", s.Name, s.C, s.H, s.W, m.Name, in[0], in[1], in[2])
	}
	if k := graph.Size(m.OutputShape()); k < len(s.Classes) {
		return fmt.Errorf("data set %s has %d classes, model %q has %d outputs", s.Name, len(s.Classes), m.Name, k)
	}
	return nil
}
