package nn

import (
	"math"
	"math/rand/v2"

	"github.com/quartz-snn/quartz/graph"
)

const (
	opReLU = iota
	opClip
	opLeakyReLU
	opTanh
	opSigmoid
	opHardSigmoid
	opHardSwish
	opSiLU
	opQuant
)

// elementwise is ReLU, Clip, LeakyReLU, Tanh, Sigmoid, HardSigmoid,
// HardSwish, SiLU or Quant, split over the batch. The smooth functions are
// evaluated in float64 and rounded to float32.
type elementwise struct {
	p        *pool
	op       int
	min, max float32
	alpha    float32 // LeakyReLU slope for x ≤ 0; HardSigmoid slope
	bias     float32 // HardSigmoid offset
	levels   float64 // Quant
	size     int
	x, y     []float32
	dy, dx   []float32
	fwdFn    func(w, lo, hi int)
	bwdFn    func(w, lo, hi int)
}

func newElementwise(p *pool, op int, l *graph.Node) *elementwise {
	e := &elementwise{p: p, op: op, min: l.Min, max: l.Max, alpha: l.Alpha, bias: l.Bias, levels: float64(l.Levels), size: graph.Size(l.InShape)}
	e.fwdFn, e.bwdFn = e.fwdRange, e.bwdRange
	return e
}

func (e *elementwise) alias(bool) bool  { return false }
func (e *elementwise) params() []*Param { return nil }

func (e *elementwise) forward(x, y []float32, n int, train bool) {
	e.x, e.y = x, y
	e.p.run(n, e.fwdFn)
	e.x, e.y = nil, nil
}

func (e *elementwise) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	e.x, e.y, e.dy, e.dx = x, y, dy, dx
	e.p.run(n, e.bwdFn)
	e.x, e.y, e.dy, e.dx = nil, nil, nil, nil
}

func (e *elementwise) fwdRange(w, lo, hi int) {
	x, y := e.x[lo*e.size:hi*e.size], e.y[lo*e.size:hi*e.size]
	switch e.op {
	case opReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case opClip:
		for i, v := range x {
			y[i] = min(max(v, e.min), e.max)
		}
	case opLeakyReLU:
		// x if x > 0, else Alpha·x (PyTorch's leaky_relu), branch-free as
		// ReLU's backward: a mask from a conditional move selects the bits.
		y = y[:len(x)]
		a := e.alpha
		for i, v := range x {
			var m uint32
			if v > 0 {
				m = ^uint32(0)
			}
			y[i] = math.Float32frombits(math.Float32bits(v)&m | math.Float32bits(a*v)&^m)
		}
	case opTanh:
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case opSigmoid:
		for i, v := range x {
			y[i] = float32(sigmoid(float64(v)))
		}
	case opHardSigmoid:
		for i, v := range x {
			y[i] = min(max(e.alpha*v+e.bias, 0), 1)
		}
	case opHardSwish:
		for i, v := range x {
			y[i] = float32(float64(v) * min(max(float64(v)/6+0.5, 0), 1))
		}
	case opSiLU:
		for i, v := range x {
			y[i] = float32(float64(v) * sigmoid(float64(v)))
		}
	case opQuant:
		// The level in float64, as the spiking neuron's ⌊T·u + ½⌋.
		for i, v := range x {
			q := float32(math.Floor(float64(v)*e.levels+0.5) / e.levels)
			y[i] = min(max(q, e.min), e.max)
		}
	}
}

// sigmoid is 1/(1+e^−x), without overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	z := math.Exp(x)
	return z / (1 + z)
}

