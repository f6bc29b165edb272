package snn

import "fmt"

// Oracle is the reference simulator: one global clock, every neuron's state
// (i, u, fired) stepped exactly as SPEC §1–2 describes, each synapse listed
// explicitly. It is written to be obviously correct, not fast; tests hold the
// fast Sim to it. An Oracle is not safe for concurrent use.
type Oracle struct {
	net    *Network
	enc    *encoder
	layers []*oracleLayer
	end    int // EndStep
}

type synapse struct {
	src int32   // index of the presynaptic neuron in the source layer
	w   float32 // weight (unused by relay layers)
}

// oracleGroup is one input group: its source and delay, and the synapses
// of every neuron from it.
type oracleGroup struct {
	from  int // source layer, −1 for the input (and for an analog layer's outputs)
	delay int
	in    [][]synapse
}

type oracleLayer struct {
	l        *Layer
	tau      int // first step of the window (spiking layers)
	groups   []oracleGroup
	bias     []float32 // bias weight of every neuron
	u, i     []float32
	fired    []bool
	spikedAt int // last step at which some neuron of this layer fired
}

// NewOracle validates n and builds the reference simulator for it.
func NewOracle(n *Network) (*Oracle, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	o := &Oracle{net: n, enc: newEncoder(n), end: n.EndStep()}
	taus := n.Taus()
	for li, l := range n.Layers {
		ol := &oracleLayer{l: l, tau: taus[li], spikedAt: -1}
		sz := l.Size()
		ol.bias = make([]float32, sz)
		ol.u, ol.i, ol.fired = make([]float32, sz), make([]float32, sz), make([]bool, sz)
		if !l.Analog {
			for _, g := range n.groups(li) {
				from := g.From
				if from >= 0 && n.Layers[from].Analog {
					from = -1 // the analog layer's outputs are the input spikes
				}
				ol.groups = append(ol.groups, oracleGroup{from: from, delay: g.Delay, in: synapses(g.layer(l.OutShape))})
			}
			if l.Kind == Conv || l.Kind == Linear || l.Kind == Sum {
				per := sz / len(l.B)
				for k := range ol.bias {
					ol.bias[k] = l.B[k/per]
				}
			}
		}
		o.layers = append(o.layers, ol)
	}
	return o, nil
}

// synapses lists the synapses into every neuron of a layer (or group as a
// layer) l of kind Linear, Conv, AvgPool, MaxPool or Identity.
func synapses(l *Layer) [][]synapse {
	sz := l.Size()
	in := make([][]synapse, sz)
	switch l.Kind {
	case Identity:
		per := sz / l.InShape[0]
		for o := range in {
			in[o] = []synapse{{int32(o), l.W[o/per]}}
		}
	case Linear:
		nin := l.WShape[1]
		for o := 0; o < sz; o++ {
			for j := 0; j < nin; j++ {
				in[o] = append(in[o], synapse{int32(j), l.W[o*nin+j]})
			}
		}
	case Conv, AvgPool, MaxPool:
		cin, h, w := l.InShape[0], l.InShape[1], l.InShape[2]
		cout, ho, wo := l.OutShape[0], l.OutShape[1], l.OutShape[2]
		dil, groups := [2]int{1, 1}, cin
		if l.Kind == Conv {
			dil, groups = l.Dilation, l.Group
		}
		cinG, coutG := cin/groups, cout/groups
		for c := 0; c < cout; c++ {
			g := c / coutG
			for oh := 0; oh < ho; oh++ {
				for ow := 0; ow < wo; ow++ {
					n := (c*ho+oh)*wo + ow
					for ci := 0; ci < cinG; ci++ {
						for kh := 0; kh < l.Kernel[0]; kh++ {
							for kw := 0; kw < l.Kernel[1]; kw++ {
								ih := oh*l.Stride[0] - l.Pad[0] + kh*dil[0]
								iw := ow*l.Stride[1] - l.Pad[1] + kw*dil[1]
								if ih < 0 || ih >= h || iw < 0 || iw >= w {
									continue
								}
								src := int32(((g*cinG+ci)*h+ih)*w + iw)
								var wt float32
								switch l.Kind {
								case Conv:
									wt = l.W[((c*cinG+ci)*l.Kernel[0]+kh)*l.Kernel[1]+kw]
								case AvgPool:
									wt = l.PoolW[oh*wo+ow]
								}
								in[n] = append(in[n], synapse{src, wt})
							}
						}
					}
				}
			}
		}
	}
	return in
}

