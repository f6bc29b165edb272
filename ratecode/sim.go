package ratecode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/quartz-snn/quartz/graph"
)

// Defaults and limits.
const (
	DefaultSteps = 500     // N when Config.Steps is 0
	MaxSteps     = 1 << 20 // the most steps a sample may run
	Threshold    = 1       // firing threshold of every IF neuron
)

// Config sets up a Sim. Zero values take the defaults.
type Config struct {
	// Steps is N, the time steps every sample runs (default DefaultSteps).
	Steps int
	// Checkpoints are the step counts, each in [1, Steps], at which the
	// class and the cumulative counts are read; Steps is always added. Empty
	// means DefaultCheckpoints(Steps).
	Checkpoints []int
	// Workers is the number of goroutines of Evaluate (≤ 0: GOMAXPROCS).
	Workers int
}

// DefaultCheckpoints returns the 1-2-5 series from 10 up to steps (10, 20,
// 50, 100, 200, 500, 1000, …) with steps itself appended.
func DefaultCheckpoints(steps int) []int {
	var c []int
	for dec := 10; dec < steps; dec *= 10 {
		for _, m := range []int{1, 2, 5} {
			if v := m * dec; v < steps {
				c = append(c, v)
			}
		}
	}
	return append(c, steps)
}

// Sim simulates a rate-coded network. Its methods are not safe for
// concurrent use; Evaluate itself runs on Config.Workers goroutines.
type Sim struct {
	layers  []*layer
	steps   int
	checks  []int   // sorted, distinct, last = steps
	checkAt []int32 // per step 0..steps: index in checks, or −1
	inShape []int
	inSize  int
	workers int
	pool    []*worker
	// Warnings are notes on the conversion worth showing to a user.
	Warnings []string
}

// New builds a simulator for m, a simplified (BatchNorm folded) and
// normalized chain model: the rate of every hidden neuron approximates its
// normalized activation clipped to [0, 1]. m is not modified.
func New(m *graph.Model, cfg Config) (*Sim, error) {
	if cfg.Steps == 0 {
		cfg.Steps = DefaultSteps
	}
	if cfg.Steps < 1 || cfg.Steps > MaxSteps {
		return nil, fmt.Errorf("ratecode: steps %d: want 1..%d", cfg.Steps, MaxSteps)
	}
	checks := slices.Clone(cfg.Checkpoints)
	if len(checks) == 0 {
		checks = DefaultCheckpoints(cfg.Steps)
	}
	for _, c := range checks {
		if c < 1 || c > cfg.Steps {
			return nil, fmt.Errorf("ratecode: checkpoint %d: want 1..%d (the step count)", c, cfg.Steps)
		}
	}
	checks = append(checks, cfg.Steps)
	slices.Sort(checks)
	checks = slices.Compact(checks)
	layers, warnings, err := build(m)
	if err != nil {
		return nil, err
	}
	s := &Sim{layers: layers, steps: cfg.Steps, checks: checks, inShape: slices.Clone(m.InputShape),
		inSize: graph.Size(m.InputShape), workers: cfg.Workers, Warnings: warnings}
	if s.workers <= 0 {
		s.workers = runtime.GOMAXPROCS(0)
	}
	s.checkAt = make([]int32, cfg.Steps+1)
	for i := range s.checkAt {
		s.checkAt[i] = -1
	}
	for i, c := range checks {
		s.checkAt[c] = int32(i)
	}
	return s, nil
}

// Layers describes the network's layers in order.
func (s *Sim) Layers() []Layer {
	out := make([]Layer, len(s.layers))
	for i, l := range s.layers {
		out[i] = l.Layer
		out[i].Shape = slices.Clone(l.Shape)
	}
	return out
}

// Neurons returns ν, the IF neurons (Conv, Linear and AvgPool layers, the
// analog first layer included), and, apart, the MaxPool gate neurons.
func (s *Sim) Neurons() (spiking, relay int) {
	for _, l := range s.layers {
		if l.Kind == MaxPool {
			relay += l.Neurons
		} else {
			spiking += l.Neurons
		}
	}
	return spiking, relay
}

// AnalogMACs returns the multiply-accumulates per sample that compute the
// first layer's constant input current W·x + b (once per sample).
func (s *Sim) AnalogMACs() int64 { return s.layers[0].MACs }

