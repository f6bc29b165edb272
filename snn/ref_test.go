package snn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// This file holds the test-only references: a generator of random chain
// models on a dyadic grid, a naive synapse enumerator, the closed-form spike
// times of SPEC §2, and the layer-by-layer quantized ANN.

// dyadic returns a multiple of 2⁻⁸ near N(0, sigma²), |w| ≤ 4.
func dyadic(rng *rand.Rand, sigma float64) float32 {
	v := math.Round(rng.NormFloat64()*sigma*256) / 256
	return float32(math.Max(-4, math.Min(4, v)))
}

type randomNet struct {
	m   *graph.Model
	cfg Config
}

// randomModel builds a random valid chain model with dyadic weights: conv
// (strides, padding, dilation, groups, depthwise), maxpool, avgpool with
// power-of-two windows, global average pooling, linear layers.
func randomModel(rng *rand.Rand) randomNet {
	for {
		if rn, ok := tryRandomModel(rng); ok {
			return rn
		}
	}
}

func tryRandomModel(rng *rand.Rand) (randomNet, bool) {
	c, h, w := 1+rng.IntN(3), 2+rng.IntN(10), 2+rng.IntN(10)
	m := &graph.Model{Name: "random", InputShape: []int{c, h, w}}
	gain := 0.3 + 2.7*rng.Float64()
	if rng.IntN(3) == 0 {
		gain = 0.3 + 0.5*rng.Float64() // few early spikes
	}
	cfg := Config{Tmax: 1 + rng.IntN(40)}
	if rng.IntN(4) == 0 {
		cfg.Threshold = Truncate
	}
	cfg.AnalogFirst = rng.IntN(7) == 0
	name := 0
	add := func(l *graph.Node) bool {
		l.Name = fmt.Sprintf("L%d", name)
		name++
		m.Nodes = append(m.Nodes, l)
		if err := m.InferShapes(); err != nil {
			m.Nodes = m.Nodes[:len(m.Nodes)-1]
			return false
		}
		return true
	}
	shape := func() []int { return m.OutputShape() }
	params := func(l *graph.Node, fanin int, withBias bool) {
		sigma := gain / math.Sqrt(float64(fanin))
		l.W = make([]float32, graph.Size(l.WShape))
		for i := range l.W {
			l.W[i] = dyadic(rng, sigma)
		}
		if withBias {
			l.B = make([]float32, l.WShape[0])
			for i := range l.B {
				l.B[i] = dyadic(rng, 0.15*gain)
			}
		}
	}
	relu := func() {
		if rng.IntN(4) == 0 {
			add(&graph.Node{Op: graph.Clip, Min: 0, Max: 6})
		} else {
			add(&graph.Node{Op: graph.ReLU})
		}
	}
	conv := func(maxCout int) bool {
		cin := shape()[0]
		var divs []int
		for d := 1; d <= cin; d++ {
			if cin%d == 0 {
				divs = append(divs, d)
			}
		}
		g := divs[rng.IntN(len(divs))]
		if rng.IntN(4) == 0 {
			g = cin
		}
		cout := g * (1 + rng.IntN(max(1, maxCout/g)))
		l := &graph.Node{Op: graph.Conv, Group: g,
			Kernel:   [2]int{1 + rng.IntN(3), 1 + rng.IntN(3)},
			Stride:   [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)},
			Dilation: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}}
		for i := range l.Pad {
			l.Pad[i] = rng.IntN(l.Kernel[i%2])
		}
		l.WShape = []int{cout, cin / g, l.Kernel[0], l.Kernel[1]}
		params(l, cin/g*l.Kernel[0]*l.Kernel[1], rng.IntN(5) != 0)
		return add(l)
	}
	linear := func(out int) bool {
		if len(shape()) != 1 {
			add(&graph.Node{Op: graph.Flatten})
		}
		in := shape()[0]
		l := &graph.Node{Op: graph.Linear, WShape: []int{out, in}}
		params(l, in, rng.IntN(5) != 0)
		return add(l)
	}
	spiking := 0
	if cfg.AnalogFirst {
		if !conv(4) {
			return randomNet{}, false
		}
		relu()
	}
	for b := rng.IntN(5); b > 0; b-- {
		sh := shape()
		if len(sh) == 1 {
			if !linear(2 + rng.IntN(8)) {
				return randomNet{}, false
			}
			relu()
			spiking++
			continue
		}
		switch rng.IntN(7) {
		case 0, 1, 2:
			if !conv(6) {
				continue
			}
			spiking++
			if rng.IntN(4) == 0 {
				k := 1 + rng.IntN(2)
				if add(&graph.Node{Op: graph.MaxPool, Kernel: [2]int{k, k}, Stride: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}, CeilMode: rng.IntN(2) == 0}) {
					add(&graph.Node{Op: graph.ReLU}) // after the pool: commutes
					continue
				}
			}
			relu()
			if rng.IntN(3) == 0 {
				add(&graph.Node{Op: graph.Dropout, Ratio: 0.5})
			}
		case 3:
			k := [2]int{1 + rng.IntN(3), 1 + rng.IntN(3)}
			l := &graph.Node{Op: graph.MaxPool, Kernel: k, Stride: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}, CeilMode: rng.IntN(2) == 0}
			l.Pad = [4]int{rng.IntN(k[0]/2 + 1), rng.IntN(k[1]/2 + 1), rng.IntN(k[0]/2 + 1), rng.IntN(k[1]/2 + 1)}
			add(l)
		case 4, 5:
			ks := [][2]int{{2, 2}, {1, 2}, {2, 1}, {2, 4}, {4, 1}, {1, 1}}
			k := ks[rng.IntN(len(ks))]
			l := &graph.Node{Op: graph.AvgPool, Kernel: k, Stride: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}}
			if rng.IntN(2) == 0 {
				l.CountIncludePad = true
				l.Pad = [4]int{rng.IntN(k[0]/2 + 1), rng.IntN(k[1]/2 + 1), rng.IntN(k[0]/2 + 1), rng.IntN(k[1]/2 + 1)}
			}
			if add(l) {
				spiking++
			}
		case 6:
			if a := sh[1] * sh[2]; a&(a-1) == 0 {
				add(&graph.Node{Op: graph.GlobalAvgPool})
				spiking++
			}
		}
	}
	// Output layer.
	if len(shape()) == 3 && rng.IntN(3) == 0 {
		if !conv(4) {
			return randomNet{}, false
		}
	} else if !linear(2 + rng.IntN(4)) {
		return randomNet{}, false
	}
	spiking++
	if rng.IntN(5) == 0 {
		add(&graph.Node{Op: graph.ReLU})
	}
	if rng.IntN(4) == 0 {
		cfg.TmaxLayers = make([]int, spiking)
		for i := range cfg.TmaxLayers {
			cfg.TmaxLayers[i] = 1 << (1 + rng.IntN(5))
		}
	}
	// Keep every partial sum far inside float32's exact range for 2⁻⁸ steps.
	maxT := cfg.Tmax
	for _, t := range cfg.TmaxLayers {
		maxT = max(maxT, t)
	}
	for _, l := range m.Nodes {
		if l.W == nil {
			continue
		}
		fan := graph.Size(l.WShape) / l.WShape[0]
		for o := 0; o < l.WShape[0]; o++ {
			s := 0.0
			for _, v := range l.W[o*fan : (o+1)*fan] {
				s += math.Abs(float64(v))
			}
			if l.B != nil {
				s += math.Abs(float64(l.B[o]))
			}
			if s*float64((spiking+2)*maxT)*4 > 1<<15 {
				return randomNet{}, false
			}
		}
	}
	return randomNet{m, cfg}, true
}

