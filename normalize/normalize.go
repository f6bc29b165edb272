package normalize

import (
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// DefaultPercentile is the percentile used when Config.Percentile is zero.
// It was chosen by measurement on the shipped LeNet-5 (docs/quartz.md).
const DefaultPercentile = 99

// DefaultMaxValues bounds the activation values kept per layer.
const DefaultMaxValues = 1 << 24

// Config selects the percentiles.
type Config struct {
	// Percentile in (0, 100] for every layer; 0 means DefaultPercentile.
	Percentile float64
	// LayerPercentiles, if set, gives one percentile per normalized layer
	// (in order) and overrides Percentile.
	LayerPercentiles []float64
	// MaxValues bounds the activation values kept per layer; 0 means
	// DefaultMaxValues.
	MaxValues int
}

// LayerStat reports the normalization of one layer.
type LayerStat struct {
	Layer      int     // index in the model's Layers
	Name       string  // layer name
	Percentile float64 // p used for this layer
	Scale      float64 // P_l: the p-th percentile of the original activations
	// AboveOne is the fraction of calibration activations above 1 after
	// normalization (they will fire early or saturate in the SNN).
	AboveOne float64
	Values   int // activation values seen
	Kept     int // values kept for the percentile
}

// Report describes a normalization.
type Report struct {
	Layers   []LayerStat
	Warnings []string
}

// Source runs the float network over the calibration sample and hands the
// output of every layer (index into the model's Layers) to fn, batch by
// batch. The slice passed to fn is only valid during the call.
type Source func(fn func(layer int, out []float32)) error

// Targets returns, for each normalized layer of m in order, the index of the
// parameter layer and the index of the layer whose output is its activation
// (the ReLU, Clip or LeakyReLU that follows it, or the layer itself).
// LeakyReLU is positively homogeneous (f(x/P) = f(x)/P for P > 0), so
// normalizing through it keeps the ANN's function, as through ReLU; the
// model still does not convert to Quartz (snn.Convert rejects LeakyReLU).
func Targets(m *graph.Model) (param, act []int) {
	for i, l := range m.Nodes {
		switch l.Op {
		case graph.Conv, graph.Linear, graph.AvgPool, graph.GlobalAvgPool:
		default:
			continue
		}
		a := i
		for j := i + 1; j < len(m.Nodes); j++ {
			op := m.Nodes[j].Op
			if op == graph.ReLU || op == graph.Clip || op == graph.LeakyReLU {
				a = j
				break
			}
			if op != graph.Flatten && op != graph.Reshape && op != graph.Dropout {
				break
			}
		}
		param = append(param, i)
		act = append(act, a)
	}
	return param, act
}

// Normalize returns a normalized copy of m (which must be simplified:
// no BatchNorm) and its report. src supplies the activations of m on the
// calibration sample. It is Calibrate followed by (*Calibration).Normalize;
// use those to normalize one model for several percentiles from one pass.
func Normalize(m *graph.Model, src Source, cfg Config) (*graph.Model, *Report, error) {
	if param, _ := Targets(m); len(param) > 0 {
		// Check the percentiles before the (expensive) calibration pass.
		if _, err := percentiles(cfg, len(param)); err != nil {
			return nil, nil, err
		}
	}
	c, err := Calibrate(m, src, cfg.MaxValues)
	if err != nil {
		return nil, nil, err
	}
	return c.Normalize(cfg)
}

// sampler keeps up to max values, switching to a coarser stride as more
// arrive. The stride doubles when the buffer fills, keeping every value whose
// global position is a multiple of the stride: deterministic for a given
// order of values.
type sampler struct {
	max    int
	stride int
	seen   int
	vals   []float32
}

func (s *sampler) add(v []float32) {
	if s.stride == 0 {
		s.stride = 1
	}
	for _, x := range v {
		if s.seen%s.stride == 0 {
			if len(s.vals) == s.max {
				// Keep every other kept value: those at positions that are
				// multiples of the doubled stride.
				k := 0
				for i := 0; i < len(s.vals); i += 2 {
					s.vals[k] = s.vals[i]
					k++
				}
				s.vals = s.vals[:k]
				s.stride *= 2
				if s.seen%s.stride != 0 {
					s.seen++
					continue
				}
			}
			s.vals = append(s.vals, x)
		}
		s.seen++
	}
}

// percentile returns the nearest-rank p-th percentile of the kept values.
func (s *sampler) percentile(p float64) float64 {
	n := len(s.vals)
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	v := slices.Clone(s.vals)
	return float64(selectK(v, rank-1))
}

func (s *sampler) fractionAbove(scale float64) float64 {
	if len(s.vals) == 0 {
		return 0
	}
	n := 0
	for _, x := range s.vals {
		if float64(x) > scale {
			n++
		}
	}
	return float64(n) / float64(len(s.vals))
}

// selectK returns the k-th smallest element (0-based) of v, reordering v.
// Quickselect with median-of-three pivots; NaNs are not expected (the
// network's parameters are checked finite).
func selectK(v []float32, k int) float32 {
	lo, hi := 0, len(v)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		// median of three into v[mid]
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
