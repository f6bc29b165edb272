package hw

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/quartz-snn/quartz/snn"
)

// Emulator runs an IntNet with the chip's integer arithmetic: a plain
// time-stepped simulator of the SPEC §2 neuron where every weight, current,
// voltage and threshold is an integer in state units, currents and voltages
// saturate at the profile's bit width, the bias, readout and rectifier are
// synapses (split into parts) and the rectifier is a real current, not a
// forced spike. It is read-only after NewEmulator and safe for concurrent
// use; each goroutine needs its own EmuWorker.
type Emulator struct {
	q      *IntNet
	layers []emuLayer
	end    int // EndStep of the network
	inT    int
}

// emuLayer holds a layer's synapses, per input (the previous layer in a
// chain, each group in a branching network), as fan-out lists from the
// source's neurons.
type emuLayer struct {
	l      *snn.Layer
	il     *IntLayer
	tau    int
	ins    []emuInput
	biasOf []int64 // bias per neuron (state units)
	srcs   int     // Σ source sizes over the inputs
}

// emuInput is one input's synapses (CSR): those of source s are
// off[s]..off[s+1]; its spikes arrive delay steps late, through hops
// relay neurons when delay exceeds the profile's MaxDelay.
type emuInput struct {
	from, delay, hops int
	off, dst, w       []int32
}

// SatStats counts, per layer and sample (or summed), the integer effects.
type SatStats struct {
	// CurrentSat and VoltageSat count (neuron, step) pairs at which the
	// current or the voltage was clamped to its range.
	CurrentSat int64 `json:"current_saturations"`
	VoltageSat int64 `json:"voltage_saturations"`
	// RectifierFail counts hidden neurons the rectifier current did not
	// bring to threshold (never expected; the neuron then stays silent).
	RectifierFail int64 `json:"rectifier_failures"`
	// Differ counts neurons whose spike step differs from the float SNN's
	// (filled by Evaluate when it compares).
	Differ int64 `json:"differ_from_float"`
	// Active counts (neuron, step) pairs at which a neuron that has not yet
	// fired holds a nonzero current or voltage: the chip's active neuron
	// updates (relays: one per spike).
	Active int64 `json:"active_updates"`
	// DelayRelaySpikes and DelayRelayEvents count the spikes of the relay
	// neurons that carry this layer's input groups over delays longer than
	// the profile's MaxDelay, and the synaptic events into them (one per
	// relay spike). They are not in snn.LayerStats, which stays the float
	// simulators'.
	DelayRelaySpikes int64 `json:"delay_relay_spikes,omitempty"`
	DelayRelayEvents int64 `json:"delay_relay_events,omitempty"`
}

func (s *SatStats) add(o *SatStats) {
	s.CurrentSat += o.CurrentSat
	s.VoltageSat += o.VoltageSat
	s.RectifierFail += o.RectifierFail
	s.Differ += o.Differ
	s.Active += o.Active
	s.DelayRelaySpikes += o.DelayRelaySpikes
	s.DelayRelayEvents += o.DelayRelayEvents
}

// NewEmulator builds the synapse lists of q.
func NewEmulator(q *IntNet) (*Emulator, error) {
	n := q.Net
	e := &Emulator{q: q, end: n.EndStep(), inT: n.InputT()}
	taus := n.Taus()
	for li, l := range n.Layers {
		el := emuLayer{l: l, il: q.Layers[li], tau: taus[li]}
		for _, in := range inputsOf(n, li) {
			ei := emuInput{from: in.from, delay: in.delay, hops: relayHops(in.delay, q.Profile.MaxDelay)}
			prevSize := size(in.l.InShape)
			el.srcs += prevSize
			count := make([]int32, prevSize+1)
			forEachSynapse(in.l, func(dst, src, wi int) { count[src+1]++ })
			for s := 1; s <= prevSize; s++ {
				count[s] += count[s-1]
			}
			total := count[prevSize]
			ei.off = append([]int32(nil), count...)
			ei.dst = make([]int32, total)
			if l.Spiking() {
				ei.w = make([]int32, total)
			}
			fill := append([]int32(nil), count[:prevSize]...)
			forEachSynapse(in.l, func(dst, src, wi int) {
				k := fill[src]
				fill[src]++
				ei.dst[k] = int32(dst)
				if ei.w != nil {
					ei.w[k] = el.il.W[in.woff+wi]
				}
			})
			el.ins = append(el.ins, ei)
		}
		if l.Spiking() && el.il.B != nil {
			el.biasOf = make([]int64, l.Size())
			for k := range el.biasOf {
				el.biasOf[k] = el.il.B[biasIndex(l, k)]
			}
		}
		e.layers = append(e.layers, el)
	}
	return e, nil
}