// randomInput returns a sample on the grid k/T (T the input window) or, for
// an analog first layer, dyadic values in [−1, 1].
func randomInput(rng *rand.Rand, n *Network) []float32 {
	x := make([]float32, size(n.InShape))
	t := n.InputT()
	for i := range x {
		if n.Layers[0].Analog {
			x[i] = float32(rng.IntN(257)-128) / 128
		} else {
			x[i] = float32(rng.IntN(t+1)) / float32(t)
		}
	}
	return x
}

// refSynapses enumerates the synapses into neuron o of layer l by the
// definition (independently of the simulators): source indices, weights,
// and the neuron's bias.
func refSynapses(l *Layer, o int) (src []int, w []float64, bias float64) {
	switch l.Kind {
	case Identity:
		per := l.Size() / l.InShape[0]
		return []int{o}, []float64{float64(l.W[o/per])}, 0
	case Linear:
		in := l.WShape[1]
		for j := 0; j < in; j++ {
			src = append(src, j)
			w = append(w, float64(l.W[o*in+j]))
		}
		if l.B != nil {
			bias = float64(l.B[o])
		}
		return src, w, bias
	}
	C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
	Ho, Wo := l.OutShape[1], l.OutShape[2]
	c, oh, ow := o/(Ho*Wo), o/Wo%Ho, o%Wo
	groups, dil := C, [2]int{1, 1}
	if l.Kind == Conv {
		groups, dil = l.Group, l.Dilation
		if l.B != nil {
			bias = float64(l.B[c])
		}
	}
	cpg := C / groups
	g := c / (l.OutShape[0] / groups)
	for ci := g * cpg; ci < (g+1)*cpg; ci++ {
		for kh := 0; kh < l.Kernel[0]; kh++ {
			for kw := 0; kw < l.Kernel[1]; kw++ {
				ih, iw := oh*l.Stride[0]-l.Pad[0]+kh*dil[0], ow*l.Stride[1]-l.Pad[1]+kw*dil[1]
				if ih < 0 || iw < 0 || ih >= H || iw >= W {
					continue
				}
				src = append(src, (ci*H+ih)*W+iw)
				switch l.Kind {
				case Conv:
					w = append(w, float64(l.W[((c*cpg+ci-g*cpg)*l.Kernel[0]+kh)*l.Kernel[1]+kw]))
				case AvgPool:
					w = append(w, float64(l.PoolW[oh*Wo+ow]))
				default:
					w = append(w, 0)
				}
			}
		}
	}
	return src, w, bias
}