// Simulate runs one sample x (C·H·W values, pixels in [0,1]) and fills r.
func (o *Oracle) Simulate(x []float32, r *SampleResult) error {
	if len(x) != size(o.net.InShape) {
		return fmt.Errorf("snn: sample has %d values, the network wants %v = %d", len(x), o.net.InShape, size(o.net.InShape))
	}
	r.reset(o.net)
	o.enc.encode(x, r)
	for li, ol := range o.layers {
		clear(ol.u)
		clear(ol.i)
		clear(ol.fired)
		ol.spikedAt = -1
		for n := range r.Times[li] {
			r.Times[li][n] = NoSpike
		}
	}
	last := len(o.layers) - 1
	// hist[k][t]: source k (0 the input, li+1 layer li) fired at step t.
	hist := make([][]bool, len(o.layers)+1)
	for _, s := range r.Input {
		for int(s) >= len(hist[0]) {
			hist[0] = append(hist[0], false)
		}
		hist[0][s] = true
	}
	spiked := func(from, t int) bool {
		h := hist[from+1]
		return t >= 0 && t < len(h) && h[t]
	}
	for t := 0; ; t++ {
		for li, ol := range o.layers {
			l := ol.l
			if l.Analog {
				hist[li+1] = append(hist[li+1], false)
				continue // its outputs are r.Input
			}
			out, st := r.Times[li], &r.Stats[li]
			fire := func(n int) {
				out[n] = int32(t)
				ol.fired[n] = true
				ol.u[n] = 0
				ol.spikedAt = t
				st.Spikes++
				if l.Kind != MaxPool && t < ol.tau+l.T {
					st.Early++
				}
			}
			// arrive delivers the input spikes arriving at t into neuron n
			// and calls add with each weight.
			arrive := func(n int, add func(w float32)) {
				for _, g := range ol.groups {
					ts := t - g.delay
					if !spiked(g.from, ts) {
						continue
					}
					prev := r.Input
					if g.from >= 0 {
						prev = r.Times[g.from]
					}
					for _, s := range g.in[n] {
						if int(prev[s.src]) == ts {
							add(s.w)
							st.SynEvents++
							if g.delay > 0 {
								st.DelayedSynapses++
								st.DelaySteps += int64(g.delay)
							}
						}
					}
				}
			}
			if l.Kind == MaxPool {
				// Relay: the first input spike in the window passes at once.
				for n := range ol.u {
					arrived := false
					arrive(n, func(float32) { arrived = true })
					if arrived && !ol.fired[n] {
						fire(n)
					}
				}
			} else {
				readout, rectify := ol.tau+l.T, ol.tau+l.T+l.TOut
				for n := range ol.u {
					// 1. integrate the previous step's current.
					ol.u[n] += ol.i[n]
					// 2. add the synaptic events arriving now.
					got := false
					arrive(n, func(w float32) {
						ol.i[n] += w
						got = true
					})
					if t == ol.tau && ol.bias[n] != 0 {
						ol.i[n] += ol.bias[n]
						st.BiasEvents++
						got = true
					}
					if t == readout {
						ol.i[n] += l.Counter[n]
						st.ReadoutEvents++
						got = true
					}
					if l.Rectify && t == rectify {
						st.RectifierEvents++
						got = true
					}
					if got {
						st.CurrentUpdates++
					}
					// 3. fire once, at threshold or when the rectifier forces it.
					if !ol.fired[n] {
						if ol.u[n] >= l.Theta {
							fire(n)
						} else if l.Rectify && t == rectify {
							st.Rectified++
							fire(n)
						}
					}
				}
			}
			hist[li+1] = append(hist[li+1], ol.spikedAt == t)
		}
		if r.Class < 0 && o.layers[last].spikedAt == t {
			for n, s := range r.Times[last] {
				if int(s) == t {
					if r.Class < 0 {
						r.Class, r.FirstSpike = n, int32(t)
					} else {
						r.Tie = true
					}
				}
			}
		}
		if (t >= o.end && r.Class >= 0) || t >= o.end+MaxTail {
			r.Steps = int32(t + 1)
			return nil
		}
	}
}
