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
	net, err := nn.New(s, cfg.Workers)
	if err != nil {
		return nil, err
	}
	defer net.Close()

	idx := calibIndices(calib.Len(), cfg.Calib, cfg.CalibSeed)
	bar := newBar(cfg.Progress, "calibrate", len(idx))
	src := func(fn func(layer int, out []float32)) error {
		const chunk = 256
		x := make([]float32, chunk*calib.SampleSize())
		y := make([]int32, chunk)
		for lo := 0; lo < len(idx); lo += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(chunk, len(idx)-lo)
			calib.Gather(idx[lo:lo+n], x, y)
			net.Activations(x[:n*calib.SampleSize()], n, fn)
			bar.Add(n)
		}
		return nil
	}
	nm, rep, err := normalize.Normalize(s, src, normalize.Config{Percentile: cfg.Percentile, LayerPercentiles: cfg.LayerPercentiles})
	bar.Done()
	if err != nil {
		return nil, err
	}
	sn, err := snn.Convert(nm, snn.Config{Tmax: cfg.Tmax, TmaxLayers: cfg.TmaxLayers, Threshold: cfg.Threshold, AnalogFirst: cfg.AnalogFirst})
	if err != nil {
		return nil, err
	}
	return &Converted{ANN: m, Simplified: s, Normalized: nm, Norm: rep, SNN: sn, Config: cfg, CalibSize: len(idx)}, nil
}

// calibIndices draws min(k, n) distinct sample indices, sorted, from a
// PCG stream seeded by seed.
func calibIndices(n, k int, seed uint64) []int {
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

func newBar(w io.Writer, label string, total int) *progress.Bar {
	if w == nil || !progress.IsTerminal(w) {
		return nil
	}
	return progress.New(w, label, total)
}