// expected recomputes a whole SampleResult from r.Input by SPEC §2's closed
// forms: u(t) = Σ_j w_j·max(0, t−a_j) + b·max(0, t−τ) up to the readout,
// U + (t − readout) after it; relays fire at their window's first spike.
// Arithmetic is float64, exact on the dyadic grid.
func expected(n *Network, r *SampleResult) *SampleResult {
	e := &SampleResult{Input: slices.Clone(r.Input), Clamped: r.Clamped, Class: -1, FirstSpike: -1}
	e.Times = make([][]int32, len(n.Layers))
	e.Stats = make([]LayerStats, len(n.Layers))
	last := len(n.Layers) - 1
	for li, l := range n.Layers {
		if l.Analog {
			e.Times[li] = []int32{}
			continue
		}
		out := make([]int32, l.Size())
		st := &e.Stats[li]
		tau := n.Tau(li)
		for o := range out {
			// The synapses of every input group, as arrival steps.
			var arr []int
			var w []float64
			var b float64
			for _, g := range n.groups(li) {
				gsrc, gw, _ := refSynapses(g.layer(l.OutShape), o)
				prev := e.Input
				if g.From >= 0 && !n.Layers[g.From].Analog {
					prev = e.Times[g.From]
				}
				for k, j := range gsrc {
					arr = append(arr, int(prev[j])+g.Delay)
					w = append(w, gw[k])
				}
				if g.Delay > 0 {
					st.DelayedSynapses += int64(len(gsrc))
					st.DelaySteps += int64(len(gsrc) * g.Delay)
				}
			}
			if l.Kind == Conv || l.Kind == Linear || l.Kind == Sum {
				b = float64(l.B[o/(l.Size()/len(l.B))])
			}
			st.SynEvents += int64(len(arr))
			if l.Kind == MaxPool {
				out[o] = math.MaxInt32
				for _, a := range arr {
					out[o] = min(out[o], int32(a))
				}
				st.Spikes++
				continue
			}
			readout, rect := tau+l.T, tau+l.T+l.TOut
			steps := map[int]bool{readout: true}
			if l.Rectify {
				steps[rect] = true
			}
			if b != 0 {
				steps[tau] = true
				st.BiasEvents++
			}
			lo := tau
			for _, a := range arr {
				steps[a] = true
				lo = min(lo, a)
			}
			st.CurrentUpdates += int64(len(steps))
			st.ReadoutEvents++
			if l.Rectify {
				st.RectifierEvents++
			}
			u := func(t int) float64 {
				s := b * float64(max(0, t-tau))
				for k, a := range arr {
					s += w[k] * float64(max(0, t-a))
				}
				return s
			}
			theta := float64(l.Theta)
			out[o] = -2 // not yet known
			for t := lo + 1; t < readout; t++ {
				if u(t) >= theta {
					out[o] = int32(t)
					st.Early++
					break
				}
			}
			if out[o] != -2 {
				continue
			}
			k := math.Max(0, math.Ceil(theta-u(readout)))
			switch {
			case l.Rectify && k > float64(l.TOut):
				out[o] = int32(rect)
				st.Rectified++
			case k > float64(l.TOut+MaxTail):
				out[o] = math.MaxInt32
			default:
				out[o] = int32(readout + int(k))
			}
		}
		if l.Kind != MaxPool && li != last {
			st.Spikes = int64(len(out))
		}
		e.Times[li] = out
	}
	out := e.Times[last]
	end := n.EndStep()
	first := int32(math.MaxInt32)
	for o, t := range out {
		if t < first {
			first, e.Class = t, o
		}
	}
	if int(first) <= end+MaxTail {
		e.FirstSpike = first
		end = max(end, int(first))
		for _, t := range out[e.Class+1:] {
			e.Tie = e.Tie || t == first
		}
	} else {
		e.Class = -1
		end += MaxTail
	}
	for o, t := range out {
		if int(t) > end {
			out[o] = NoSpike
		} else {
			e.Stats[last].Spikes++
		}
	}
	e.Steps = int32(end + 1)
	return e
}

