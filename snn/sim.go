package snn

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/quartz-snn/quartz/internal/vec"
)

// Sim is the fast exact simulator. For each spiking layer and output
// position it sums, per channel, the weights arriving at each step, and
// integrates the channels from one occupied step to the next (see spiking).
// Its cost is about one ANN forward pass (one addition per synapse whose
// input arrives before the readout) plus, per neuron, the number of distinct
// arrival steps in its receptive field, which is at most min(fan-in, T+1);
// it does not grow with T × MACs. A Sim is safe for concurrent use; each
// goroutine needs its own Worker.
type Sim struct {
	net     *Network
	workers int
	plans   []*plan
	end     int32 // EndStep
	inSize  int
	// scratch sizes
	maxSpan, maxCg, maxWords, maxCout int
}

// plan is one layer prepared for the fast simulator.
type plan struct {
	l           *Layer
	g           geom
	tau, t, out int32 // window start, T, TOut
	theta       float32
	idx         []int32 // im2col table of group 0 (nil for Linear)
	// The receptive field of output position pos in group 0: where the
	// kernel lies wholly inside the input (no padding), rfBase[pos] ≥ 0 and
	// the entries are k = 0..K−1, input rfBase[pos] + kJ[k], weight row at
	// kW[k] = k·C in wt (C channels per group). At the edges rfBase[pos] = −1
	// and the entries are rfStart[pos]..rfStart[pos+1]−1 of rfJ (input) and
	// rfW (weight row), the synapses the position really has.
	kJ, kW            []int32
	rfBase            []int32
	rfStart, rfW, rfJ []int32
	wt                []float32 // weights per group as [k][channel in group]
	bias              []float32 // per output channel (zeros for AvgPool)
	nBias             []int32   // per group: channels with b ≠ 0
	conn              int64     // synapses into the layer
	// A layer with explicit Groups: explicit is set; a relay reads layer
	// from (−1: the input); a Sum layer has one plan per group in multi
	// (each with its from and delay) and nBiasAll channels with b ≠ 0.
	explicit bool
	from     int
	delay    int32
	multi    []*plan
	nBiasAll int64
}

// NewSim validates n and prepares the fast simulator for it. workers ≤ 0
// means runtime.GOMAXPROCS(0); it is the number of goroutines Run uses.
func NewSim(n *Network, workers int) (*Sim, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s := &Sim{net: n, workers: workers, end: int32(n.EndStep()), inSize: size(n.InShape)}
	taus := n.Taus()
	for li, l := range n.Layers {
		p := &plan{l: l, tau: int32(taus[li]), t: int32(l.T), out: int32(l.TOut), theta: l.Theta}
		s.plans = append(s.plans, p)
		if l.Analog {
			continue
		}
		switch {
		case len(l.Groups) == 0:
			p.build(l, true)
		case l.Kind == MaxPool:
			p.build(l.Groups[0].layer(l.OutShape), false)
			p.from, p.explicit = l.Groups[0].From, true
		default: // Sum
			p.explicit = true
			for _, g := range l.Groups {
				gp := &plan{l: g.layer(l.OutShape), from: g.From, delay: int32(g.Delay)}
				gp.build(gp.l, false)
				p.multi = append(p.multi, gp)
				p.conn += gp.conn
			}
			p.bias = l.B
			for _, b := range l.B {
				if b != 0 {
					p.nBiasAll++
				}
			}
		}
		if !l.Spiking() {
			continue
		}
		cg := p.g.coutg
		if p.multi != nil {
			cg = l.OutShape[0]
			s.maxCout = max(s.maxCout, cg)
		}
		span := int(p.tau) + l.T // input steps before the readout lie in [−τ, T)
		s.maxSpan = max(s.maxSpan, span)
		s.maxCg = max(s.maxCg, cg)
		s.maxWords = max(s.maxWords, (span+63)/64)
	}
	return s, nil
}

