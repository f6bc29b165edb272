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
	src int32   // index of the presynaptic neuron in the previous layer
	w   float32 // weight (unused by relay layers)
}

type oracleLayer struct {
	l        *Layer
	tau      int         // first step of the window (spiking layers)
	in       [][]synapse // incoming synapses of every neuron
	bias     []float32   // bias weight of every neuron
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
	for li, l := range n.Layers {
		ol := &oracleLayer{l: l, tau: n.Tau(li), spikedAt: -1}
		sz := l.Size()
		ol.in = make([][]synapse, sz)
		ol.bias = make([]float32, sz)
		ol.u, ol.i, ol.fired = make([]float32, sz), make([]float32, sz), make([]bool, sz)
		switch l.Kind {
		case Linear:
			in := l.WShape[1]
			for o := 0; o < sz; o++ {
				for j := 0; j < in; j++ {
					ol.in[o] = append(ol.in[o], synapse{int32(j), l.W[o*in+j]})
				}
				ol.bias[o] = l.B[o]
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
									ol.in[n] = append(ol.in[n], synapse{src, wt})
								}
							}
						}
						if l.Kind == Conv {
							ol.bias[n] = l.B[c]
						}
					}
				}
			}
		}
		o.layers = append(o.layers, ol)
	}
	return o, nil
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
	for t := 0; ; t++ {
		// The input neurons fire at their encoded steps.
		prev, prevSpiked := r.Input, false
		for _, s := range r.Input {
			if int(s) == t {
				prevSpiked = true
				break
			}
		}
		for li, ol := range o.layers {
			l := ol.l
			if l.Analog {
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
			if l.Kind == MaxPool {
				// Relay: the first input spike in the window passes at once.
				for n, syns := range ol.in {
					arrived := false
					if prevSpiked {
						for _, s := range syns {
							if int(prev[s.src]) == t {
								st.SynEvents++
								arrived = true
							}
						}
					}
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
					if prevSpiked {
						for _, s := range ol.in[n] {
							if int(prev[s.src]) == t {
								ol.i[n] += s.w
								st.SynEvents++
								got = true
							}
						}
					}
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
			prev, prevSpiked = out, ol.spikedAt == t
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