// quantizedANN runs the graph model layer by layer on integer levels: each
// Conv/Linear/AvgPool output becomes round(TOut·(W·x+b)) (floor in Truncate
// mode), clamped to [0, TOut] (to ≤ TOut in an unrectified output layer);
// MaxPool takes the max. It starts from the input levels of r.Input and
// returns the levels per graph layer name.
func quantizedANN(t *testing.T, m *graph.Model, n *Network, r *SampleResult) map[string][]float64 {
	byName := map[string]*Layer{}
	for _, l := range n.Layers {
		byName[l.Name] = l
	}
	tcur := n.InputT()
	v := make([]float64, len(r.Input))
	for i, s := range r.Input {
		v[i] = float64(tcur - int(s))
	}
	out := map[string][]float64{}
	start := 0
	if n.Layers[0].Analog {
		for start < len(m.Nodes) && m.Nodes[start].Name != n.Layers[0].Name {
			start++
		}
		start++
	}
	quant := func(nl *Layer, u []float64) {
		for i, x := range u {
			if n.Threshold == Truncate {
				x = math.Floor(x)
			} else {
				x = math.Floor(x + 0.5)
			}
			x = math.Min(x, float64(nl.TOut))
			if nl.Rectify {
				x = math.Max(x, 0)
			}
			u[i] = x
		}
		tcur = nl.TOut
	}
	for _, gl := range m.Nodes[start:] {
		nl := byName[gl.Name]
		switch gl.Op {
		case graph.Conv, graph.Linear:
			if nl.T != tcur {
				t.Fatalf("layer %s: T %d, input window %d", gl.Name, nl.T, tcur)
			}
			u := refLinear(gl, v, float64(tcur))
			r := float64(nl.TOut) / float64(nl.T)
			for i := range u {
				u[i] *= r
			}
			quant(nl, u)
			v = u
		case graph.AvgPool, graph.GlobalAvgPool:
			u := refAvgPool(gl, v)
			r := float64(nl.TOut) / float64(nl.T)
			for i := range u {
				u[i] *= r
			}
			quant(nl, u)
			v = u
		case graph.MaxPool:
			v = refMaxPool(gl, v)
		default:
			continue
		}
		out[gl.Name] = slices.Clone(v)
	}
	return out
}

