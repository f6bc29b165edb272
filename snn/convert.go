package snn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// Config controls Convert.
type Config struct {
	// Tmax is the window T of every spiking layer, in steps (≥ 1).
	Tmax int
	// TmaxLayers, if not empty, gives one T per spiking layer (analog layer
	// excluded, in order) and overrides Tmax. See the package doc, "Per-layer
	// windows".
	TmaxLayers []int
	// Threshold is Round (θ = T−½, the default) or Truncate (θ = T).
	Threshold Threshold
	// AnalogFirst computes the first Conv/Linear layer (with its ReLU, and
	// the graph.Affine input transform before it, if any) in floating
	// point; its outputs, clamped to [0,1], are the input spikes.
	AnalogFirst bool
}

// ConvertError reports a node of the model that cannot be converted.
type ConvertError struct {
	Layer int    // index of the node in the graph model
	Name  string // node name
	Op    graph.Op
	Msg   string
}

func (e *ConvertError) Error() string {
	return fmt.Sprintf("snn: convert: node %d %q (%v): %s", e.Layer, e.Name, e.Op, e.Msg)
}

// CheckConvertible reports whether Convert accepts m with cfg: it returns
// Convert's error, or nil, and drops the network. Every caller
// that must say whether a model converts (quartz inspect, and pipeline
// before its calibration pass) uses it, so that the verdict is Convert's.
// Normalization does not change what converts (it only rescales weights),
// so a simplified model that passes converts once normalized.
func CheckConvertible(m *graph.Model, cfg Config) error {
	_, err := Convert(m, cfg)
	return err
}