// build prepares the plan's geometry, receptive fields and weight table for
// layer (or group as a layer) l; withBias: l is a spiking layer of a chain
// whose bias the plan holds.
func (p *plan) build(l *Layer, withBias bool) {
	p.g = newGeom(l)
	g := &p.g
	if l.Kind != Linear {
		p.idx = im2colIndex(g)
		nz := 0
		for _, j := range p.idx {
			if j >= 0 {
				nz++
			}
		}
		p.conn = int64(g.cout) * int64(nz)
		p.receptiveFields()
	} else {
		p.conn = int64(g.cout) * int64(g.k)
		p.kJ, p.kW = make([]int32, g.k), make([]int32, g.k)
		for k := range p.kJ {
			p.kJ[k], p.kW[k] = int32(k), int32(k*g.coutg)
		}
		p.rfBase, p.rfStart = []int32{0}, []int32{0, 0}
	}
	if l.Kind != Conv && l.Kind != Linear && l.Kind != Identity && !(withBias && l.Kind == AvgPool) {
		return
	}
	if withBias {
		p.bias = make([]float32, g.cout)
		p.nBias = make([]int32, g.groups)
	}
	if l.Kind == AvgPool {
		return
	}
	if withBias {
		copy(p.bias, l.B)
	}
	p.wt = make([]float32, len(l.W))
	for c := 0; c < g.cout; c++ {
		gr, cl := c/g.coutg, c%g.coutg
		for k := 0; k < g.k; k++ {
			p.wt[(gr*g.k+k)*g.coutg+cl] = l.W[c*g.k+k]
		}
		if withBias && l.B[c] != 0 {
			p.nBias[gr]++
		}
	}
}

// receptiveFields fills kJ, kW, rfBase and the edge table from idx.
func (p *plan) receptiveFields() {
	g := &p.g
	at := func(k, pos int) int32 { return p.idx[k*g.npos+pos] }
	p.kW = make([]int32, g.k)
	for k := range p.kW {
		p.kW[k] = int32(k * g.coutg)
	}
	p.rfBase, p.rfStart = make([]int32, g.npos), make([]int32, g.npos+1)
	for pos := 0; pos < g.npos; pos++ {
		p.rfBase[pos] = -1
		inside := true
		for k := 0; k < g.k; k++ {
			inside = inside && at(k, pos) >= 0
		}
		if inside && p.kJ == nil {
			p.kJ = make([]int32, g.k)
			for k := range p.kJ {
				p.kJ[k] = at(k, pos) - at(0, pos)
			}
		}
		for k := 0; inside && k < g.k; k++ {
			inside = at(k, pos)-at(0, pos) == p.kJ[k]
		}
		if inside {
			p.rfBase[pos] = at(0, pos)
		} else {
			for k := 0; k < g.k; k++ {
				if j := at(k, pos); j >= 0 {
					p.rfW = append(p.rfW, int32(k*g.coutg))
					p.rfJ = append(p.rfJ, j)
				}
			}
		}
		p.rfStart[pos+1] = int32(len(p.rfJ))
	}
}

// Network returns the simulated network.
func (s *Sim) Network() *Network { return s.net }

// Worker holds one goroutine's scratch memory for Sim: per-step weight rows
// (4·span·C bytes, span = τ+T of the layer and C its channels per group,
// all zero between positions), the state of one position's channels, and
// the analog layer's buffers.
type Worker struct {
	s    *Sim
	enc  *encoder
	d    []float32 // weight sums per occupied step: [step][channel]
	occ  []uint64  // occupied steps
	u, i []float32 // potential and current per channel
	e    []int32   // early spike step per channel, −1 if none
	bare []int32   // spike steps of a position without input, per channel
	// Sum layers: occupied steps per channel, and of one group's channels.
	occC, occT, occA []uint64
}

// NewWorker returns a Worker with its scratch memory allocated.
func (s *Sim) NewWorker() *Worker {
	return &Worker{s: s, enc: newEncoder(s.net),
		d: make([]float32, s.maxSpan*s.maxCg), occ: make([]uint64, s.maxWords),
		u: make([]float32, s.maxCg), i: make([]float32, s.maxCg), e: make([]int32, s.maxCg),
		bare: make([]int32, s.maxCg), occC: make([]uint64, s.maxWords*s.maxCout), occT: make([]uint64, s.maxWords),
		occA: make([]uint64, s.maxWords)}
}