// Steps returns N.
func (s *Sim) Steps() int { return s.steps }

// Checkpoints returns the step counts at which the class is read.
func (s *Sim) Checkpoints() []int { return slices.Clone(s.checks) }

// Summary sums the outcome of many samples.
type Summary struct {
	Samples     int64
	Checkpoints []Checkpoint // one per Sim.Checkpoints entry
	Layers      []LayerStats // per layer, over all Steps
}

// Checkpoint is the state after Steps steps, summed over samples.
type Checkpoint struct {
	Steps int
	// Correct counts samples whose class, read from the output potential
	// (the integrated input, spikes + residual potential), is the label.
	Correct int64
	// CorrectCount and CountTies: the same with the class read as the output
	// neuron with the most spikes (ties to the lowest index), and the samples
	// where the most spikes were shared.
	CorrectCount int64
	CountTies    int64
	// Cumulative counts up to Steps: spikes of IF neurons, spikes relayed by
	// MaxPool gates, and synaptic events σ (Σ over spikes of the fan-out).
	Spikes      int64
	RelaySpikes int64
	SynEvents   int64
}

// LayerStats counts one layer's events.
type LayerStats struct {
	Spikes    int64 // spikes emitted by the layer's neurons (relayed, for MaxPool)
	SynEvents int64 // spikes delivered into this layer: Σ over input spikes of their fan-out here
}

func (s *Summary) merge(o *Summary) {
	s.Samples += o.Samples
	if s.Checkpoints == nil {
		s.Checkpoints = make([]Checkpoint, len(o.Checkpoints))
		s.Layers = make([]LayerStats, len(o.Layers))
	}
	for i := range o.Checkpoints {
		a, b := &s.Checkpoints[i], &o.Checkpoints[i]
		a.Steps = b.Steps
		a.Correct += b.Correct
		a.CorrectCount += b.CorrectCount
		a.CountTies += b.CountTies
		a.Spikes += b.Spikes
		a.RelaySpikes += b.RelaySpikes
		a.SynEvents += b.SynEvents
	}
	for i := range o.Layers {
		s.Layers[i].Spikes += o.Layers[i].Spikes
		s.Layers[i].SynEvents += o.Layers[i].SynEvents
	}
}

// Trace is the outcome of one sample (Sim.Run).
type Trace struct {
	// Counts holds, per layer, the spikes of every neuron after Steps steps.
	Counts [][]int32
	// Potential is the output layer's integrated input Σ_t I(t) per neuron:
	// spikes + residual potential. Divided by Steps it approximates the
	// normalized output activation.
	Potential []float32
	Class     int // argmax of Potential, ties to the lowest index
	Layers    []LayerStats
}

// ErrInput reports bad input data.
var ErrInput = errors.New("ratecode: bad input")

func (s *Sim) checkInput(x []float32, n int) error {
	if n < 1 {
		return fmt.Errorf("%w: %d samples", ErrInput, n)
	}
	if len(x) != n*s.inSize {
		return fmt.Errorf("%w: %d values for %d samples of %v", ErrInput, len(x), n, s.inShape)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: sample %d value %d is %v", ErrInput, i/s.inSize, i%s.inSize, v)
		}
	}
	return nil
}

// Run simulates one sample and returns its trace.
func (s *Sim) Run(x []float32) (*Trace, error) {
	if err := s.checkInput(x, 1); err != nil {
		return nil, err
	}
	w := s.worker(0)
	var sum Summary
	sum.Checkpoints = make([]Checkpoint, len(s.checks))
	sum.Layers = make([]LayerStats, len(s.layers))
	class := w.sample(context.Background(), x, -1, &sum)
	tr := &Trace{Class: class, Layers: sum.Layers}
	for i := range s.layers {
		tr.Counts = append(tr.Counts, slices.Clone(w.count[i]))
	}
	last := len(s.layers) - 1
	tr.Potential = make([]float32, s.layers[last].out)
	for k := range tr.Potential {
		tr.Potential[k] = float32(w.count[last][k]) + w.u[last][s.layers[last].uIndex(k)]
	}
	return tr, nil
}

