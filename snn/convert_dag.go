package snn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// This file converts a model that is not a chain (SPEC §7): residual Adds
// become one spiking node with several input groups, Concat is structure.

// part is one piece of a value carried by spikes: the output of a layer
// (−1: the network input) with its shape.
type part struct {
	layer int
	shape []int
	// neg, when signed, is the layer of the negative half of a signed pair
	// (SPEC §7): the value is layer's spikes minus neg's.
	signed bool
	neg    int
}

// dagValue is what a graph node's output is on the spiking side.
type dagValue struct {
	parts   []part    // spikes: one part, or several for a Concat (channel order)
	pending bool      // a Conv/Linear without ReLU merged into the Add that reads it
	scale   []float32 // an Affine x·scale over parts (per channel), read by Adds only
}

// convertDAG is Convert for a model that is not a chain. mc is a clone
// with explicit inputs and shapes.
func convertDAG(mc *graph.Model, cfg Config, name string) (*Network, error) {
	nodes := mc.Nodes
	cerr := func(i int, format string, a ...any) error {
		return &ConvertError{Layer: i, Name: nodes[i].Name, Op: nodes[i].Op, Msg: fmt.Sprintf(format, a...)}
	}
	T := cfg.Tmax
	if len(cfg.TmaxLayers) > 0 {
		T = cfg.TmaxLayers[0]
		for _, t := range cfg.TmaxLayers {
			if t != T {
				return nil, fmt.Errorf("snn: convert: per-layer windows %v: a branching network needs one T for all spiking layers (not supported for branching networks yet)", cfg.TmaxLayers)
			}
		}
	}
	if T < 1 || T > maxSteps/4 {
		return nil, fmt.Errorf("snn: convert: T = %d, want 1..%d", T, maxSteps/4)
	}
	// Ops without a Quartz equivalent first, wherever they sit (as the
	// chain conversion does).
	for i, gl := range nodes {
		switch gl.Op {
		case graph.LeakyReLU:
			return nil, cerr(i, "LeakyReLU (alpha %v): not convertible to Quartz (ANN only): negative outputs need a second spike; retrain with ReLU", gl.Alpha)
		case graph.BatchNorm:
			return nil, cerr(i, "BatchNorm must be folded into the layer before it first (graph.Simplify)")
		}
		if why := gl.Op.AnnOnly(); why != "" {
			return nil, cerr(i, "not convertible to Quartz (ANN only): %s", why)
		}
	}
	cons := mc.Consumers()
	last := len(nodes) - 1
	chained := func(i int) bool { return len(nodes[i].Inputs) == 1 && nodes[i].Inputs[0] == i-1 }
	// The analog first layer (AnalogFirst): the first Conv/Linear, reached
	// from the model input through a chain of structure nodes and at most
	// one input transform (Affine); its ReLU outputs are the input spikes
	// (source −1 of the spiking layers).
	analogAt := -1
	var affine *graph.Node
	if cfg.AnalogFirst {
		u := 0
		for ; u < len(nodes) && nodes[u].Op != graph.Conv && nodes[u].Op != graph.Linear; u++ {
			switch nodes[u].Op {
			case graph.Affine:
				if affine != nil || nodes[u].PerElement() || !slices.Equal(nodes[u].InShape, mc.InputShape) {
					return nil, cerr(u, "an input transform is supported only once, on the model input, with one scale and shift per input channel (per-element values are not supported yet)")
				}
				affine = nodes[u]
			case graph.Flatten, graph.Reshape, graph.Dropout:
			default:
				return nil, cerr(u, "AnalogFirst: the first layer must be a Conv or Linear; a %v before it is not supported", nodes[u].Op)
			}
		}
		if u == len(nodes) {
			return nil, errors.New("snn: convert: the model has no Conv, Linear or AvgPool layer")
		}
		for j := 0; j <= u; j++ {
			if !chained(j) || (j < u && len(cons[j]) != 1) {
				return nil, cerr(j, "AnalogFirst: the model input must reach the analog layer through a chain (not supported for branching networks yet)")
			}
		}
		for j := u + 1; j < len(nodes); j++ {
			if slices.Contains(nodes[j].Inputs, graph.ModelInput) {
				return nil, cerr(j, "AnalogFirst: a node other than the analog layer reads the model input (not supported for branching networks yet)")
			}
		}
		if !mc.Rectified(u) {
			return nil, cerr(u, "AnalogFirst: the first layer must be followed by ReLU")
		}
		analogAt = u
	}
	// isOutput: node i's value reaches the model output through structure only.
	isOutput := func(i int) bool {
		for i != last {
			if len(cons[i]) != 1 {
				return false
			}
			i = cons[i][0]
			switch nodes[i].Op {
			case graph.Dropout, graph.Flatten, graph.Reshape, graph.ReLU, graph.Clip:
			default:
				return false
			}
		}
		return true
	}
	n := &Network{Name: name, InShape: slices.Clone(mc.InputShape), Threshold: cfg.Threshold}
	var ends []int // per layer: end of its window
	vals := make([]dagValue, len(nodes))
	valOf := func(j int) dagValue {
		if j == graph.ModelInput {
			return dagValue{parts: []part{{layer: -1, shape: mc.InputShape}}}
		}
		return vals[j]
	}
	endOf := func(l int) int {
		if l < 0 {
			return 0
		}
		return ends[l]
	}
	// add appends a layer reading groups gs (nil: an implicit group, set
	// in the layer's own fields, from the previous layer).
	add := func(l *Layer, gs []Group) int {
		idx := len(n.Layers)
		tau := 0
		if gs == nil {
			if idx > 0 {
				tau = ends[idx-1]
			}
		} else {
			for _, g := range gs {
				tau = max(tau, endOf(g.From))
			}
			for k := range gs {
				gs[k].Delay = tau - endOf(gs[k].From)
			}
			l.Groups = gs
			l.InShape = slices.Clone(gs[0].InShape)
		}
		e := tau
		if l.Spiking() {
			l.T, l.TOut, l.Theta = T, T, cfg.Threshold.theta(T)
			e += T
		}
		n.Layers = append(n.Layers, l)
		ends = append(ends, e)
		return idx
	}
	// single returns the one part of v, or an error for a Concat.
	single := func(i int, v dagValue, what string) (part, error) {
		if v.pending || v.scale != nil || len(v.parts) != 1 {
			return part{}, cerr(i, "%s reading a Concat (or an unrectified value) is not supported for branching networks yet", what)
		}
		return v.parts[0], nil
	}
	// linearGroups returns the groups of Conv/Linear node gl reading value
	// v (a Concat gives one group per part, with its slice of the weights),
	// or nil when it reads the previous layer alone (an implicit group).
	linearGroups := func(i int, gl *graph.Node, v dagValue, implicitOK bool) ([]Group, error) {
		if v.pending || v.scale != nil {
			return nil, cerr(i, "reads an unrectified value: not supported yet (signed pairs not built yet)")
		}
		if len(v.parts) == 1 && implicitOK && !v.parts[0].signed && v.parts[0].layer == len(n.Layers)-1 {
			return nil, nil
		}
		var gs []Group
		off := 0
		for _, p := range v.parts {
			g := Group{From: p.layer, Kind: Conv}
			if gl.Op == graph.Linear {
				in := graph.Size(p.shape)
				out, all := gl.WShape[0], gl.WShape[1]
				g.Kind, g.InShape, g.WShape = Linear, []int{in}, []int{out, in}
				g.W = make([]float32, out*in)
				for o := 0; o < out; o++ {
					copy(g.W[o*in:(o+1)*in], gl.W[o*all+off:o*all+off+in])
				}
				off += in
			} else {
				if len(p.shape) != 3 || (len(v.parts) == 1 && !slices.Equal(p.shape, gl.InShape)) {
					return nil, cerr(i, "a convolution reading a reshaped value is not supported for branching networks yet")
				}
				c := p.shape[0]
				if len(v.parts) > 1 && gl.Group != 1 {
					return nil, cerr(i, "a grouped convolution reading a Concat is not supported yet")
				}
				cout, cin, kk := gl.WShape[0], gl.WShape[1], gl.WShape[2]*gl.WShape[3]
				g.InShape = slices.Clone(p.shape)
				g.Kernel, g.Stride, g.Pad, g.Dilation, g.Group = gl.Kernel, gl.Stride, gl.Pad, gl.Dilation, gl.Group
				if len(v.parts) == 1 {
					g.W, g.WShape = slices.Clone(gl.W), slices.Clone(gl.WShape)
				} else {
					g.WShape = []int{cout, c, gl.WShape[2], gl.WShape[3]}
					g.W = make([]float32, cout*c*kk)
					for o := 0; o < cout; o++ {
						copy(g.W[o*c*kk:(o+1)*c*kk], gl.W[(o*cin+off)*kk:(o*cin+off+c)*kk])
					}
				}
				off += c
			}
			gs = append(gs, g)
			if p.signed {
				// The negative half: the same map with the weights negated.
				gs = append(gs, negGroup(g, p.neg))
			}
		}
		return gs, nil
	}
	spikes := func(idx int, shape []int) dagValue {
		return dagValue{parts: []part{{layer: idx, shape: slices.Clone(shape)}}}
	}
	// signedPair appends the negative half of the signed pair whose
	// positive half is the layer just added (l, groups gs), and returns the
	// pair's value (SPEC §7: z⁺ = relu(z), z⁻ = relu(−z), same inputs and
	// window; the readers take z⁺ − z⁻).
	signedPair := func(pos *Layer, gs []Group, shape []int) dagValue {
		neg := &Layer{Name: pos.Name + NegSuffix, Kind: Sum, OutShape: slices.Clone(pos.OutShape), Rectify: true}
		neg.B = make([]float32, len(pos.B))
		for c, b := range pos.B {
			neg.B[c] = -b
		}
		var ng []Group
		for _, g := range gs {
			ng = append(ng, negGroup(g, g.From))
		}
		idx := add(neg, ng)
		n.Signed += 2 * neg.Size()
		return dagValue{parts: []part{{layer: idx - 1, shape: slices.Clone(shape), signed: true, neg: idx}}}
	}
	// newLinear makes the layer of Conv/Linear node i.
	newLinear := func(i int, gl *graph.Node, gs []Group, out, rect bool) *Layer {
		l := &Layer{Name: gl.Name, Kind: map[graph.Op]Kind{graph.Conv: Conv, graph.Linear: Linear}[gl.Op],
			InShape: slices.Clone(gl.InShape), OutShape: slices.Clone(gl.OutShape), Output: out}
		l.Rectify = !out || rect
		l.B = make([]float32, gl.WShape[0])
		if gl.B != nil {
			copy(l.B, gl.B)
		}
		if gs == nil {
			l.W, l.WShape = slices.Clone(gl.W), slices.Clone(gl.WShape)
			if gl.Op == graph.Linear {
				l.InShape = []int{graph.Size(gl.InShape)}
			} else {
				l.Kernel, l.Stride, l.Pad, l.Dilation, l.Group = gl.Kernel, gl.Stride, gl.Pad, gl.Dilation, gl.Group
			}
		} else {
			l.Kind = Sum
		}
		vals[i] = spikes(add(l, gs), gl.OutShape)
		return l
	}
	for i, gl := range nodes {
		ins := gl.Inputs
		if i < analogAt {
			continue // structure and the input transform, in the analog layer
		}
		if i == analogAt {
			l := &Layer{Name: gl.Name, Kind: map[graph.Op]Kind{graph.Conv: Conv, graph.Linear: Linear}[gl.Op], Analog: true, Rectify: true, TOut: T,
				InShape: slices.Clone(gl.InShape), OutShape: slices.Clone(gl.OutShape), W: slices.Clone(gl.W), WShape: slices.Clone(gl.WShape)}
			l.B = make([]float32, gl.WShape[0])
			copy(l.B, gl.B)
			if gl.Op == graph.Linear {
				l.InShape = []int{graph.Size(gl.InShape)}
			} else {
				l.Kernel, l.Stride, l.Pad, l.Dilation, l.Group = gl.Kernel, gl.Stride, gl.Pad, gl.Dilation, gl.Group
			}
			if affine != nil {
				l.InScale, l.InShift = slices.Clone(affine.Scale), slices.Clone(affine.Shift)
			}
			n.Layers = append(n.Layers, l)
			ends = append(ends, 0)
			vals[i] = dagValue{parts: []part{{layer: -1, shape: slices.Clone(gl.OutShape)}}}
			continue
		}
		switch gl.Op {
		case graph.Dropout, graph.Flatten, graph.Reshape:
			v := valOf(ins[0])
			if v.pending || v.scale != nil {
				return nil, cerr(i, "reads an unrectified value that is not the output: not supported yet (signed pairs not built yet)")
			}
			vals[i] = v
		case graph.ReLU, graph.Clip:
			if gl.Op == graph.Clip {
				if gl.Min != 0 {
					return nil, cerr(i, "Clip with Min = %v is not supported (only Min = 0, treated as ReLU)", gl.Min)
				}
				if gl.Max < 1 {
					n.Warnings = append(n.Warnings, fmt.Sprintf("layer %q: Clip(0, %v) is treated as ReLU; spikes carry values up to 1, not %v", gl.Name, gl.Max, gl.Max))
				}
			}
			v := valOf(ins[0])
			if v.pending || v.scale != nil {
				return nil, cerr(i, "a ReLU on an unrectified value is not supported here")
			}
			// relu(z⁺ − z⁻) = z⁺: at most one half of a signed pair is
			// nonzero.
			var rv dagValue
			for _, p := range v.parts {
				p.signed = false
				rv.parts = append(rv.parts, p)
			}
			vals[i] = rv
		case graph.LeakyReLU:
			return nil, cerr(i, "LeakyReLU (alpha %v): not convertible to Quartz (ANN only): negative outputs need a second spike; retrain with ReLU", gl.Alpha)
		case graph.BatchNorm:
			return nil, cerr(i, "BatchNorm must be folded into the layer before it first (graph.Simplify)")
		case graph.Affine:
			v := valOf(ins[0])
			allAdd := len(cons[i]) > 0
			for _, c := range cons[i] {
				allAdd = allAdd && nodes[c].Op == graph.Add
			}
			zero := true
			for _, x := range gl.Shift {
				zero = zero && x == 0
			}
			if ins[0] == graph.ModelInput && !allAdd {
				return nil, cerr(i, "an input transform (per-channel x·scale + shift, e.g. --input-mean/--input-std that could not be folded into a zero-padded first conv) makes the input negative, which spikes cannot carry: convert with an analog first layer (AnalogFirst, --analog-first), which computes it in floating point")
			}
			if !allAdd || !zero || gl.PerElement() || v.pending || v.scale != nil || len(v.parts) != 1 {
				return nil, cerr(i, "an Affine (x·scale + shift) in a branching network is supported only as the per-channel scale (shift 0) of a shortcut into an Add, as normalization inserts it; not supported yet here")
			}
			vals[i] = dagValue{parts: v.parts, scale: gl.Scale}
		case graph.Conv, graph.Linear:
			rect := mc.Rectified(i)
			v := valOf(ins[0])
			if !rect && len(cons[i]) == 1 && nodes[cons[i][0]].Op == graph.Add {
				if v.pending || v.scale != nil {
					return nil, cerr(i, "reads an unrectified value: not supported yet (signed pairs not built yet)")
				}
				vals[i] = dagValue{pending: true, parts: v.parts}
				continue
			}
			out := isOutput(i)
			signed := !rect && !out
			gs, err := linearGroups(i, gl, v, !signed)
			if err != nil {
				return nil, err
			}
			l := newLinear(i, gl, gs, out, rect)
			if signed {
				vals[i] = signedPair(l, gs, gl.OutShape)
			}
		case graph.Add:
			var gs []Group
			bias := make([]float64, gl.OutShape[0])
			for _, j := range ins {
				v := valOf(j)
				if v.pending {
					cg, err := linearGroups(j, nodes[j], dagValue{parts: v.parts}, false)
					if err != nil {
						return nil, err
					}
					gs = append(gs, cg...)
					for c, b := range nodes[j].B {
						bias[c] += float64(b)
					}
					continue
				}
				p, err := single(i, dagValue{parts: v.parts}, "an Add")
				if err != nil {
					return nil, err
				}
				if !slices.Equal(p.shape, gl.OutShape) {
					return nil, cerr(i, "an Add of a reshaped value is not supported yet")
				}
				w := make([]float32, gl.OutShape[0])
				for c := range w {
					w[c] = 1
					if v.scale != nil {
						w[c] = v.scale[c]
					}
				}
				g := Group{From: p.layer, Kind: Identity, InShape: slices.Clone(p.shape), W: w}
				gs = append(gs, g)
				if p.signed {
					gs = append(gs, negGroup(g, p.neg))
				}
			}
			rect, out := mc.Rectified(i), isOutput(i)
			l := &Layer{Name: gl.Name, Kind: Sum, OutShape: slices.Clone(gl.OutShape), Output: out, Rectify: !out || rect}
			l.B = make([]float32, len(bias))
			for c, b := range bias {
				l.B[c] = float32(b)
			}
			vals[i] = spikes(add(l, gs), gl.OutShape)
			if !rect && !out {
				vals[i] = signedPair(l, gs, gl.OutShape)
			}
		case graph.Concat:
			var v dagValue
			for _, j := range ins {
				u := valOf(j)
				if u.pending || u.scale != nil {
					return nil, cerr(i, "a Concat of an unrectified value is not supported yet (signed pairs not built yet)")
				}
				v.parts = append(v.parts, u.parts...)
			}
			vals[i] = v
		case graph.MaxPool, graph.AvgPool, graph.GlobalAvgPool:
			// Pooling is per channel: on a Concat it is one layer per part
			// (named node[k]), whose outputs are the parts of the result.
			v := valOf(ins[0])
			if v.pending || v.scale != nil {
				return nil, cerr(i, "a %v of an unrectified value is not supported yet", gl.Op)
			}
			for _, p := range v.parts {
				if p.signed {
					return nil, cerr(i, "a %v of a value without ReLU (a signed pair) is not supported yet", gl.Op)
				}
				if len(p.shape) != 3 || (len(v.parts) == 1 && !slices.Equal(p.shape, gl.InShape)) {
					return nil, cerr(i, "pooling a reshaped value is not supported for branching networks yet")
				}
			}
			out := gl.Op != graph.MaxPool && isOutput(i)
			if len(v.parts) > 1 && (out || i == last) {
				return nil, cerr(i, "pooling a Concat as the model output is not supported yet")
			}
			var pieces []part
			for k, p := range v.parts {
				name := gl.Name
				if len(v.parts) > 1 {
					name = fmt.Sprintf("%s[%d]", gl.Name, k)
				}
				l := &Layer{Name: name, InShape: slices.Clone(p.shape), OutShape: []int{p.shape[0], gl.OutShape[1], gl.OutShape[2]}}
				g := Group{From: p.layer, InShape: slices.Clone(p.shape)}
				if gl.Op == graph.GlobalAvgPool {
					g.Kernel, g.Stride = [2]int{p.shape[1], p.shape[2]}, [2]int{1, 1}
				} else {
					g.Kernel, g.Stride, g.Pad, g.CeilMode = gl.Kernel, gl.Stride, gl.Pad, gl.CeilMode
				}
				implicit := p.layer == len(n.Layers)-1
				if gl.Op == graph.MaxPool {
					if i == last {
						return nil, cerr(i, "a relay layer as the output is not supported")
					}
					g.Kind = MaxPool
					if msg := emptyWindow(g.layer(l.OutShape)); msg != "" {
						return nil, cerr(i, "%s", msg)
					}
					l.Kind = MaxPool
				} else {
					g.Kind = AvgPool
					g.PoolW = poolWeights(g.layer(l.OutShape), gl.CountIncludePad || gl.Op == graph.GlobalAvgPool, 1)
					l.Kind, l.Output, l.Rectify = AvgPool, out, true
					if out {
						l.Rectify = mc.Rectified(i)
					}
					if !implicit {
						l.Kind = Sum
						l.B = make([]float32, l.OutShape[0])
					}
				}
				var idx int
				if implicit {
					l.Kernel, l.Stride, l.Pad, l.CeilMode, l.PoolW = g.Kernel, g.Stride, g.Pad, g.CeilMode, g.PoolW
					idx = add(l, nil)
				} else {
					idx = add(l, []Group{g})
				}
				pieces = append(pieces, part{layer: idx, shape: slices.Clone(l.OutShape)})
			}
			vals[i] = dagValue{parts: pieces}
		default:
			if why := gl.Op.AnnOnly(); why != "" {
				return nil, cerr(i, "not convertible to Quartz (ANN only): %s", why)
			}
			return nil, cerr(i, "%v is not supported yet", gl.Op)
		}
	}
	v := vals[last]
	if len(n.Layers) == 0 || v.pending || len(v.parts) != 1 || v.parts[0].layer != len(n.Layers)-1 || !n.Layers[len(n.Layers)-1].Output {
		return nil, cerr(last, "the model output must be a Conv, Linear, pooling layer or Add (a Concat or relay as the output is not supported yet)")
	}
	spiking := 0
	for _, l := range n.Layers {
		if l.Spiking() {
			spiking++
		}
	}
	if len(cfg.TmaxLayers) > 0 && len(cfg.TmaxLayers) != spiking {
		return nil, fmt.Errorf("snn: convert: %d TmaxLayers for %d spiking layers", len(cfg.TmaxLayers), spiking)
	}
	if ends[len(ends)-1]+T+MaxTail >= maxSteps {
		return nil, fmt.Errorf("snn: convert: windows add up to %d steps, too many", ends[len(ends)-1])
	}
	for _, l := range n.Layers {
		if l.Spiking() {
			l.Counter = counterweights(l)
		}
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("snn: convert produced an invalid network (a bug): %w", err)
	}
	return n, nil
}

// NegSuffix is appended to the name of a node without ReLU to name the
// negative half of its signed pair (SPEC §7); the positive half keeps the
// node's name.
const NegSuffix = "⁻"

// negGroup returns g reading layer from with its weights negated.
func negGroup(g Group, from int) Group {
	g.From = from
	neg := func(v []float32) []float32 {
		if v == nil {
			return nil
		}
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = -x
		}
		return out
	}
	g.W, g.PoolW = neg(g.W), neg(g.PoolW)
	g.InShape, g.WShape = slices.Clone(g.InShape), slices.Clone(g.WShape)
	return g
}