// Simulate runs one sample x (C·H·W values, pixels in [0,1]) and fills r.
// Once r has been used for this network, Simulate does not allocate.
func (w *Worker) Simulate(x []float32, r *SampleResult) error {
	s := w.s
	if len(x) != s.inSize {
		return fmt.Errorf("snn: sample has %d values, the network wants %v = %d", len(x), s.net.InShape, s.inSize)
	}
	r.reset(s.net)
	w.enc.encode(x, r)
	prev := r.Input
	for li, p := range s.plans {
		if p.l.Analog {
			continue
		}
		out, st := r.Times[li], &r.Stats[li]
		switch {
		case p.multi != nil:
			w.spikingSum(p, r, out, st)
		case p.l.Kind == MaxPool && p.explicit:
			w.relay(p, source(r, p.from), out, st)
		case p.l.Kind == MaxPool:
			w.relay(p, prev, out, st)
		default:
			w.spiking(p, prev, out, st)
		}
		prev = out
	}
	w.finish(r)
	return nil
}

// relay: every relay neuron fires at the earliest spike of its window.
func (w *Worker) relay(p *plan, in, out []int32, st *LayerStats) {
	g := &p.g
	kk := g.kh * g.kw
	for c := 0; c < g.cout; c++ {
		plane := in[c*g.inPlane : (c+1)*g.inPlane]
		o := out[c*g.npos : (c+1)*g.npos]
		for pos := range o {
			m := int32(math.MaxInt32)
			for k := 0; k < kk; k++ {
				if j := p.idx[k*g.npos+pos]; j >= 0 && plane[j] < m {
					m = plane[j]
				}
			}
			o[pos] = m
		}
	}
	st.Spikes = int64(len(out))
	st.SynEvents = p.conn
}

