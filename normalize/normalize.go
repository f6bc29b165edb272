package normalize

import (
	"github.com/quartz-snn/quartz/graph"
)

// DefaultPercentile is the percentile used when Config.Percentile is zero.
// It was chosen by measurement on the shipped LeNet-5 (docs/quartz.md).
const DefaultPercentile = 99

// Config selects the percentiles.
type Config struct {
	// Percentile in (0, 100] for every layer; 0 means DefaultPercentile.
	Percentile float64
	// LayerPercentiles, if set, gives one percentile per normalized layer
	// (in order) and overrides Percentile.
	LayerPercentiles []float64
}

// LayerStat reports the normalization of one layer.
type LayerStat struct {
	Layer      int     // index in the model's Layers
	Name       string  // layer name
	Percentile float64 // p used for this layer
	Scale      float64 // P_l: the p-th percentile of the original activations
	// AboveOne is the fraction of calibration activations above 1 after
	// normalization (they will fire early or saturate in the SNN). For a
	// layer followed by Clip(0, a) it counts the values before the clip
	// that exceed a: what the clip cuts, and what the SNN cannot.
	AboveOne float64
	Values   int // activation values seen
	Kept     int // values counted for the percentile: all of them, = Values
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
//
// In a model that is not a chain (SPEC §7) the normalized layers are the
// spiking nodes: every Add, every pooling node that becomes a spiking
// layer, and every Conv and Linear but those read only by an Add without
// a ReLU between (input groups of the Add's node, which take its P); the
// activation follows the node through Flatten, Reshape and Dropout to a
// ReLU, Clip or LeakyReLU that is its only reader.
func Targets(m *graph.Model) (param, act []int) {
	if !m.IsChain() {
		param, act, _ = dagTargets(m)
		return param, act
	}
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
	c, err := Calibrate(m, src)
	if err != nil {
		return nil, nil, err
	}
	return c.Normalize(cfg)
}
