package snn

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// Sim is the fast exact simulator. It computes every spiking layer's
// potential at readout, U = Σ_j w_j·q_j + b·T, with dense kernels, splitting
// each sum into its positive part P = Σ_{w_j>0} w_j·q_j. Before its readout a
// neuron's potential never exceeds P + max(b,0)·T, so a neuron with that
// bound below θ cannot fire early and fires exactly ⌈θ − U⌉ steps after its
// readout; only the others are stepped through time, from their own inputs.
// The cost is about one ANN forward pass and does not grow with T. A Sim is
// safe for concurrent use; each goroutine needs its own Worker.
type Sim struct {
	net     *Network
	workers int
	plans   []*plan
	end     int32 // EndStep
	inSize  int
	// scratch sizes
	maxIn, maxX, maxOut, maxHist, maxMask, maxWords int
}

// plan is one layer prepared for the fast simulator.
type plan struct {
	l           *Layer
	g           geom
	tau, t, out int32 // window start, T, TOut
	theta       float32
	idx         []int32   // im2col table of group 0 (nil for Linear)
	wpos        []float32 // max(W, 0), for the dot kernel
	bT, bposT   []float32 // per output channel: b·T, max(b,0)·T
	nBias       []int32   // per group: channels with b ≠ 0
	conn        int64     // synapses into the layer
	nz          int       // im2col entries inside the input, per output position summed
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
	for li, l := range n.Layers {
		p := &plan{l: l, tau: int32(n.Tau(li)), t: int32(l.T), out: int32(l.TOut), theta: l.Theta}
		s.plans = append(s.plans, p)
		if l.Analog {
			continue
		}
		p.g = newGeom(l)
		g := &p.g
		insz, outsz := size(l.InShape), l.Size()
		s.maxIn = max(s.maxIn, insz)
		s.maxOut = max(s.maxOut, outsz)
		if l.Kind != Linear {
			p.idx = im2colIndex(g)
			for _, j := range p.idx {
				if j >= 0 {
					p.nz++
				}
			}
			p.conn = int64(g.cout) * int64(p.nz)
			if l.Kind == Conv {
				s.maxX = max(s.maxX, g.k*g.npos)
			}
		} else {
			p.conn = int64(g.cout) * int64(g.k)
		}
		if !l.Spiking() {
			continue
		}
		if l.Kind == Conv || l.Kind == Linear {
			p.wpos = make([]float32, len(l.W))
			for i, w := range l.W {
				p.wpos[i] = max(w, 0)
			}
			p.bT, p.bposT = make([]float32, g.cout), make([]float32, g.cout)
			p.nBias = make([]int32, g.groups)
			for c, b := range l.B {
				p.bT[c] = b * float32(l.T)
				p.bposT[c] = max(b, 0) * float32(l.T)
				if b != 0 {
					p.nBias[c/g.coutg]++
				}
			}
		} else {
			p.bT, p.bposT = make([]float32, g.cout), make([]float32, g.cout)
			p.nBias = make([]int32, g.groups)
		}
		span := int(p.tau) + l.T + 1 // input steps lie in [−τ, T]
		s.maxHist = max(s.maxHist, span)
		words := (span + 63) / 64
		s.maxWords = max(s.maxWords, words)
		s.maxMask = max(s.maxMask, g.groups*g.inPlane*words)
	}
	return s, nil
}

// Network returns the simulated network.
func (s *Sim) Network() *Network { return s.net }

// Worker holds one goroutine's scratch memory for Sim: about
// 4·(max layer input + 2·max layer output + max im2col size + max window
// span) bytes plus the current-update bit sets; see the package doc.
type Worker struct {
	s    *Sim
	enc  *encoder
	q    []float32
	x    []float32
	pb   []float32
	nb   []float32
	hist []float32
	mask []uint64
	acc  []uint64
	// scans counts neurons stepped through time (their bound reached θ).
	scans int64
	scanL map[string]int64
}