// spiking simulates one spiking layer given its inputs' spike steps. It
// works position by position: the channels of a group at one output position
// share their inputs, so the weights arriving at each step are summed per
// channel into one row per occupied step (a bit set marks the occupied
// steps), and then all channels are integrated together from one occupied
// step to the next, u ← u + Δ·i, exactly as the oracle's step-by-step sums
// on the dyadic grid. A crossing of θ between two occupied steps is an early
// spike, located exactly; otherwise the potential at the readout, U, gives
// the spike k = ⌈θ − U⌉ steps after it. Inputs that arrive at the readout
// (value 0) change neither U nor the early check and are skipped. The three
// steps are sumSteps, integrate and readout; a position whose inputs all
// arrive at or after the readout gets the result of the group's first such
// position (bias only, the same arithmetic).
func (w *Worker) spiking(p *plan, in, out []int32, st *LayerStats) {
	l, g := p.l, &p.g
	T, tau := p.t, p.tau
	base := tau + T // readout step
	sLo := int32(0)
	for _, t := range in {
		sLo = min(sLo, t-tau)
	}
	span := int(T - sLo)
	words := (span + 63) >> 6
	cg := g.coutg
	occ := w.occ[:words]
	d := w.d[:span*cg]
	u, cur, e := w.u[:cg], w.i[:cg], w.e[:cg]
	theta := p.theta
	avg := l.Kind == AvgPool
	readoutRect := int64(1)
	if l.Rectify {
		readoutRect = 2
	}
	var early, rectified, cu int64
	for gr := 0; gr < g.groups; gr++ {
		bare := bareResult{t: w.bare[:cg]}
		plane := in[gr*g.cing*g.inPlane:]
		var wt []float32
		if !avg {
			wt = p.wt[gr*g.k*cg : (gr+1)*g.k*cg]
		}
		brow := p.bias[gr*cg : (gr+1)*cg]
		for pos := 0; pos < g.npos; pos++ {
			// 1. Sum the weights arriving at each step before the readout.
			// The rows of d are all zero here (step 2 zeroes those it reads),
			// and 0 + w = w, so every arrival is one addition.
			clear(occ)
			rfW, rfJ, pl := p.kW, p.kJ, plane
			if base := p.rfBase[pos]; base >= 0 {
				pl = plane[base:]
			} else {
				lo, hi := p.rfStart[pos], p.rfStart[pos+1]
				rfW, rfJ = p.rfW[lo:hi], p.rfJ[lo:hi]
			}
			if avg {
				sumPool(d, occ, pl, rfJ, l.PoolW[pos], tau+sLo, base)
			} else {
				sumSteps(d, occ, pl, rfJ, rfW, wt, cg, tau+sLo, base)
			}
			// Current updates: the distinct input steps, the readout, the
			// rectifier, and the bias step where no input arrives then.
			nIn := 0
			for _, x := range occ {
				nIn += bits.OnesCount64(x)
			}
			cu += int64(cg) * (int64(nIn) + readoutRect)
			nb := p.nBias[gr]
			b0 := int(-sLo) // the bias spike arrives at local step 0
			if nb > 0 && occ[b0>>6]>>(b0&63)&1 == 0 {
				cu += int64(nb)
			}
			res := e
			if nIn == 0 && bare.ok {
				// No input before the readout: the same result as the
				// group's first such position.
				res = bare.t
				early += bare.early
				rectified += bare.rectified
			} else {
				if nb > 0 {
					occ[b0>>6] |= 1 << (b0 & 63)
					vec.Add(d[b0*cg:], brow)
				}
				// 2. Integrate from one occupied step to the next.
				now := integrate(d, occ, u, cur, e, sLo, tau, theta)
				// 3. Last stretch to the readout; then spike times.
				ne, nr := readout(p, now, u, cur, e)
				early += ne
				rectified += nr
				if nIn == 0 {
					copy(bare.t, e)
					bare.early, bare.rectified, bare.ok = ne, nr, true
				}
			}
			for c, t := range res {
				out[(gr*cg+c)*g.npos+pos] = t
			}
		}
	}
	n := int64(l.Size())
	st.Early, st.Rectified, st.CurrentUpdates = early, rectified, cu
	st.Spikes = n
	st.SynEvents = p.conn
	st.ReadoutEvents = n
	if l.Rectify {
		st.RectifierEvents = n
	}
	for _, nb := range p.nBias {
		st.BiasEvents += int64(nb) * int64(g.npos)
	}
}

// source returns the spike steps of layer from, the input's for from < 0.
func source(r *SampleResult, from int) []int32 {
	if from < 0 {
		return r.Input
	}
	return r.Times[from]
}