// Evaluate simulates n samples (x holds them one after the other, [C H W]
// each) and sums the outcome; labels (n entries, or nil) give the classes.
// Samples are spread over the workers; the result does not depend on their
// number.
func (s *Sim) Evaluate(x []float32, n int, labels []int32) (*Summary, error) {
	return s.EvaluateContext(context.Background(), x, n, labels)
}

// EvaluateContext is Evaluate that stops when ctx is done: every worker
// checks ctx before each sample and every 64 steps within one, so a
// cancellation takes effect within a fraction of a sample's time; it then
// returns ctx's error and no summary.
func (s *Sim) EvaluateContext(ctx context.Context, x []float32, n int, labels []int32) (*Summary, error) {
	if err := s.checkInput(x, n); err != nil {
		return nil, err
	}
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("%w: %d labels for %d samples", ErrInput, len(labels), n)
	}
	nw := min(s.workers, n)
	parts := make([]Summary, nw)
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := range nw {
		w := s.worker(k)
		p := &parts[k]
		p.Checkpoints = make([]Checkpoint, len(s.checks))
		p.Layers = make([]LayerStats, len(s.layers))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				label := int32(-1)
				if labels != nil {
					label = labels[i]
				}
				if ctx.Err() != nil {
					return
				}
				w.sample(ctx, x[i*s.inSize:(i+1)*s.inSize], label, p)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var sum Summary
	for k := range parts {
		sum.merge(&parts[k])
	}
	for i, c := range s.checks {
		sum.Checkpoints[i].Steps = c
	}
	return &sum, nil
}

// worker holds one goroutine's state, reused from sample to sample.
type worker struct {
	s      *Sim
	u      [][]float32 // potential per IF layer (nil for MaxPool)
	count  [][]int32   // spikes so far per neuron
	last   [][]int32   // step of the neuron's last spike (0: none)
	winner [][]int32   // MaxPool: the input with the most spikes per window
	spk    [][]int32   // spikes of the current step per layer
	drive  []float32   // the analog layer's current W·x + b
	xt     []float32   // the transformed input (analog layer with an input transform)
	lst    []LayerStats
}

func (s *Sim) worker(k int) *worker {
	for len(s.pool) <= k {
		w := &worker{s: s, drive: make([]float32, s.layers[0].out), lst: make([]LayerStats, len(s.layers))}
		if l0 := s.layers[0]; l0.inScale != nil {
			w.xt = make([]float32, l0.plane*len(l0.inScale))
		}
		for _, l := range s.layers {
			var u []float32
			var win []int32
			if l.Kind == MaxPool {
				win = make([]int32, l.out)
			} else {
				u = make([]float32, l.out)
			}
			w.u = append(w.u, u)
			w.winner = append(w.winner, win)
			w.count = append(w.count, make([]int32, l.out))
			w.last = append(w.last, make([]int32, l.out))
			w.spk = append(w.spk, make([]int32, 0, l.out))
		}
		s.pool = append(s.pool, w)
	}
	return s.pool[k]
}

// sample simulates one sample, adds its counts to sum and returns the class
// at the last step (potential readout).
func (w *worker) sample(ctx context.Context, x []float32, label int32, sum *Summary) int {
	s := w.s
	for i, l := range s.layers {
		clear(w.u[i])
		clear(w.count[i])
		clear(w.last[i])
		if l.Kind == MaxPool {
			copy(w.winner[i], l.first)
		}
		w.lst[i] = LayerStats{}
	}
	if w.xt != nil {
		s.layers[0].transform(x, w.xt)
		x = w.xt
	}
	s.layers[0].analog(x, w.drive)
	class := -1
	for t := int32(1); t <= int32(s.steps); t++ {
		if t&63 == 0 && ctx.Err() != nil {
			return class // abandoned: EvaluateContext returns ctx's error
		}
		var in []int32
		for i, l := range s.layers {
			out := w.spk[i][:0]
			if l.Kind == MaxPool {
				out = w.gate(i, l, in, out, t)
			} else {
				out = w.integrate(i, l, in, out, t)
			}
			w.spk[i] = out
			w.lst[i].Spikes += int64(len(out))
			in = out
		}
		if c := s.checkAt[t]; c >= 0 {
			class = w.checkpoint(&sum.Checkpoints[c], label)
		}
	}
	sum.Samples++
	for i := range w.lst {
		sum.Layers[i].Spikes += w.lst[i].Spikes
		sum.Layers[i].SynEvents += w.lst[i].SynEvents
	}
	return class
}