// refLinear computes Σ w·x + b·bscale for a graph Conv or Linear layer.
func refLinear(l *graph.Node, x []float64, bscale float64) []float64 {
	b := func(o int) float64 {
		if l.B == nil {
			return 0
		}
		return float64(l.B[o]) * bscale
	}
	if l.Op == graph.Linear {
		out, in := l.WShape[0], l.WShape[1]
		y := make([]float64, out)
		for o := range y {
			y[o] = b(o)
			for j := 0; j < in; j++ {
				y[o] += float64(l.W[o*in+j]) * x[j]
			}
		}
		return y
	}
	C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
	Co, Ho, Wo := l.OutShape[0], l.OutShape[1], l.OutShape[2]
	cpg, opg := C/l.Group, Co/l.Group
	y := make([]float64, Co*Ho*Wo)
	for co := 0; co < Co; co++ {
		g := co / opg
		for oh := 0; oh < Ho; oh++ {
			for ow := 0; ow < Wo; ow++ {
				s := b(co)
				for ci := 0; ci < cpg; ci++ {
					for kh := 0; kh < l.Kernel[0]; kh++ {
						for kw := 0; kw < l.Kernel[1]; kw++ {
							ih := oh*l.Stride[0] - l.Pad[0] + kh*l.Dilation[0]
							iw := ow*l.Stride[1] - l.Pad[1] + kw*l.Dilation[1]
							if ih >= 0 && iw >= 0 && ih < H && iw < W {
								s += float64(l.W[((co*cpg+ci)*l.Kernel[0]+kh)*l.Kernel[1]+kw]) * x[((g*cpg+ci)*H+ih)*W+iw]
							}
						}
					}
				}
				y[(co*Ho+oh)*Wo+ow] = s
			}
		}
	}
	return y
}

// refAvgPool is PyTorch's avg_pool2d (count_include_pad divisor rule).
func refAvgPool(l *graph.Node, x []float64) []float64 {
	C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
	Ho, Wo := l.OutShape[1], l.OutShape[2]
	k, s, pad, cip := l.Kernel, l.Stride, l.Pad, l.CountIncludePad
	if l.Op == graph.GlobalAvgPool {
		k, s, pad, cip = [2]int{H, W}, [2]int{1, 1}, [4]int{}, true
	}
	y := make([]float64, C*Ho*Wo)
	for c := 0; c < C; c++ {
		for oh := 0; oh < Ho; oh++ {
			for ow := 0; ow < Wo; ow++ {
				hs, ws := oh*s[0]-pad[0], ow*s[1]-pad[1]
				he, we := min(hs+k[0], H+pad[2]), min(ws+k[1], W+pad[3])
				div := (he - hs) * (we - ws)
				sum, cnt := 0.0, 0
				for ih := max(hs, 0); ih < min(he, H); ih++ {
					for iw := max(ws, 0); iw < min(we, W); iw++ {
						sum += x[(c*H+ih)*W+iw]
						cnt++
					}
				}
				if !cip {
					div = cnt
				}
				y[(c*Ho+oh)*Wo+ow] = sum / float64(div)
			}
		}
	}
	return y
}

func refMaxPool(l *graph.Node, x []float64) []float64 {
	C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
	Ho, Wo := l.OutShape[1], l.OutShape[2]
	y := make([]float64, C*Ho*Wo)
	for c := 0; c < C; c++ {
		for oh := 0; oh < Ho; oh++ {
			for ow := 0; ow < Wo; ow++ {
				m := math.Inf(-1)
				for kh := 0; kh < l.Kernel[0]; kh++ {
					for kw := 0; kw < l.Kernel[1]; kw++ {
						ih, iw := oh*l.Stride[0]-l.Pad[0]+kh, ow*l.Stride[1]-l.Pad[1]+kw
						if ih >= 0 && iw >= 0 && ih < H && iw < W {
							m = math.Max(m, x[(c*H+ih)*W+iw])
						}
					}
				}
				y[(c*Ho+oh)*Wo+ow] = m
			}
		}
	}
	return y
}

// decoded returns the level a layer's spikes carry: steps before the end of
// its decoding window (spiking) or of the window it feeds (relay).
func decoded(n *Network, li int, times []int32) []float64 {
	l := n.Layers[li]
	end := n.Tau(li) + l.T + l.TOut
	if l.Kind == MaxPool {
		next := li + 1
		for !n.Layers[next].Spiking() {
			next++
		}
		end = n.Tau(li) + n.Layers[next].T
	}
	v := make([]float64, len(times))
	for i, t := range times {
		v[i] = float64(end - int(t))
		if t == NoSpike {
			v[i] = math.NaN()
		}
	}
	return v
}