// spikingSum simulates a Sum layer (explicit input groups, SPEC §7) as
// spiking does a chain layer, on all its channels at once: per output
// position, every group's arrivals (its spike steps plus its delay) are
// summed per channel into the rows of d, and the channels are integrated
// together over the union of the occupied steps (a channel with no event
// at a step adds 0 to its current, which is exact). Current updates count,
// per channel, the distinct steps of its own inputs: a group that feeds
// every channel (a convolution's weights) marks occA, shared by all; one
// that feeds some (an identity, a depthwise or grouped part) marks the
// bitmaps of its channels in occC.
func (w *Worker) spikingSum(p *plan, r *SampleResult, out []int32, st *LayerStats) {
	l := p.l
	T, tau := p.t, p.tau
	base := tau + T // readout step
	cout := l.OutShape[0]
	npos := len(out) / cout
	sLo := int32(0)
	partial := false
	for _, gp := range p.multi {
		for _, t := range source(r, gp.from) {
			sLo = min(sLo, t+gp.delay-tau)
		}
		if gp.g.coutg != cout || gp.l.Kind == AvgPool {
			partial = true
		}
	}
	span := int(T - sLo)
	words := (span + 63) >> 6
	occ, tmp, occA := w.occ[:words], w.occT[:words], w.occA[:words]
	occC := w.occC[:words*cout]
	d := w.d[:span*cout]
	u, cur, e := w.u[:cout], w.i[:cout], w.e[:cout]
	readoutRect := int64(1)
	if l.Rectify {
		readoutRect = 2
	}
	b0 := int(-sLo) // the bias spike arrives at local step 0
	var early, rectified, cu int64
	for pos := 0; pos < npos; pos++ {
		clear(occ)
		clear(occA)
		if partial {
			clear(occC)
		}
		for _, gp := range p.multi {
			g := &gp.g
			in := source(r, gp.from)
			lo, end := tau+sLo-gp.delay, base-gp.delay
			for gr := 0; gr < g.groups; gr++ {
				plane := in[gr*g.cing*g.inPlane:]
				rfW, rfJ, pl := gp.kW, gp.kJ, plane
				if b := gp.rfBase[pos]; b >= 0 {
					pl = plane[b:]
				} else {
					a, z := gp.rfStart[pos], gp.rfStart[pos+1]
					rfW, rfJ = gp.rfW[a:z], gp.rfJ[a:z]
				}
				c0 := gr * g.coutg
				if g.coutg == cout && gp.l.Kind != AvgPool {
					// Every channel: the chain's kernel, in the same
					// order (receptive field), into the shared bitmap.
					sumSteps(d, occA, pl, rfJ, rfW, gp.wt[gr*g.k*g.coutg:(gr+1)*g.k*g.coutg], cout, lo, end)
					continue
				}
				clear(tmp)
				switch gp.l.Kind {
				case AvgPool:
					pw := gp.l.PoolW[pos]
					for _, j := range rfJ {
						if t := pl[j]; t < end {
							b := int(t - lo)
							tmp[b>>6] |= 1 << (b & 63)
							d[b*cout+c0] += pw
						}
					}
				default:
					wt := gp.wt[gr*g.k*g.coutg : (gr+1)*g.k*g.coutg]
					rfW = rfW[:len(rfJ)]
					for k, j := range rfJ {
						t := pl[j]
						if t >= end {
							continue
						}
						b := int(t - lo)
						tmp[b>>6] |= 1 << (b & 63)
						o := int(rfW[k])
						if g.coutg == 1 {
							d[b*cout+c0] += wt[o]
						} else {
							vec.Add(d[b*cout+c0:], wt[o:o+g.coutg])
						}
					}
				}
				for i, x := range tmp {
					occ[i] |= x
				}
				for c := c0; c < c0+g.coutg; c++ {
					oc := occC[c*words : (c+1)*words]
					for i, x := range tmp {
						oc[i] |= x
					}
				}
			}
		}
		// Current updates: the distinct steps of each channel's inputs,
		// the bias step if it is not one of them, and the readout (and
		// rectifier) event.
		shared := int64(0)
		for _, x := range occA {
			shared += int64(bits.OnesCount64(x))
		}
		biasBit := occA[b0>>6] >> (b0 & 63) & 1
		for c := 0; c < cout; c++ {
			n, bit := shared, biasBit
			if partial {
				oc := occC[c*words : (c+1)*words]
				n = 0
				for i, x := range oc {
					n += int64(bits.OnesCount64(x | occA[i]))
				}
				bit |= oc[b0>>6] >> (b0 & 63) & 1
			}
			if p.bias[c] != 0 && bit == 0 {
				n++
			}
			cu += n + readoutRect
		}
		for i, x := range occA {
			occ[i] |= x
		}
		if p.nBiasAll > 0 {
			occ[b0>>6] |= 1 << (b0 & 63)
			vec.Add(d[b0*cout:], p.bias)
		}
		now := integrate(d, occ, u, cur, e, sLo, tau, p.theta)
		ne, nr := readout(p, now, u, cur, e)
		early += ne
		rectified += nr
		for c, t := range e {
			out[c*npos+pos] = t
		}
	}
	n := int64(len(out))
	st.Early, st.Rectified, st.CurrentUpdates = early, rectified, cu
	st.Spikes = n
	st.SynEvents = p.conn
	st.ReadoutEvents = n
	if l.Rectify {
		st.RectifierEvents = n
	}
	st.BiasEvents = p.nBiasAll * int64(npos)
	for _, gp := range p.multi {
		if gp.delay > 0 {
			st.DelayedSynapses += gp.conn
			st.DelaySteps += gp.conn * int64(gp.delay)
		}
	}
}