// integrate delivers the input spikes into layer i, adds the constant
// current (bias, or the analog current of the first layer) and fires the
// neurons at or above the threshold, resetting them by subtraction.
func (w *worker) integrate(i int, l *layer, in, out []int32, t int32) []int32 {
	u := w.u[i]
	var syn int64
	switch l.Kind {
	case Conv:
		// u is in H,W,C order here: the channels of a group are contiguous.
		plane := l.hin * l.win
		for _, j := range in {
			syn += int64(l.fanout[j])
			c := int(j) / plane
			y, x := (int(j)%plane)/l.win, int(j)%l.win
			base := (c / l.cinG) * l.coutG
			for rp := l.rowOff[y]; rp < l.rowOff[y+1]; rp += 2 {
				oy, ky := int(l.rowPair[rp]), int(l.rowPair[rp+1])
				for cp := l.colOff[x]; cp < l.colOff[x+1]; cp += 2 {
					ox, kx := int(l.colPair[cp]), int(l.colPair[cp+1])
					wrow := l.wt[((c*l.kh+ky)*l.kw+kx)*l.coutG:][:l.coutG]
					dst := u[(oy*l.wout+ox)*l.cout+base:][:len(wrow)]
					for jj, v := range wrow {
						dst[jj] += v
					}
				}
			}
		}
	case Linear:
		n := l.out
		for _, j := range in {
			syn += int64(n)
			row := l.wt[int(j)*n : (int(j)+1)*n]
			for o, v := range row {
				u[o] += v
			}
		}
	case AvgPool:
		hw := l.hout * l.wout
		plane := l.hin * l.win
		for _, j := range in {
			syn += int64(l.fanout[j])
			c := int(j) / plane
			y, x := (int(j)%plane)/l.win, int(j)%l.win
			for rp := l.rowOff[y]; rp < l.rowOff[y+1]; rp += 2 {
				for cp := l.colOff[x]; cp < l.colOff[x+1]; cp += 2 {
					o := int(l.rowPair[rp])*l.wout + int(l.colPair[cp])
					u[c*hw+o] += l.poolW[o]
				}
			}
		}
	}
	w.lst[i].SynEvents += syn
	drive := l.bias
	if l.Analog {
		drive = w.drive
	}
	cnt, lst := w.count[i], w.last[i]
	drive = drive[:len(u)]
	if l.Kind == Conv && l.hout*l.wout > 1 {
		// u, drive: H,W,C; cnt, lst and the spike indices: C,H,W.
		hw, nc := l.hout*l.wout, l.cout
		for pos := 0; pos < hw; pos++ {
			row, drow := u[pos*nc:][:nc], drive[pos*nc:][:nc]
			for c, v := range row {
				v += drow[c]
				if v >= Threshold {
					v -= Threshold
					k := c*hw + pos
					cnt[k]++
					lst[k] = t
					out = append(out, int32(k))
				}
				row[c] = v
			}
		}
		return out
	}
	cnt = cnt[:len(u)]
	lst = lst[:len(u)]
	for k, v := range u {
		v += drive[k]
		if v >= Threshold {
			v -= Threshold
			cnt[k]++
			lst[k] = t
			out = append(out, int32(k))
		}
		u[k] = v
	}
	return out
}

// uIndex returns the index in u of neuron k (C,H,W) of layer l: Conv
// layers keep u in H,W,C order.
func (l *layer) uIndex(k int) int {
	if l.Kind != Conv {
		return k
	}
	hw := l.hout * l.wout
	return (k%hw)*l.cout + k/hw
}