// Convert turns a normalized model into a spiking network (SPEC §1–3, §7).
// The model must already be simplified and normalized: BatchNorm is rejected,
// Dropout and Flatten are structure only, and ReLU (or Clip with Min = 0,
// whose upper bound the spikes cannot represent anyway above 1) turns the
// Conv/Linear before it into a hidden layer with a rectifier. A ReLU may sit
// after a MaxPool that follows the Conv (max and ReLU commute); any other
// ReLU acts on values that are never negative and is ignored. The last
// Conv/Linear/AvgPool is the output layer; a Conv/Linear without ReLU
// anywhere else is an error. MaxPool becomes a relay layer, AvgPool and
// GlobalAvgPool a spiking layer with fixed weights. LeakyReLU is rejected:
// its negative outputs would need a second (negative) spike, so a model
// with one runs as an ANN only. A graph.Affine input transform
// (graph.PrependPreprocess) is accepted only with AnalogFirst, only on the
// model input (one scale and shift per input channel) and only before the
// first Conv/Linear: the analog layer applies it (Layer.InScale, InShift).
// Reshape is structure only, as Flatten. An ANN-only op (graph.Op.AnnOnly)
// is rejected naming the node. A model that is not a chain converts as the
// package doc's "Branching networks" says (SPEC §7), or is refused naming
// the node that needs what is not built yet (signed pairs …).
// m is not modified.
func Convert(m *graph.Model, cfg Config) (*Network, error) {
	if m == nil {
		return nil, errors.New("snn: convert: nil model")
	}
	if cfg.Tmax < 1 && len(cfg.TmaxLayers) == 0 {
		return nil, fmt.Errorf("snn: convert: Tmax = %d, want ≥ 1", cfg.Tmax)
	}
	if cfg.Threshold != Round && cfg.Threshold != Truncate {
		return nil, fmt.Errorf("snn: convert: invalid threshold mode %d", int(cfg.Threshold))
	}
	mc := m.Clone()
	if err := mc.InferShapes(); err != nil {
		return nil, fmt.Errorf("snn: convert: %w", err)
	}
	if err := mc.CheckChain(); err != nil {
		if err := mc.CheckFinite(); err != nil {
			return nil, fmt.Errorf("snn: convert: %w", err)
		}
		return convertDAG(mc, cfg, m.Name)
	}
	if err := mc.CheckFinite(); err != nil {
		return nil, fmt.Errorf("snn: convert: %w", err)
	}
	layers := mc.Nodes
	cerr := func(i int, format string, a ...any) error {
		return &ConvertError{Layer: i, Name: layers[i].Name, Op: layers[i].Op, Msg: fmt.Sprintf(format, a...)}
	}

	type unit struct {
		idx  int
		kind Kind
		rect bool
	}
	var units []unit
	var warnings []string
	affine := -1 // index of the graph.Affine input transform, if any
	for i, l := range layers {
		switch l.Op {
		case graph.Dropout, graph.Flatten, graph.Reshape, graph.ReLU:
		case graph.Affine:
			if len(units) > 0 || affine >= 0 {
				return nil, cerr(i, "an input transform is supported only once, before the first (analog) Conv or Linear layer; an Affine (x·scale + shift) anywhere else is not supported yet")
			}
			if l.PerElement() || !slices.Equal(l.InShape, mc.InputShape) {
				return nil, cerr(i, "an input transform is supported only on the model input with one scale and shift per input channel (per-element values are not supported yet)")
			}
			if !cfg.AnalogFirst {
				return nil, cerr(i, "an input transform (per-channel x·scale + shift, e.g. --input-mean/--input-std that could not be folded into a zero-padded first conv) makes the input negative, which spikes cannot carry: convert with an analog first layer (AnalogFirst, --analog-first), which computes it in floating point")
			}
			affine = i
		case graph.Clip:
			if l.Min != 0 {
				return nil, cerr(i, "Clip with Min = %v is not supported (only Min = 0, treated as ReLU)", l.Min)
			}
			if l.Max < 1 {
				warnings = append(warnings, fmt.Sprintf("layer %q: Clip(0, %v) is treated as ReLU; spikes carry values up to 1, not %v", l.Name, l.Max, l.Max))
			}
		case graph.LeakyReLU:
			return nil, cerr(i, "LeakyReLU (alpha %v): not convertible to Quartz (ANN only): negative outputs need a second spike; retrain with ReLU", l.Alpha)
		case graph.BatchNorm:
			return nil, cerr(i, "BatchNorm must be folded into the layer before it first (graph.Simplify)")
		case graph.Conv, graph.Linear:
			units = append(units, unit{i, map[graph.Op]Kind{graph.Conv: Conv, graph.Linear: Linear}[l.Op], mc.Rectified(i)})
		case graph.AvgPool, graph.GlobalAvgPool:
			units = append(units, unit{i, AvgPool, mc.Rectified(i)})
		case graph.MaxPool:
			units = append(units, unit{i, MaxPool, false})
		default:
			if why := l.Op.AnnOnly(); why != "" {
				return nil, cerr(i, "not convertible to Quartz (ANN only): %s", why)
			}
			return nil, cerr(i, "%v is not supported yet", l.Op)
		}
	}
	last := -1
	for j, u := range units {
		if u.kind != MaxPool {
			last = j
		}
	}
	if last < 0 {
		return nil, errors.New("snn: convert: the model has no Conv, Linear or AvgPool layer")
	}
	if last != len(units)-1 {
		return nil, cerr(units[last+1].idx, "a relay layer after the output layer %q is not supported", layers[units[last].idx].Name)
	}
	if cfg.AnalogFirst {
		u := units[0]
		if u.kind != Conv && u.kind != Linear {
			return nil, cerr(u.idx, "AnalogFirst: the first layer must be Conv or Linear")
		}
		if !u.rect {
			return nil, cerr(u.idx, "AnalogFirst: the first layer must be followed by ReLU")
		}
		if last == 0 {
			return nil, cerr(u.idx, "AnalogFirst: no spiking layer after the analog layer")
		}
		for i := 0; i < u.idx; i++ {
			if layers[i].Op == graph.ReLU || layers[i].Op == graph.Clip {
				return nil, cerr(i, "AnalogFirst: an activation before the analog layer is not supported")
			}
		}
	}
	for j, u := range units {
		if j < last && (u.kind == Conv || u.kind == Linear) && !u.rect && !(cfg.AnalogFirst && j == 0) {
			return nil, cerr(u.idx, "not followed by ReLU but feeds layer %q: negative values cannot be carried by spikes", layers[units[j+1].idx].Name)
		}
	}

	// Windows of the spiking layers.
	var spikingUnits []int
	for j, u := range units {
		if u.kind != MaxPool && !(cfg.AnalogFirst && j == 0) {
			spikingUnits = append(spikingUnits, j)
		}
	}
	ts := make([]int, len(spikingUnits))
	for k := range ts {
		ts[k] = cfg.Tmax
	}
	if len(cfg.TmaxLayers) > 0 {
		if len(cfg.TmaxLayers) != len(spikingUnits) {
			return nil, fmt.Errorf("snn: convert: %d TmaxLayers for %d spiking layers", len(cfg.TmaxLayers), len(spikingUnits))
		}
		copy(ts, cfg.TmaxLayers)
	}
	total := 0
	for k, t := range ts {
		if t < 1 {
			return nil, fmt.Errorf("snn: convert: T of spiking layer %d is %d, want ≥ 1", k, t)
		}
		if t > maxSteps/4 {
			return nil, fmt.Errorf("snn: convert: T of spiking layer %d is %d, too large", k, t)
		}
		total += t
	}
	if total+ts[len(ts)-1]+MaxTail >= maxSteps {
		return nil, fmt.Errorf("snn: convert: windows add up to %d steps, too many", total)
	}

	n := &Network{Name: m.Name, InShape: append([]int(nil), mc.InputShape...), Threshold: cfg.Threshold, Warnings: warnings}
	sk := 0 // next spiking layer
	for j, u := range units {
		gl := layers[u.idx]
		l := &Layer{Name: gl.Name, Kind: u.kind, InShape: append([]int(nil), gl.InShape...), OutShape: append([]int(nil), gl.OutShape...)}
		analog := cfg.AnalogFirst && j == 0
		scale := 1.0
		switch {
		case analog:
			l.Analog, l.Rectify, l.TOut = true, true, ts[0]
			if affine >= 0 {
				l.InScale = append([]float32(nil), layers[affine].Scale...)
				l.InShift = append([]float32(nil), layers[affine].Shift...)
			}
		case u.kind != MaxPool:
			l.T = ts[sk]
			l.TOut = l.T
			if sk+1 < len(ts) {
				l.TOut = ts[sk+1]
			}
			sk++
			l.Theta = cfg.Threshold.theta(l.TOut)
			l.Output = j == last
			l.Rectify = !l.Output || u.rect
			scale = float64(l.TOut) / float64(l.T)
		}
		scaled := func(v []float32) []float32 {
			out := make([]float32, len(v))
			for i, x := range v {
				out[i] = float32(float64(x) * scale)
			}
			return out
		}
		switch gl.Op {
		case graph.Conv, graph.Linear:
			l.W = scaled(gl.W)
			l.WShape = append([]int(nil), gl.WShape...)
			l.B = make([]float32, gl.WShape[0])
			if gl.B != nil {
				l.B = scaled(gl.B)
			}
			if gl.Op == graph.Linear {
				l.InShape = []int{graph.Size(gl.InShape)}
			} else {
				l.Kernel, l.Stride, l.Pad, l.Dilation, l.Group = gl.Kernel, gl.Stride, gl.Pad, gl.Dilation, gl.Group
			}
		case graph.AvgPool, graph.GlobalAvgPool:
			if gl.Op == graph.GlobalAvgPool {
				l.Kernel, l.Stride = [2]int{gl.InShape[1], gl.InShape[2]}, [2]int{1, 1}
			} else {
				l.Kernel, l.Stride, l.Pad, l.CeilMode = gl.Kernel, gl.Stride, gl.Pad, gl.CeilMode
			}
			l.PoolW = poolWeights(l, gl.CountIncludePad || gl.Op == graph.GlobalAvgPool, scale)
		case graph.MaxPool:
			l.Kernel, l.Stride, l.Pad, l.CeilMode = gl.Kernel, gl.Stride, gl.Pad, gl.CeilMode
			if msg := emptyWindow(l); msg != "" {
				return nil, cerr(u.idx, "%s", msg)
			}
		}
		if l.Spiking() {
			l.Counter = counterweights(l)
		}
		n.Layers = append(n.Layers, l)
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("snn: convert produced an invalid network (a bug): %w", err)
	}
	return n, nil
}

// poolWeights returns AvgPool's weight per output position, scale/divisor,
// with PyTorch's divisor: with countIncludePad the window clipped to the
// padded input, else the inputs that exist.
func poolWeights(l *Layer, countIncludePad bool, scale float64) []float32 {
	h, w := l.InShape[1], l.InShape[2]
	ho, wo := l.OutShape[1], l.OutShape[2]
	out := make([]float32, ho*wo)
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			hs, ws := oh*l.Stride[0]-l.Pad[0], ow*l.Stride[1]-l.Pad[1]
			var div int
			if countIncludePad {
				he, we := min(hs+l.Kernel[0], h+l.Pad[2]), min(ws+l.Kernel[1], w+l.Pad[3])
				div = (he - hs) * (we - ws)
			} else {
				div = validCount(hs, l.Kernel[0], h) * validCount(ws, l.Kernel[1], w)
			}
			if div <= 0 {
				div = 1 // a window with no input: it has no synapses either
			}
			out[oh*wo+ow] = float32(scale / float64(div))
		}
	}
	return out
}