// bareResult is the spike steps of a position with no input before the
// readout (bias only), which are the same for every such position of a group.
type bareResult struct {
	t                []int32
	early, rectified int64
	ok               bool
}

// readout is step 3 of spiking for one position: from the state at the
// last occupied step now (local), it finds the late early spikes and the
// spike steps k = ⌈θ − U⌉ after the readout, and writes each channel's
// spike step (global) into e. It returns the numbers of early and
// rectified spikes.
func readout(p *plan, now int32, u, cur []float32, e []int32) (early, rectified int64) {
	T, tau, theta := p.t, p.tau, p.theta
	base := tau + T // readout step
	dT := T - now
	u, e = u[:len(cur)], e[:len(cur)]
	for c, ic := range cur {
		uo := u[c]
		if e[c] < 0 && dT > 1 && uo+float32(float32(dT-1)*ic) >= theta {
			e[c] = tau + now + firstStep(uo, ic, theta, dT-1)
		}
		if e[c] >= 0 {
			early++
			continue
		}
		U := uo + float32(float32(dT)*ic)
		k := int32(0)
		if dd := theta - U; dd > 0 {
			switch {
			case p.l.Rectify && dd > float32(p.out):
				k = p.out // ⌈θ−U⌉ > TOut: the rectifier fires it
				rectified++
			case dd > float32(p.out+MaxTail):
				e[c] = math.MaxInt32 // beyond the tail: never
				continue
			default:
				k = int32(math.Ceil(float64(dd)))
			}
		}
		e[c] = base + k
	}
	return early, rectified
}

// sumSteps is step 1 of spiking for one position: for each input j of its
// receptive field (in[rfJ[e]]) that arrives before the readout step end, it
// adds the weight row at wt[rfW[e]:] (C values) into row b = t − lo of d
// and marks b in occ. The rows of d are all zero beforehand (integrate
// zeroes those it reads) and 0 + w = w, so every arrival is one addition,
// made in receptive-field order as the oracle sums. (vec.Add's SIMD rows
// are exact: one float32 addition per channel, as the scalar loop.)
func sumSteps(d []float32, occ []uint64, in, rfJ, rfW []int32, wt []float32, cg int, lo, end int32) {
	rfW = rfW[:len(rfJ)]
	var occ0 uint64 // occ[0], kept in a register
	for e, j := range rfJ {
		t := in[j]
		if t >= end {
			continue
		}
		b := int(t - lo)
		if b < 64 {
			occ0 |= 1 << b
		} else {
			occ[b>>6] |= 1 << (b & 63)
		}
		o := int(rfW[e])
		vec.Add(d[b*cg:], wt[o:o+cg])
	}
	occ[0] |= occ0
}

// sumPool is sumSteps for AvgPool: one channel, every weight pw.
func sumPool(d []float32, occ []uint64, in, rfJ []int32, pw float32, lo, end int32) {
	for _, j := range rfJ {
		if t := in[j]; t < end {
			b := int(t - lo)
			occ[b>>6] |= 1 << (b & 63)
			d[b] += pw
		}
	}
}

// minVecIntegrate is the fewest channels integrate hands to vec.Integrate;
// on fewer the call costs more than the scalar loop saves (LeNet's 6 and
// 12 channels per group run slower through it).
const minVecIntegrate = 16