func size(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// EmuWorker holds one goroutine's scratch state.
type EmuWorker struct {
	e       *Emulator
	u, i    []int64
	fired   []bool
	touched []int32 // last step at which the neuron's current got an event
	order   []int32 // presynaptic neurons sorted by arrival step
	orderIn []int32 // their input index
	start   []int32 // counting-sort offsets per step
	Sat     []SatStats
}

// NewWorker returns a worker with its scratch memory.
func (e *Emulator) NewWorker() *EmuWorker {
	m, p := 0, size(e.q.Net.InShape)
	for li, l := range e.q.Net.Layers {
		m = max(m, l.Size())
		p = max(p, e.layers[li].srcs)
	}
	return &EmuWorker{e: e, u: make([]int64, m), i: make([]int64, m), fired: make([]bool, m),
		touched: make([]int32, m), order: make([]int32, p), orderIn: make([]int32, p), Sat: make([]SatStats, len(e.layers))}
}

// Simulate runs one sample (pixels in [0,1]) and fills r exactly as the
// float simulators do (same classes, counters and stopping rule), and
// w.Sat with this sample's saturation counts.
func (w *EmuWorker) Simulate(x []float32, r *snn.SampleResult) error {
	e := w.e
	n := e.q.Net
	if len(x) != size(n.InShape) {
		return fmt.Errorf("hw: sample has %d values, the network wants %v", len(x), n.InShape)
	}
	resetResult(r, n)
	clear(w.Sat)
	t := int32(e.inT)
	for k, v := range x {
		if !(v >= 0 && v <= 1) {
			r.Clamped++
			if v > 1 {
				v = 1
			} else {
				v = 0
			}
		}
		r.Input[k] = t - int32(math.Floor(float64(v)*float64(e.inT)+0.5))
	}
	for li := range e.layers {
		el := &e.layers[li]
		out := r.Times[li]
		for _, in := range el.ins {
			if in.hops > 0 {
				var spikes int64
				for _, ts := range w.source(r, in.from) {
					if ts != snn.NoSpike {
						spikes++
					}
				}
				w.Sat[li].DelayRelaySpikes += int64(in.hops) * spikes
				w.Sat[li].DelayRelayEvents += int64(in.hops) * spikes
			}
		}
		if el.l.Kind == snn.MaxPool {
			w.relay(el, r, out, &r.Stats[li])
			w.Sat[li].Active = r.Stats[li].Spikes
		} else {
			w.spiking(el, out, &r.Stats[li], &w.Sat[li], r)
		}
	}
	return nil
}

// source returns the spike times of layer from (the input for from < 0).
func (w *EmuWorker) source(r *snn.SampleResult, from int) []int32 {
	if from < 0 {
		return r.Input
	}
	return r.Times[from]
}

func resetResult(r *snn.SampleResult, n *snn.Network) {
	grow := func(s []int32, k int) []int32 {
		if cap(s) < k {
			return make([]int32, k)
		}
		return s[:k]
	}
	r.Input = grow(r.Input, size(n.InShape))
	if cap(r.Times) < len(n.Layers) {
		r.Times = make([][]int32, len(n.Layers))
	}
	r.Times = r.Times[:len(n.Layers)]
	for li, l := range n.Layers {
		r.Times[li] = grow(r.Times[li], l.Size())
		for k := range r.Times[li] {
			r.Times[li][k] = snn.NoSpike
		}
	}
	if cap(r.Stats) < len(n.Layers) {
		r.Stats = make([]snn.LayerStats, len(n.Layers))
	}
	r.Stats = r.Stats[:len(n.Layers)]
	clear(r.Stats)
	r.Class, r.Tie, r.FirstSpike, r.Steps, r.Clamped = -1, false, -1, 0, 0
}

// relay: a max-pool neuron fires at the step of its first input spike.
func (w *EmuWorker) relay(el *emuLayer, r *snn.SampleResult, out []int32, st *snn.LayerStats) {
	for _, in := range el.ins {
		for s, ts := range w.source(r, in.from) {
			if ts == snn.NoSpike {
				continue
			}
			ta := ts + int32(in.delay)
			for k := in.off[s]; k < in.off[s+1]; k++ {
				d := in.dst[k]
				st.SynEvents++
				if in.delay > 0 {
					st.DelayedSynapses++
					st.DelaySteps += int64(in.delay)
				}
				if out[d] == snn.NoSpike || ta < out[d] {
					out[d] = ta
				}
			}
		}
	}
	for _, t := range out {
		if t != snn.NoSpike {
			st.Spikes++
		}
	}
}

// spiking steps one layer through its window with integer state.
func (w *EmuWorker) spiking(el *emuLayer, out []int32, st *snn.LayerStats, sat *SatStats, r *snn.SampleResult) {
	e, l, il := w.e, el.l, el.il
	p := e.q.Profile
	nn := l.Size()
	u, cur, fired, touched := w.u[:nn], w.i[:nn], w.fired[:nn], w.touched[:nn]
	clear(u)
	clear(cur)
	clear(fired)
	for k := range touched {
		touched[k] = -1
	}
	hi, lo := p.stateMax(), p.stateMin()

	// Sort the presynaptic spikes of all inputs by arrival step (counting
	// sort).
	tmin, tmax := int32(math.MaxInt32), int32(-1)
	for _, in := range el.ins {
		for _, ts := range w.source(r, in.from) {
			if ts != snn.NoSpike {
				ta := ts + int32(in.delay)
				tmin, tmax = min(tmin, ta), max(tmax, ta)
			}
		}
	}
	nsteps := 0
	if tmax >= 0 {
		nsteps = int(tmax-tmin) + 1
	}
	if cap(w.start) < nsteps+1 {
		w.start = make([]int32, nsteps+1)
	}
	start := w.start[:nsteps+1]
	clear(start)
	for _, in := range el.ins {
		for _, ts := range w.source(r, in.from) {
			if ts != snn.NoSpike {
				start[ts+int32(in.delay)-tmin+1]++
			}
		}
	}
	for k := 1; k <= nsteps; k++ {
		start[k] += start[k-1]
	}
	pos, posIn := w.order[:el.srcs], w.orderIn[:el.srcs]
	fill := append([]int32(nil), start[:max(nsteps, 1)]...) // small: one entry per step
	for k, in := range el.ins {
		for s, ts := range w.source(r, in.from) {
			if ts != snn.NoSpike {
				a := ts + int32(in.delay) - tmin
				pos[fill[a]], posIn[fill[a]] = int32(s), int32(k)
				fill[a]++
			}
		}
	}

	readout := el.tau + l.T
	rect := readout + l.TOut
	rectAt := rect - 1 // the rectifier current must be in i one step before
	rectW := int64(il.RectSyn) * il.Rect
	last := l.Output
	endStep := e.end
	t0 := el.tau
	if tmax >= 0 {
		t0 = min(t0, int(tmin))
	}
	first := int32(-1)
	mark := func(d int32, t int) {
		if touched[d] != int32(t) {
			touched[d] = int32(t)
			st.CurrentUpdates++
		}
	}
	for t := t0; ; t++ {
		// 1. u ← u + i, saturating at [VMin, 2^23 − 1].
		for k := range u {
			if fired[k] {
				continue
			}
			if u[k] != 0 || cur[k] != 0 {
				sat.Active++
			}
			v := u[k] + cur[k]
			if v > hi {
				v = hi
				sat.VoltageSat++
			} else if v < il.VMin {
				v = il.VMin
				sat.VoltageSat++
			}
			u[k] = v
		}
		// 2. synaptic events arriving at t.
		if tmax >= 0 && t >= int(tmin) && t <= int(tmax) {
			a, b := start[t-int(tmin)], start[t-int(tmin)+1]
			for j, s := range pos[a:b] {
				in := &el.ins[posIn[int(a)+j]]
				for k := in.off[s]; k < in.off[s+1]; k++ {
					d := in.dst[k]
					cur[d] += int64(in.w[k])
					st.SynEvents++
					if in.delay > 0 {
						st.DelayedSynapses++
						st.DelaySteps += int64(in.delay)
					}
					mark(d, t)
				}
			}
		}
		if t == el.tau && el.biasOf != nil {
			for k, b := range el.biasOf {
				if b != 0 {
					cur[k] += b
					st.BiasEvents++
					mark(int32(k), t)
				}
			}
		}
		if t == readout {
			for k, c := range il.Counter {
				cur[k] += c
				st.ReadoutEvents++
				mark(int32(k), t)
			}
		}
		if l.Rectify && t == rectAt {
			for k := range cur {
				cur[k] += rectW
			}
		}
		if l.Rectify && t == rect {
			for k := range cur {
				st.RectifierEvents++
				mark(int32(k), t)
			}
		}
		for k, c := range cur {
			if c > hi {
				cur[k] = hi
				sat.CurrentSat++
			} else if c < lo {
				cur[k] = lo
				sat.CurrentSat++
			}
		}
		// 3. fire once at threshold.
		for k := range u {
			if fired[k] || u[k] < il.Theta {
				continue
			}
			fired[k] = true
			out[k] = int32(t)
			st.Spikes++
			if t < readout {
				st.Early++
			}
			if l.Rectify && t == rect && u[k]-rectW < il.Theta {
				st.Rectified++
			}
			if last && first < 0 {
				first = int32(t)
			}
		}
		if !last {
			if t >= rect {
				for k := range fired {
					if !fired[k] {
						sat.RectifierFail++
					}
				}
				return
			}
			continue
		}
		// Output layer: stop at max(EndStep, first spike), or give up.
		if (first >= 0 && t >= endStep) || t >= endStep+snn.MaxTail {
			r.Steps = int32(t + 1)
			if first >= 0 {
				r.FirstSpike = first
				for k, ts := range out {
					if ts == first {
						if r.Class < 0 {
							r.Class = k
						} else {
							r.Tie = true
						}
					}
				}
			}
			return
		}
	}
}

// Summary holds counters summed over samples.
type Summary struct {
	Samples    int64            `json:"samples"`
	Correct    int64            `json:"correct"`
	Ties       int64            `json:"ties"`
	NoClass    int64            `json:"no_class"`
	FirstSpike int64            `json:"first_spike_sum"`
	Steps      int64            `json:"steps_sum"`
	Layers     []snn.LayerStats `json:"layers"`
	Sat        []SatStats       `json:"saturation"`
	// With a float comparison: samples the float SNN classifies correctly,
	// samples where both agree on the class.
	FloatCorrect int64 `json:"float_correct"`
	Agree        int64 `json:"agree"`
	Compared     bool  `json:"compared"`
}

func (s *Summary) merge(o *Summary) {
	s.Samples += o.Samples
	s.Correct += o.Correct
	s.Ties += o.Ties
	s.NoClass += o.NoClass
	s.FirstSpike += o.FirstSpike
	s.Steps += o.Steps
	s.FloatCorrect += o.FloatCorrect
	s.Agree += o.Agree
	s.Compared = s.Compared || o.Compared
	if s.Layers == nil {
		s.Layers = make([]snn.LayerStats, len(o.Layers))
		s.Sat = make([]SatStats, len(o.Sat))
	}
	for k := range o.Layers {
		s.Layers[k].Add(&o.Layers[k])
		s.Sat[k].add(&o.Sat[k])
	}
}

// Evaluate emulates samples 0..nSamples−1 of x on workers goroutines and
// sums the results; labels may be nil. With float set, every sample also
// runs on the float simulator (snn.Sim) and the summary counts class
// agreement and neurons whose spike step differs. The result does not
// depend on the number of workers.
func (e *Emulator) Evaluate(x []float32, nSamples int, labels []int32, workers int, float bool) (*Summary, error) {
	in := size(e.q.Net.InShape)
	if nSamples < 0 || len(x) < nSamples*in {
		return nil, fmt.Errorf("hw: %d values hold fewer than %d samples of %d", len(x), nSamples, in)
	}
	var sim *snn.Sim
	if float {
		var err error
		if sim, err = snn.NewSim(e.q.Net, 1); err != nil {
			return nil, err
		}
	}
	workers = max(1, min(workers, nSamples))
	sums := make([]Summary, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			w := e.NewWorker()
			var fw *snn.Worker
			if sim != nil {
				fw = sim.NewWorker()
			}
			var r, fr snn.SampleResult
			s := &sums[wk]
			s.Layers = make([]snn.LayerStats, len(e.layers))
			s.Sat = make([]SatStats, len(e.layers))
			s.Compared = float
			for {
				k := int(next.Add(1) - 1)
				if k >= nSamples {
					return
				}
				xs := x[k*in : (k+1)*in]
				if err := w.Simulate(xs, &r); err != nil {
					errs[wk] = err
					return
				}
				s.Samples++
				if r.Class < 0 {
					s.NoClass++
				} else {
					s.FirstSpike += int64(r.FirstSpike)
				}
				if r.Tie {
					s.Ties++
				}
				s.Steps += int64(r.Steps)
				if labels != nil && r.Class == int(labels[k]) {
					s.Correct++
				}
				for li := range r.Stats {
					s.Layers[li].Add(&r.Stats[li])
					s.Sat[li].add(&w.Sat[li])
				}
				if fw != nil {
					if err := fw.Simulate(xs, &fr); err != nil {
						errs[wk] = err
						return
					}
					if fr.Class == r.Class {
						s.Agree++
					}
					if labels != nil && fr.Class == int(labels[k]) {
						s.FloatCorrect++
					}
					for li := range r.Times {
						a, b := r.Times[li], fr.Times[li]
						for j := range a {
							if j < len(b) && a[j] != b[j] {
								s.Sat[li].Differ++
							}
						}
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var tot Summary
	for k := range sums {
		tot.merge(&sums[k])
	}
	return &tot, nil
}