// bwdRange passes the gradient where the input is strictly inside the linear
// region (ReLU: x > 0; Clip: Min < x < Max), as PyTorch's relu and hardtanh;
// LeakyReLU passes it where x > 0 and scales it by Alpha elsewhere (at 0
// too), as PyTorch's leaky_relu.
func (e *elementwise) bwdRange(w, lo, hi int) {
	x := e.x[lo*e.size : hi*e.size]
	dy, dx := e.dy[lo*e.size:hi*e.size], e.dx[lo*e.size:hi*e.size]
	switch e.op {
	case opReLU:
		// Branch-free (a conditional move builds the mask): the sign of
		// a pre-activation is a coin flip the branch predictor loses.
		dy = dy[:len(x)]
		dx = dx[:len(x)]
		for i, v := range x {
			var m uint32
			if v > 0 {
				m = ^uint32(0)
			}
			dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
		}
	case opLeakyReLU:
		dy = dy[:len(x)]
		dx = dx[:len(x)]
		a := e.alpha
		for i, v := range x {
			var m uint32
			if v > 0 {
				m = ^uint32(0)
			}
			g := dy[i]
			dx[i] = math.Float32frombits(math.Float32bits(g)&m | math.Float32bits(a*g)&^m)
		}
	case opClip:
		for i, v := range x {
			if v > e.min && v < e.max {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case opTanh: // 1 − y²
		y := e.y[lo*e.size : hi*e.size]
		for i, v := range y {
			dx[i] = float32(float64(dy[i]) * (1 - float64(v)*float64(v)))
		}
	case opSigmoid: // y(1 − y)
		y := e.y[lo*e.size : hi*e.size]
		for i, v := range y {
			dx[i] = float32(float64(dy[i]) * float64(v) * (1 - float64(v)))
		}
	case opHardSigmoid: // Alpha strictly inside the linear region, as PyTorch
		for i, v := range x {
			if t := e.alpha*v + e.bias; t > 0 && t < 1 {
				dx[i] = dy[i] * e.alpha
			} else {
				dx[i] = 0
			}
		}
	case opHardSwish: // 0 below −3, x/3 + ½ up to 3, 1 above (PyTorch)
		for i, v := range x {
			switch {
			case v < -3:
				dx[i] = 0
			case v <= 3:
				dx[i] = float32(float64(dy[i]) * (float64(v)/3 + 0.5))
			default:
				dx[i] = dy[i]
			}
		}
	case opQuant:
		// Straight through inside (Min, Max); at or above Max only a
		// gradient that lowers the value (dy > 0: descent subtracts it),
		// so that a saturated neuron — one that fires early in the SNN —
		// is pulled back but not pushed further; none at or below Min,
		// as ReLU's.
		for i, v := range x {
			if v > e.min && (v < e.max || dy[i] > 0) {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case opSiLU: // s(1 + x(1 − s)), s = sigmoid(x)
		for i, v := range x {
			s := sigmoid(float64(v))
			dx[i] = float32(float64(dy[i]) * s * (1 + float64(v)*(1-s)))
		}
	}
}

// flatten only reshapes (Flatten, Reshape): its output is its input.
type flatten struct{}

func (flatten) alias(bool) bool                        { return true }
func (flatten) params() []*Param                       { return nil }
func (flatten) forward(x, y []float32, n int, _ bool)  {}
func (flatten) backward(x, y, dy, dx []float32, n int) {}

// dropout is inverted dropout: in training each value is kept with
// probability 1−Ratio and scaled by 1/(1−Ratio); outside training it is the
// identity (an alias). The mask comes from a PCG generator seeded with
// (Net seed, hash of training step and layer index), drawn sequentially over
// the whole batch, so it does not depend on the worker count.
type dropout struct {
	net   *Net
	idx   int
	ratio float32
	mask  []float32
	rng   rand.PCG
}

func (d *dropout) alias(train bool) bool { return !train || d.ratio == 0 }
func (d *dropout) params() []*Param      { return nil }

func (d *dropout) forward(x, y []float32, n int, train bool) {
	if len(d.mask) < len(x) {
		d.mask = make([]float32, len(x))
	}
	mask := d.mask[:len(x)]
	d.rng.Seed(d.net.seed, splitmix(d.net.step<<16^uint64(d.idx)))
	keep := 1 - float64(d.ratio)
	thr := uint64(keep * (1 << 53))
	scale := float32(0)
	if keep > 0 {
		scale = float32(1 / keep)
	}
	for i := range mask {
		if d.rng.Uint64()>>11 < thr {
			mask[i] = scale
		} else {
			mask[i] = 0
		}
	}
	for i, v := range x {
		y[i] = v * mask[i]
	}
}

func (d *dropout) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	for i, v := range dy[:len(x)] {
		dx[i] = v * d.mask[i]
	}
}

// splitmix is the SplitMix64 finalizer, used to spread seeds.
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// affine is graph.Affine: y[c,·] = x[c,·]·scale[c] + shift[c] per channel of
// a [C, H, W] sample, or y[i] = x[i]·scale[i] + shift[i] per element (then
// c is the sample size and hw 1), split over the batch. The product is rounded to
// float32 before the addition (no fused multiply-add), as snn's analog
// layer computes it, so both see the same transformed input. scale and
// shift are fixed (no parameters); backward passes dx = dy·scale[c].
type affine struct {
	p            *pool
	scale, shift []float32
	c, hw        int
	x, y         []float32
	dy, dx       []float32
	fwdFn, bwdFn func(w, lo, hi int)
}

func newAffine(p *pool, l *graph.Node) *affine {
	a := &affine{p: p, scale: l.Scale, shift: l.Shift, c: l.InShape[0], hw: graph.Size(l.InShape) / l.InShape[0]}
	if l.PerElement() { // one "channel" per element
		a.c, a.hw = graph.Size(l.InShape), 1
	}
	a.fwdFn, a.bwdFn = a.fwdRange, a.bwdRange
	return a
}

func (a *affine) alias(bool) bool  { return false }
func (a *affine) params() []*Param { return nil }

func (a *affine) forward(x, y []float32, n int, train bool) {
	a.x, a.y = x, y
	a.p.run(n, a.fwdFn)
	a.x, a.y = nil, nil
}

func (a *affine) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	a.dy, a.dx = dy, dx
	a.p.run(n, a.bwdFn)
	a.dy, a.dx = nil, nil
}

func (a *affine) fwdRange(w, lo, hi int) {
	if a.hw == 1 { // per element
		for s := lo; s < hi; s++ {
			x, y := a.x[s*a.c:(s+1)*a.c], a.y[s*a.c:(s+1)*a.c]
			sc, sh := a.scale[:len(x)], a.shift[:len(x)]
			for i, v := range x {
				y[i] = float32(v*sc[i]) + sh[i]
			}
		}
		return
	}
	for s := lo; s < hi; s++ {
		for c := 0; c < a.c; c++ {
			off := (s*a.c + c) * a.hw
			x, y := a.x[off:off+a.hw], a.y[off:off+a.hw]
			sc, sh := a.scale[c], a.shift[c]
			for i, v := range x {
				y[i] = float32(v*sc) + sh
			}
		}
	}
}

func (a *affine) bwdRange(w, lo, hi int) {
	if a.hw == 1 { // per element
		for s := lo; s < hi; s++ {
			dy, dx := a.dy[s*a.c:(s+1)*a.c], a.dx[s*a.c:(s+1)*a.c]
			sc := a.scale[:len(dy)]
			for i, v := range dy {
				dx[i] = v * sc[i]
			}
		}
		return
	}
	for s := lo; s < hi; s++ {
		for c := 0; c < a.c; c++ {
			off := (s*a.c + c) * a.hw
			dy, dx := a.dy[off:off+a.hw], a.dx[off:off+a.hw]
			sc := a.scale[c]
			for i, v := range dy {
				dx[i] = v * sc
			}
		}
	}
}