// integrate is step 2 of spiking for one position: it integrates the
// channels u ← u + Δ·i from one occupied row b of d (step b + sLo) to the
// next, adding each row to i and zeroing it, and records in e the step of
// any early crossing of θ (−1 if none). It returns the last occupied step
// (sLo if none). Before the first occupied step u = i = 0 < θ.
func integrate(d []float32, occ []uint64, u, cur []float32, e []int32, sLo, tau int32, theta float32) int32 {
	cg := len(cur)
	u, e = u[:cg], e[:cg]
	now, started := sLo, false
	for wi, x := range occ {
		for x != 0 {
			b := wi<<6 + bits.TrailingZeros64(x)
			x &= x - 1
			s := int32(b) + sLo
			row := d[b*cg : (b+1)*cg]
			if !started {
				for c, v := range row {
					u[c], cur[c], e[c] = 0, v, -1
					row[c] = 0
				}
				now, started = s, true
				continue
			}
			// Per channel: u ← u + dt·i, i ← i + row, row ← 0, and the
			// step of a new crossing of θ. The product is rounded to
			// float32 before the sum (float32(), so that no build fuses it
			// into an FMA), as vec.Integrate does, bit for bit, on many
			// channels up to the next new crossing, which is handled here.
			dt := float32(s - now)
			if cg < minVecIntegrate {
				for c, ic := range cur {
					uo := u[c]
					un := uo + float32(dt*ic)
					u[c] = un
					cur[c] = ic + row[c]
					row[c] = 0
					if un >= theta && e[c] < 0 {
						e[c] = tau + now + firstStep(uo, ic, theta, s-now)
					}
				}
			} else {
				for c := 0; c < cg; c++ {
					if c += vec.Integrate(u[c:], cur[c:], row[c:], e[c:], dt, theta); c == cg {
						break
					}
					uo, ic := u[c], cur[c] // crosses θ
					u[c] = uo + float32(dt*ic)
					cur[c] = ic + row[c]
					row[c] = 0
					e[c] = tau + now + firstStep(uo, ic, theta, s-now)
				}
			}
			now = s
		}
	}
	if !started {
		clear(u)
		clear(cur)
		for c := range e {
			e[c] = -1
		}
	}
	return now
}

// firstStep returns the least m in 1..maxM with u + m·i ≥ θ, given that
// u + maxM·i ≥ θ > u and i > 0, evaluated as the integration loop does.
// (Here and in readout and integrate, float32(…) rounds each product before
// the sum, so that no build fuses it into an FMA: GOAMD64=v3 gives the same
// spike times as v1.)
func firstStep(u, i, theta float32, maxM int32) int32 {
	m := int32(math.Ceil(float64(theta-u) / float64(i)))
	m = max(1, min(m, maxM))
	for m > 1 && u+float32(float32(m-1)*i) >= theta {
		m--
	}
	for m < maxM && u+float32(float32(m)*i) < theta {
		m++
	}
	return m
}

// finish decides the class and the end of the sample from the output
// layer's spike steps, and erases the spikes after the end.
func (w *Worker) finish(r *SampleResult) {
	s := w.s
	last := len(s.plans) - 1
	out := r.Times[last]
	first := int32(math.MaxInt32)
	for n, t := range out {
		if t < first {
			first, r.Class = t, n
		}
	}
	end := s.end + MaxTail
	if first <= end {
		r.FirstSpike = first
		end = max(s.end, first)
		for _, t := range out[r.Class+1:] {
			if t == first {
				r.Tie = true
				break
			}
		}
	} else {
		r.Class = -1
	}
	var spikes int64
	for n, t := range out {
		if t > end {
			out[n] = NoSpike
		} else {
			spikes++
		}
	}
	r.Stats[last].Spikes = spikes
	r.Steps = end + 1
}

// Run simulates samples 0..nSamples−1 of x (each C·H·W values, one after
// the other) on the Sim's workers. onSample, if not nil, is called once per
// sample, concurrently from up to workers goroutines, in no fixed order; r is
// valid only during the call. Each sample's result does not depend on the
// number of workers.
func (s *Sim) Run(x []float32, nSamples int, onSample func(i int, r *SampleResult)) error {
	return s.RunContext(context.Background(), x, nSamples, onSample)
}

// RunContext is Run that stops when ctx is done: every worker checks ctx
// before each sample, so a cancellation takes effect within one sample's
// time; it then returns ctx's error, and the samples not simulated are not
// reported.
func (s *Sim) RunContext(ctx context.Context, x []float32, nSamples int, onSample func(i int, r *SampleResult)) error {
	return s.runCtx(ctx, x, nSamples, func(_, i int, r *SampleResult) {
		if onSample != nil {
			onSample(i, r)
		}
	})
}

