package normalize

import (
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// This file normalizes models that are not chains (SPEC §7, "Normalization
// per input group"). The normalized nodes are the spiking nodes of the
// SNN: every Conv and Linear except one that is read only by an Add and
// has no ReLU (it is an input group of the Add's node and takes the Add's
// P), every Add, and the pooling nodes that become spiking layers.

// dagTargets is Targets for a model that is not a chain; merged maps each
// Conv/Linear merged into an Add to the Add.
func dagTargets(m *graph.Model) (param, act []int, merged map[int]int) {
	cons := m.Consumers()
	merged = map[int]int{}
	for i, l := range m.Nodes {
		switch l.Op {
		case graph.Conv, graph.Linear:
			if len(cons[i]) == 1 && m.Nodes[cons[i][0]].Op == graph.Add && !m.Rectified(i) {
				merged[i] = cons[i][0]
				continue
			}
		case graph.Add, graph.AvgPool, graph.GlobalAvgPool:
		default:
			continue
		}
		a, j := i, i
	follow:
		for len(cons[j]) == 1 {
			k := cons[j][0]
			switch m.Nodes[k].Op {
			case graph.ReLU, graph.Clip, graph.LeakyReLU:
				a = k
				break follow
			case graph.Flatten, graph.Reshape, graph.Dropout:
				j = k
			default:
				break follow
			}
		}
		param = append(param, i)
		act = append(act, a)
	}
	return param, act, merged
}

// normalizeDAG is Normalize for a model that is not a chain: per node, the
// scale by which the normalized network divides its output is tracked per
// channel (P_v for a normalized node, 1 for the input; pooling, ReLU and
// structure pass it on, a Concat stacks its inputs'); a Conv/Linear
// multiplies each weight by the scale of its input channel and divides it
// by its own P (the Add's for a merged one), its bias by P; and every Add
// input that is not a merged Conv/Linear (a shortcut) gets a per-channel
// graph.Affine with Scale = scale of the input / P of the Add, Shift 0,
// inserted just before the Add. The normalized model thus has more nodes;
// LayerStat.Layer indexes the calibrated model.
func (c *Calibration) normalizeDAG(cfg Config, pcts []float64) (*graph.Model, *Report, error) {
	m := c.model
	_, _, merged := dagTargets(m)
	rep := &Report{Layers: make([]LayerStat, len(c.param))}
	nm := m.Clone()
	for i := range nm.Nodes {
		nm.Nodes[i].Inputs = nm.InputsOf(i)
	}
	tOf := map[int]int{}
	actOf := map[int]int{}
	P := make([]float64, len(c.param))
	cons := m.Consumers()
	// signed: a node without ReLU that is not the model output, carried
	// by a signed pair in the SNN.
	signed := func(t int) bool {
		switch m.Nodes[c.act[t]].Op {
		case graph.ReLU, graph.Clip, graph.LeakyReLU:
			return false
		}
		for j := c.act[t]; j != len(m.Nodes)-1; {
			if len(cons[j]) != 1 {
				return true
			}
			j = cons[j][0]
			switch m.Nodes[j].Op {
			case graph.Flatten, graph.Reshape, graph.Dropout:
			default:
				return true
			}
		}
		return false
	}
	pre := c.model.Normalized() // scales 1 (see Normalize)
	for t, p := range c.param {
		tOf[p] = t
		actOf[c.act[t]] = t
		l := nm.Nodes[p]
		st := LayerStat{Layer: p, Name: l.Name, Percentile: pcts[t]}
		if !c.fixed[t] {
			s := c.hists[t]
			if s.n == 0 {
				return nil, nil, fmt.Errorf("normalize: node %d %q: no calibration activations (empty calibration set?)", p, l.Name)
			}
			scale := s.percentile(pcts[t], true)
			if a := nm.Nodes[c.act[t]]; a.Op == graph.Clip && a.Min == 0 && a.Max > 0 {
				scale = float64(a.Max)
			}
			st.Values, st.Kept = int(s.n), int(s.n)
			st.AboveOne = s.fractionAbove(scale)
			if signed(t) {
				// Both signs are carried (z⁺ and z⁻): P is the larger
				// of the upper and the lower tail's percentile magnitudes.
				lo := -float64(s.mn)
				if pcts[t] < 100 {
					lo = -s.percentile(100-pcts[t], true)
				}
				scale = max(scale, lo)
				st.AboveOne = s.fractionAbove(scale) + 1 - s.fractionAbove(-scale)
			}
			if pre {
				scale = 1
				st.AboveOne = s.fractionAbove(1)
				if signed(t) {
					st.AboveOne += 1 - s.fractionAbove(-1)
				}
			}
			if !(scale > 0) || math.IsInf(scale, 0) {
				return nil, nil, fmt.Errorf("normalize: node %d %q: %v-th percentile of its activations is %v; the layer is dead or diverges on the calibration set", p, l.Name, pcts[t], scale)
			}
			P[t] = scale
			st.Scale = scale
		}
		rep.Layers[t] = st
	}
	uniform := func(v float64, n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	sc := make([][]float64, len(nm.Nodes))
	scOf := func(j int) []float64 {
		if j < 0 {
			return uniform(1, m.InputShape[0])
		}
		return sc[j]
	}
	// fit returns the scales s for a value of c channels: s itself, or,
	// after a Reshape that changed the channel axis, s's common value (an
	// error when the channels had different scales).
	fit := func(i int, s []float64, c int) ([]float64, error) {
		if len(s) == c {
			return s, nil
		}
		if slices.Min(s) != slices.Max(s) {
			return nil, fmt.Errorf("normalize: node %d %q: a reshaped value whose channels have different scales (a Concat of branches) is not supported yet", i, nm.Nodes[i].Name)
		}
		return uniform(s[0], c), nil
	}
	for i, l := range nm.Nodes {
		in := scOf(l.Inputs[0])
		switch l.Op {
		case graph.Conv:
			var err error
			if in, err = fit(i, in, l.InShape[0]); err != nil {
				return nil, nil, err
			}
		case graph.Linear:
			if l.WShape[1]%len(in) != 0 {
				var err error
				if in, err = fit(i, in, l.WShape[1]); err != nil {
					return nil, nil, err
				}
			}
		}
		switch l.Op {
		case graph.Conv, graph.Linear:
			t, ok := tOf[i]
			if a, m := merged[i]; m {
				t, ok = tOf[a], true
			}
			if !ok {
				return nil, nil, fmt.Errorf("normalize: node %d %q: not a normalized node (a bug)", i, l.Name)
			}
			pv := P[t]
			if l.Op == graph.Linear {
				nin := l.WShape[1]
				hw := nin / len(in)
				for o := 0; o < l.WShape[0]; o++ {
					for j := 0; j < nin; j++ {
						l.W[o*nin+j] = float32(float64(l.W[o*nin+j]) * in[j/hw] / pv)
					}
				}
			} else {
				cing, kk := l.WShape[1], l.WShape[2]*l.WShape[3]
				coutg := l.WShape[0] / l.Group
				for o := 0; o < l.WShape[0]; o++ {
					gr := o / coutg
					for ci := 0; ci < cing; ci++ {
						f := in[gr*cing+ci] / pv
						for k := 0; k < kk; k++ {
							w := &l.W[(o*cing+ci)*kk+k]
							*w = float32(float64(*w) * f)
						}
					}
				}
			}
			for k := range l.B {
				l.B[k] = float32(float64(l.B[k]) / pv)
			}
			sc[i] = uniform(pv, l.OutShape[0])
		case graph.Add:
			sc[i] = uniform(P[tOf[i]], l.OutShape[0])
		case graph.AvgPool, graph.GlobalAvgPool:
			sc[i] = in
			t := tOf[i]
			P[t], rep.Layers[t].Scale = in[0], in[0]
		case graph.Concat:
			var s []float64
			for _, j := range l.Inputs {
				s = append(s, scOf(j)...)
			}
			sc[i] = s
		case graph.Clip:
			sc[i] = in
			v := in[0]
			if t, ok := actOf[i]; ok {
				v = P[t]
			} else if slices.Min(in) != slices.Max(in) {
				return nil, nil, fmt.Errorf("normalize: node %d %q (Clip): its input's channels have different scales (a Concat of branches): not supported yet", i, l.Name)
			}
			l.Min = float32(float64(l.Min) / v)
			l.Max = float32(float64(l.Max) / v)
		default: // ReLU, LeakyReLU, MaxPool, Dropout, Flatten, Reshape, an input Affine
			sc[i] = in
		}
	}
	// Insert the shortcut scales before the Adds.
	var out []*graph.Node
	newIdx := make([]int, len(nm.Nodes))
	for i, l := range nm.Nodes {
		for k, j := range l.Inputs {
			if j >= 0 {
				l.Inputs[k] = newIdx[j]
			}
		}
		if l.Op == graph.Add {
			pa := P[tOf[i]]
			for k, j := range m.InputsOf(i) {
				if _, ok := merged[j]; ok && merged[j] == i {
					continue
				}
				s := scOf(j)
				n := l.OutShape[0]
				if n%len(s) != 0 {
					return nil, nil, fmt.Errorf("normalize: node %d %q (Add): input %d has %d channel scales for %d channels (a bug)", i, l.Name, k, len(s), n)
				}
				per := n / len(s)
				a := &graph.Node{Name: fmt.Sprintf("%s_in%d_scale", l.Name, k), Op: graph.Affine,
					Inputs: []int{l.Inputs[k]}, Scale: make([]float32, n), Shift: make([]float32, n)}
				for ch := range a.Scale {
					a.Scale[ch] = float32(s[ch/per] / pa)
				}
				out = append(out, a)
				l.Inputs[k] = len(out) - 1
			}
		}
		newIdx[i] = len(out)
		out = append(out, l)
	}
	nm.Nodes = out
	if err := nm.InferShapes(); err != nil {
		return nil, nil, fmt.Errorf("normalize: the normalized model (a bug): %w", err)
	}
	for _, st := range rep.Layers {
		if st.AboveOne > 0.01 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %.2f %% of activations above 1 after normalization", st.Name, 100*st.AboveOne))
		}
	}
	return nm, rep, nil
}