// NewWorker returns a Worker with its scratch memory allocated.
func (s *Sim) NewWorker() *Worker {
	return &Worker{s: s, enc: newEncoder(s.net),
		q: make([]float32, s.maxIn), x: make([]float32, s.maxX),
		pb: make([]float32, s.maxOut), nb: make([]float32, s.maxOut),
		hist: make([]float32, s.maxHist), mask: make([]uint64, s.maxMask),
		acc: make([]uint64, s.maxWords), scanL: map[string]int64{}}
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
		if p.l.Kind == MaxPool {
			w.relay(p, prev, out, st)
		} else {
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

// spiking simulates one spiking layer given its inputs' spike steps.
func (w *Worker) spiking(p *plan, in, out []int32, st *LayerStats) {
	l, g := p.l, &p.g
	T, tau := p.t, p.tau
	base := tau + T // readout step
	q := w.q[:len(in)]
	sLo := int32(0)
	for j, t := range in {
		if t-tau < sLo {
			sLo = t - tau
		}
		q[j] = float32(base - t)
	}
	n := l.Size()
	P, S := w.pb[:n], w.nb[:n]

	// Dense pass: S = Σ w·q and P = Σ_{w>0} w·q per neuron.
	switch l.Kind {
	case Linear:
		for c := 0; c < g.cout; c++ {
			S[c], P[c] = dot2(l.W[c*g.k:(c+1)*g.k], p.wpos[c*g.k:(c+1)*g.k], q)
		}
	case AvgPool:
		kk := g.kh * g.kw
		for c := 0; c < g.cout; c++ {
			plane := q[c*g.inPlane : (c+1)*g.inPlane]
			for pos := 0; pos < g.npos; pos++ {
				var sum float32
				for k := 0; k < kk; k++ {
					if j := p.idx[k*g.npos+pos]; j >= 0 {
						sum += plane[j]
					}
				}
				v := l.PoolW[pos] * sum
				S[c*g.npos+pos], P[c*g.npos+pos] = v, v
			}
		}
	case Conv:
		x := w.x[:g.k*g.npos]
		for gr := 0; gr < g.groups; gr++ {
			gather(x, q[gr*g.cing*g.inPlane:], p.idx)
			for c := gr * g.coutg; c < (gr+1)*g.coutg; c++ {
				wr := l.W[c*g.k : (c+1)*g.k]
				if g.npos == 1 {
					S[c], P[c] = dot2(wr, p.wpos[c*g.k:(c+1)*g.k], x)
					continue
				}
				prow, srow := P[c*g.npos:(c+1)*g.npos], S[c*g.npos:(c+1)*g.npos]
				clear(prow)
				clear(srow)
				for k, wv := range wr {
					if wv > 0 {
						axpy(prow, wv, x[k*g.npos:(k+1)*g.npos])
					} else if wv < 0 {
						axpy(srow, wv, x[k*g.npos:(k+1)*g.npos])
					}
				}
				for i := range srow {
					srow[i] += prow[i]
				}
			}
		}
	}

	// Spike times: closed form for neurons that cannot fire early.
	theta := p.theta
	var early, rectified int64
	for c := 0; c < g.cout; c++ {
		bT, bpT := p.bT[c], p.bposT[c]
		sr, pr := S[c*g.npos:(c+1)*g.npos], P[c*g.npos:(c+1)*g.npos]
		o := out[c*g.npos : (c+1)*g.npos]
		for pos := range o {
			u := sr[pos] + bT
			if b := pr[pos] + bpT; b+1e-4*(abs32(b)+1) >= theta {
				w.scans++
				w.scanL[p.l.Name]++
				if t, ok := w.scan(p, c, pos, in, sLo); ok {
					o[pos] = t
					early++
					continue
				}
			}
			k := int32(0)
			if d := theta - u; d > 0 {
				switch {
				case l.Rectify && d > float32(p.out):
					k = p.out // ⌈d⌉ > TOut: the rectifier fires it
					rectified++
				case d > float32(p.out+MaxTail):
					o[pos] = math.MaxInt32 // beyond the tail: never
					continue
				default:
					k = int32(math.Ceil(float64(d)))
				}
			}
			o[pos] = base + k
		}
	}
	st.Early, st.Rectified = early, rectified
	st.Spikes = int64(n)
	st.SynEvents = p.conn
	st.ReadoutEvents = int64(n)
	if l.Rectify {
		st.RectifierEvents = int64(n)
	}
	for _, nb := range p.nBias {
		st.BiasEvents += int64(nb) * int64(g.npos)
	}
	st.CurrentUpdates = w.currentUpdates(p, in, sLo)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// scan steps neuron (c, pos) through its window exactly as the oracle does
// and returns the step of an early spike, if it fires before its readout.
func (w *Worker) scan(p *plan, c, pos int, in []int32, sLo int32) (int32, bool) {
	l, g := p.l, &p.g
	T, tau := p.t, p.tau
	h := w.hist[:T-sLo]
	clear(h)
	var b float32
	switch l.Kind {
	case Linear:
		for j, wv := range l.W[c*g.k : (c+1)*g.k] {
			if s := in[j] - tau; s < T {
				h[s-sLo] += wv
			}
		}
		b = l.B[c]
	case Conv:
		plane := in[(c/g.coutg)*g.cing*g.inPlane:]
		for k, wv := range l.W[c*g.k : (c+1)*g.k] {
			if j := p.idx[k*g.npos+pos]; j >= 0 {
				if s := plane[j] - tau; s < T {
					h[s-sLo] += wv
				}
			}
		}
		b = l.B[c]
	case AvgPool:
		plane := in[c*g.inPlane:]
		wv := l.PoolW[pos]
		for k := 0; k < g.k; k++ {
			if j := p.idx[k*g.npos+pos]; j >= 0 {
				if s := plane[j] - tau; s < T {
					h[s-sLo] += wv
				}
			}
		}
	}
	var u, i float32
	for s := sLo; s < T; s++ {
		u += i
		i += h[s-sLo]
		if s == 0 {
			i += b
		}
		if u >= p.theta {
			return tau + s, true
		}
	}
	return 0, false
}

// currentUpdates counts the (neuron, step) pairs at which a neuron of the
// layer receives at least one event: the distinct arrival steps of its
// inputs, the bias step (if b ≠ 0 and no input arrives then), the readout
// step and, if rectified, the rectifier step. Arrival steps are kept as bit
// sets per input position, OR-ed over channels and then over each window.
func (w *Worker) currentUpdates(p *plan, in []int32, sLo int32) int64 {
	l, g := p.l, &p.g
	off := -sLo
	nbits := int(p.t+off) + 1
	words := (nbits + 63) >> 6
	m := w.mask[:g.groups*g.inPlane*words]
	clear(m)
	for ch := 0; ch < g.cin; ch++ {
		gr := ch / g.cing
		row := m[gr*g.inPlane*words : (gr+1)*g.inPlane*words]
		for pos, t := range in[ch*g.inPlane : (ch+1)*g.inPlane] {
			bit := t - p.tau + off
			row[pos*words+int(bit>>6)] |= 1 << (bit & 63)
		}
	}
	rect := int64(0)
	if l.Rectify {
		rect = 1
	}
	readout := int(p.t + off)
	kk := g.kh * g.kw
	var cu int64
	for gr := 0; gr < g.groups; gr++ {
		row := m[gr*g.inPlane*words : (gr+1)*g.inPlane*words]
		nb := int64(p.nBias[gr])
		coutg := int64(g.coutg)
		for pos := 0; pos < g.npos; pos++ {
			var cnt int
			var has0 bool
			if words == 1 {
				var acc uint64
				if p.idx == nil {
					acc = row[0]
				} else {
					for k := 0; k < kk; k++ {
						if j := p.idx[k*g.npos+pos]; j >= 0 {
							acc |= row[j]
						}
					}
				}
				acc |= 1 << readout
				cnt = bits.OnesCount64(acc)
				has0 = acc>>off&1 != 0
			} else {
				acc := w.acc[:words]
				clear(acc)
				for k := 0; k < kk; k++ {
					j := int32(0)
					if p.idx != nil {
						j = p.idx[k*g.npos+pos]
					}
					if j >= 0 {
						for i, v := range row[int(j)*words : int(j+1)*words] {
							acc[i] |= v
						}
					}
				}
				acc[readout>>6] |= 1 << (readout & 63)
				for _, v := range acc {
					cnt += bits.OnesCount64(v)
				}
				has0 = acc[off>>6]>>(off&63)&1 != 0
			}
			cu += coutg * (int64(cnt) + rect)
			if !has0 {
				cu += nb
			}
		}
	}
	return cu
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
	return s.run(x, nSamples, func(_, i int, r *SampleResult) {
		if onSample != nil {
			onSample(i, r)
		}
	})
}

func (s *Sim) run(x []float32, nSamples int, f func(worker, i int, r *SampleResult)) error {
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

func (s *Summary) add(r *SampleResult, label int32, hasLabel bool) {
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

func (s *Summary) merge(o *Summary) {
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
		parts[wk].add(r, lab, labels != nil)
	})
	if err != nil {
		return nil, err
	}
	sum := &Summary{Layers: make([]LayerStats, len(s.net.Layers))}
	for i := range parts {
		sum.merge(&parts[i])
	}
	return sum, nil
}