func (s *Sim) run(x []float32, nSamples int, f func(worker, i int, r *SampleResult)) error {
	return s.runCtx(context.Background(), x, nSamples, f)
}

func (s *Sim) runCtx(ctx context.Context, x []float32, nSamples int, f func(worker, i int, r *SampleResult)) error {
	if nSamples < 0 || len(x) < nSamples*s.inSize {
		return fmt.Errorf("snn: %d values hold fewer than %d samples of %d", len(x), nSamples, s.inSize)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for wk := 0; wk < min(s.workers, max(nSamples, 1)); wk++ {
		wg.Go(func() {
			worker := s.NewWorker()
			var r SampleResult
			for {
				i := int(next.Add(1) - 1)
				if i >= nSamples {
					return
				}
				if err := ctx.Err(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if err := worker.Simulate(x[i*s.inSize:(i+1)*s.inSize], &r); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				f(wk, i, &r)
			}
		})
	}
	wg.Wait()
	return firstErr
}

// Summary holds counters summed over samples; divide by Samples for means.
type Summary struct {
	Samples int64
	// Correct counts samples whose class equals the label (0 without labels).
	Correct int64
	Ties    int64
	NoClass int64
	Clamped int64
	// FirstSpike sums the first-output-spike step over samples with a class.
	FirstSpike int64
	// Steps sums the steps per sample.
	Steps  int64
	Layers []LayerStats
}

// Total returns the sum of the per-layer counters.
func (s *Summary) Total() LayerStats {
	var t LayerStats
	for i := range s.Layers {
		t.Add(&s.Layers[i])
	}
	return t
}

// Add counts one sample's result; label is used when hasLabel is set.
// Counters are integer sums, so the order of Adds does not matter.
func (s *Summary) Add(r *SampleResult, label int32, hasLabel bool) {
	s.Samples++
	if hasLabel && r.Class >= 0 && int32(r.Class) == label {
		s.Correct++
	}
	if r.Tie {
		s.Ties++
	}
	if r.Class < 0 {
		s.NoClass++
	} else {
		s.FirstSpike += int64(r.FirstSpike)
	}
	s.Clamped += int64(r.Clamped)
	s.Steps += int64(r.Steps)
	if s.Layers == nil {
		s.Layers = make([]LayerStats, len(r.Stats))
	}
	for i := range r.Stats {
		s.Layers[i].Add(&r.Stats[i])
	}
}

// Merge adds the counters of o to s.
func (s *Summary) Merge(o *Summary) {
	s.Samples += o.Samples
	s.Correct += o.Correct
	s.Ties += o.Ties
	s.NoClass += o.NoClass
	s.Clamped += o.Clamped
	s.FirstSpike += o.FirstSpike
	s.Steps += o.Steps
	if s.Layers == nil {
		s.Layers = make([]LayerStats, len(o.Layers))
	}
	for i := range o.Layers {
		s.Layers[i].Add(&o.Layers[i])
	}
}

// Evaluate simulates nSamples samples and sums their counters. labels may
// be nil; otherwise it holds one label per sample. The result is the same
// for any number of workers.
func (s *Sim) Evaluate(x []float32, nSamples int, labels []int32) (*Summary, error) {
	if labels != nil && len(labels) < nSamples {
		return nil, fmt.Errorf("snn: %d labels for %d samples", len(labels), nSamples)
	}
	parts := make([]Summary, s.workers)
	err := s.run(x, nSamples, func(wk, i int, r *SampleResult) {
		var lab int32
		if labels != nil {
			lab = labels[i]
		}
		parts[wk].Add(r, lab, labels != nil)
	})
	if err != nil {
		return nil, err
	}
	sum := &Summary{Layers: make([]LayerStats, len(s.net.Layers))}
	for i := range parts {
		sum.Merge(&parts[i])
	}
	return sum, nil
}