// gate runs MaxPool layer i: each window's winner is an input with the most
// spikes so far (this step's included); a challenger replaces it only with
// strictly more spikes. The gate relays the winner's spikes, so its own
// count is the max of its inputs' counts at every step.
func (w *worker) gate(i int, l *layer, in, out []int32, t int32) []int32 {
	pc, pl := w.count[i-1], w.last[i-1]
	win, cnt, lst := w.winner[i], w.count[i], w.last[i]
	hw := l.hout * l.wout
	plane := l.hin * l.win
	var syn int64
	for pass := 0; pass < 2; pass++ {
		for _, j := range in {
			c := int(j) / plane
			y, x := (int(j)%plane)/l.win, int(j)%l.win
			if pass == 0 {
				syn += int64(l.fanout[j])
			}
			for rp := l.rowOff[y]; rp < l.rowOff[y+1]; rp += 2 {
				for cp := l.colOff[x]; cp < l.colOff[x+1]; cp += 2 {
					o := c*hw + int(l.rowPair[rp])*l.wout + int(l.colPair[cp])
					if pass == 0 {
						if pc[j] > pc[win[o]] {
							win[o] = j
						}
					} else if pl[win[o]] == t && lst[o] != t {
						lst[o] = t
						cnt[o]++
						out = append(out, int32(o))
					}
				}
			}
		}
	}
	w.lst[i].SynEvents += syn
	return out
}

// checkpoint reads the class and adds the cumulative counts to c; it
// returns the class by potential.
func (w *worker) checkpoint(c *Checkpoint, label int32) int {
	s := w.s
	last := len(s.layers) - 1
	u, cnt := w.u[last], w.count[last]
	best, bestV := 0, math.Inf(-1)
	ol := s.layers[last]
	for k := range cnt {
		if v := float64(cnt[k]) + float64(u[ol.uIndex(k)]); v > bestV {
			best, bestV = k, v
		}
	}
	byCount, tie := 0, false
	for k := 1; k < len(cnt); k++ {
		if cnt[k] > cnt[byCount] {
			byCount, tie = k, false
		} else if cnt[k] == cnt[byCount] {
			tie = true
		}
	}
	if int32(best) == label {
		c.Correct++
	}
	if int32(byCount) == label {
		c.CorrectCount++
	}
	if tie {
		c.CountTies++
	}
	for i, l := range s.layers {
		if l.Kind == MaxPool {
			c.RelaySpikes += w.lst[i].Spikes
		} else {
			c.Spikes += w.lst[i].Spikes
		}
		c.SynEvents += w.lst[i].SynEvents
	}
	return best
}

// transform writes the input transform of the analog layer, x·inScale[c] +
// inShift[c] per channel (product rounded before the sum, as package nn
// computes graph.Affine), into dst.
func (l *layer) transform(x, dst []float32) {
	for c, sc := range l.inScale {
		sh := l.inShift[c]
		src, d := x[c*l.plane:(c+1)*l.plane], dst[c*l.plane:(c+1)*l.plane]
		for i, v := range src {
			d[i] = float32(v*sc) + sh
		}
	}
}

// analog computes the first layer's constant current W·x + b for one sample,
// in the order of the layer's u (H,W,C for Conv).
func (l *layer) analog(x, dst []float32) {
	g := l.g
	switch g.Op {
	case graph.Linear:
		in := g.WShape[1]
		for o := range dst {
			var s float32
			if g.B != nil {
				s = g.B[o]
			}
			row := g.W[o*in : (o+1)*in]
			for c, v := range row {
				s += v * x[c]
			}
			dst[o] = s
		}
	case graph.Conv:
		sh, sw := g.Stride[0], g.Stride[1]
		pt, pl := g.Pad[0], g.Pad[1]
		dh, dw := g.Dilation[0], g.Dilation[1]
		for co := 0; co < l.cout; co++ {
			grp := co / l.coutG
			var b float32
			if g.B != nil {
				b = g.B[co]
			}
			for oy := 0; oy < l.hout; oy++ {
				for ox := 0; ox < l.wout; ox++ {
					s := b
					for ci := 0; ci < l.cinG; ci++ {
						c := grp*l.cinG + ci
						for ky := 0; ky < l.kh; ky++ {
							iy := oy*sh - pt + ky*dh
							if iy < 0 || iy >= l.hin {
								continue
							}
							wrow := g.W[((co*l.cinG+ci)*l.kh+ky)*l.kw:][:l.kw]
							xrow := x[(c*l.hin+iy)*l.win:][:l.win]
							for kx, v := range wrow {
								if ix := ox*sw - pl + kx*dw; ix >= 0 && ix < l.win {
									s += v * xrow[ix]
								}
							}
						}
					}
					dst[(oy*l.wout+ox)*l.cout+co] = s // H,W,C: see integrate
				}
			}
		}
	}
}
