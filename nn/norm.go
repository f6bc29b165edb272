package nn

import (
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// Softmax, LayerNorm and LRN: per-sample ops that mix the values of a
// sample. Each splits the batch over the workers; sums run in float64.

// strides returns, for a per-sample shape split at axis a, the product of
// the dimensions before it, the dimension itself and the product after.
func strides(shape []int, a int) (outer, dim, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:a] {
		outer *= d
	}
	for _, d := range shape[a+1:] {
		inner *= d
	}
	return outer, shape[a], inner
}

// softmax is graph.Softmax along Axis of the per-sample shape:
// y = exp(x − max)/Σ exp(x − max). Backward: dx = y·(dy − Σ dy·y).
type softmax struct {
	p                 *pool
	size              int
	outer, dim, inner int
	x, y, dy, dx      []float32
	fwdFn, bwdFn      func(w, lo, hi int)
}

func newSoftmax(p *pool, l *graph.Node) *softmax {
	s := &softmax{p: p, size: graph.Size(l.InShape)}
	s.outer, s.dim, s.inner = strides(l.InShape, l.Axis)
	s.fwdFn, s.bwdFn = s.fwdRange, s.bwdRange
	return s
}

func (s *softmax) alias(bool) bool  { return false }
func (s *softmax) params() []*Param { return nil }

func (s *softmax) forward(x, y []float32, n int, train bool) {
	s.x, s.y = x, y
	s.p.run(n, s.fwdFn)
	s.x, s.y = nil, nil
}

func (s *softmax) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	s.y, s.dy, s.dx = y, dy, dx
	s.p.run(n, s.bwdFn)
	s.y, s.dy, s.dx = nil, nil, nil
}

func (s *softmax) fwdRange(w, lo, hi int) {
	for smp := lo; smp < hi; smp++ {
		x, y := s.x[smp*s.size:(smp+1)*s.size], s.y[smp*s.size:(smp+1)*s.size]
		for o := 0; o < s.outer; o++ {
			for in := 0; in < s.inner; in++ {
				base := o*s.dim*s.inner + in
				m := float32(math.Inf(-1))
				for d := 0; d < s.dim; d++ {
					m = max(m, x[base+d*s.inner])
				}
				var sum float64
				for d := 0; d < s.dim; d++ {
					sum += math.Exp(float64(x[base+d*s.inner] - m))
				}
				for d := 0; d < s.dim; d++ {
					i := base + d*s.inner
					y[i] = float32(math.Exp(float64(x[i]-m)) / sum)
				}
			}
		}
	}
}

func (s *softmax) bwdRange(w, lo, hi int) {
	for smp := lo; smp < hi; smp++ {
		off := smp * s.size
		y, dy, dx := s.y[off:off+s.size], s.dy[off:off+s.size], s.dx[off:off+s.size]
		for o := 0; o < s.outer; o++ {
			for in := 0; in < s.inner; in++ {
				base := o*s.dim*s.inner + in
				var dot float64
				for d := 0; d < s.dim; d++ {
					i := base + d*s.inner
					dot += float64(dy[i]) * float64(y[i])
				}
				for d := 0; d < s.dim; d++ {
					i := base + d*s.inner
					dx[i] = float32(float64(y[i]) * (float64(dy[i]) - dot))
				}
			}
		}
	}
}

// layerNorm is graph.LayerNorm: per sample and per position of the axes not
// in Axes, y = (x − mean)/√(var + Eps) over the Axes, population variance,
// no scale or bias. perm lists a sample's element offsets group by group
// (a group is one normalized set, gsize elements). Backward:
// dx = rstd·(dy − mean(dy) − y·mean(dy·y)).
type layerNorm struct {
	p            *pool
	size, gsize  int
	groups       int
	perm         []int32
	eps          float64
	rstd         []float64 // [n, groups] of the last forward
	x, y, dy, dx []float32
	fwdFn, bwdFn func(w, lo, hi int)
}

func newLayerNorm(p *pool, l *graph.Node) *layerNorm {
	shape := l.InShape
	ln := &layerNorm{p: p, size: graph.Size(shape), eps: float64(l.Eps)}
	norm := make([]bool, len(shape))
	ln.gsize = 1
	for _, a := range l.Axes {
		norm[a] = true
		ln.gsize *= shape[a]
	}
	ln.groups = ln.size / ln.gsize
	// Row-major strides; the group index runs over the kept axes, the
	// position within a group over the normalized ones, both row-major.
	stride := make([]int, len(shape))
	st := 1
	for a := len(shape) - 1; a >= 0; a-- {
		stride[a] = st
		st *= shape[a]
	}
	ln.perm = make([]int32, ln.size)
	idx := make([]int, len(shape))
	for e := 0; e < ln.size; e++ {
		// idx is the multi-index of element e (row-major).
		r := e
		for a := len(shape) - 1; a >= 0; a-- {
			idx[a] = r % shape[a]
			r /= shape[a]
		}
		g, k := 0, 0
		for a := range shape {
			if norm[a] {
				k = k*shape[a] + idx[a]
			} else {
				g = g*shape[a] + idx[a]
			}
		}
		off := 0
		for a := range shape {
			off += idx[a] * stride[a]
		}
		ln.perm[g*ln.gsize+k] = int32(off)
	}
	ln.fwdFn, ln.bwdFn = ln.fwdRange, ln.bwdRange
	return ln
}

func (ln *layerNorm) alias(bool) bool  { return false }
func (ln *layerNorm) params() []*Param { return nil }

func (ln *layerNorm) forward(x, y []float32, n int, train bool) {
	if len(ln.rstd) < n*ln.groups {
		ln.rstd = make([]float64, n*ln.groups)
	}
	ln.x, ln.y = x, y
	ln.p.run(n, ln.fwdFn)
	ln.x, ln.y = nil, nil
}

func (ln *layerNorm) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	ln.y, ln.dy, ln.dx = y, dy, dx
	ln.p.run(n, ln.bwdFn)
	ln.y, ln.dy, ln.dx = nil, nil, nil
}

func (ln *layerNorm) fwdRange(w, lo, hi int) {
	cnt := float64(ln.gsize)
	for smp := lo; smp < hi; smp++ {
		off := smp * ln.size
		x, y := ln.x[off:off+ln.size], ln.y[off:off+ln.size]
		for g := 0; g < ln.groups; g++ {
			perm := ln.perm[g*ln.gsize : (g+1)*ln.gsize]
			var s float64
			for _, i := range perm {
				s += float64(x[i])
			}
			mean := s / cnt
			var ss float64
			for _, i := range perm {
				d := float64(x[i]) - mean
				ss += d * d
			}
			rstd := 1 / math.Sqrt(ss/cnt+ln.eps)
			ln.rstd[smp*ln.groups+g] = rstd
			for _, i := range perm {
				y[i] = float32((float64(x[i]) - mean) * rstd)
			}
		}
	}
}

func (ln *layerNorm) bwdRange(w, lo, hi int) {
	cnt := float64(ln.gsize)
	for smp := lo; smp < hi; smp++ {
		off := smp * ln.size
		y, dy, dx := ln.y[off:off+ln.size], ln.dy[off:off+ln.size], ln.dx[off:off+ln.size]
		for g := 0; g < ln.groups; g++ {
			perm := ln.perm[g*ln.gsize : (g+1)*ln.gsize]
			var sdy, sdyy float64
			for _, i := range perm {
				sdy += float64(dy[i])
				sdyy += float64(dy[i]) * float64(y[i])
			}
			mdy, mdyy := sdy/cnt, sdyy/cnt
			rstd := ln.rstd[smp*ln.groups+g]
			for _, i := range perm {
				dx[i] = float32(rstd * (float64(dy[i]) - mdy - float64(y[i])*mdyy))
			}
		}
	}
}

// lrn is graph.LRN across channels (axis 0 of the per-sample shape):
// s_c = Bias + Alpha/Size·Σ_{c' in window(c)} x_c'², y_c = x_c·s_c^−Power,
// window(c) = c−⌊(Size−1)/2⌋ … c+⌈(Size−1)/2⌉ clipped to the channels.
// Backward: dx_k = dy_k·s_k^−Power − 2·Power·Alpha/Size·x_k·Σ_{c: k in
// window(c)} dy_c·y_c/s_c.
type lrn struct {
	p                  *pool
	c, hw, size        int
	lo, hi             int // window c−lo … c+hi
	alpha, power, bias float64
	s                  []float32 // s_c of the last forward, [n, size]
	x, y, dy, dx       []float32
	fwdFn, bwdFn       func(w, lo, hi int)
}

func newLRN(p *pool, l *graph.Node) *lrn {
	size := graph.Size(l.InShape)
	r := &lrn{p: p, c: l.InShape[0], hw: size / l.InShape[0], size: size,
		lo: (l.Size - 1) / 2, hi: l.Size / 2, // ⌈(Size−1)/2⌉ = ⌊Size/2⌋
		alpha: float64(l.Alpha) / float64(l.Size), power: float64(l.Power), bias: float64(l.Bias)}
	r.fwdFn, r.bwdFn = r.fwdRange, r.bwdRange
	return r
}

func (r *lrn) alias(bool) bool  { return false }
func (r *lrn) params() []*Param { return nil }

func (r *lrn) forward(x, y []float32, n int, train bool) {
	if len(r.s) < n*r.size {
		r.s = make([]float32, n*r.size)
	}
	r.x, r.y = x, y
	r.p.run(n, r.fwdFn)
	r.x, r.y = nil, nil
}

func (r *lrn) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	r.x, r.y, r.dy, r.dx = x, y, dy, dx
	r.p.run(n, r.bwdFn)
	r.x, r.y, r.dy, r.dx = nil, nil, nil, nil
}

func (r *lrn) fwdRange(w, lo, hi int) {
	for smp := lo; smp < hi; smp++ {
		off := smp * r.size
		x, y, s := r.x[off:off+r.size], r.y[off:off+r.size], r.s[off:off+r.size]
		for c := 0; c < r.c; c++ {
			c0, c1 := max(c-r.lo, 0), min(c+r.hi, r.c-1)
			for p := 0; p < r.hw; p++ {
				var sq float64
				for k := c0; k <= c1; k++ {
					v := float64(x[k*r.hw+p])
					sq += v * v
				}
				i := c*r.hw + p
				sv := r.bias + r.alpha*sq
				s[i] = float32(sv)
				y[i] = float32(float64(x[i]) * math.Pow(sv, -r.power))
			}
		}
	}
}

func (r *lrn) bwdRange(w, lo, hi int) {
	for smp := lo; smp < hi; smp++ {
		off := smp * r.size
		x, y, s := r.x[off:off+r.size], r.y[off:off+r.size], r.s[off:off+r.size]
		dy, dx := r.dy[off:off+r.size], r.dx[off:off+r.size]
		for k := 0; k < r.c; k++ {
			// k is in window(c) for c in k−hi … k+lo.
			c0, c1 := max(k-r.hi, 0), min(k+r.lo, r.c-1)
			for p := 0; p < r.hw; p++ {
				var t float64
				for c := c0; c <= c1; c++ {
					j := c*r.hw + p
					t += float64(dy[j]) * float64(y[j]) / float64(s[j])
				}
				i := k*r.hw + p
				dx[i] = float32(float64(dy[i])*math.Pow(float64(s[i]), -r.power) -
					2*r.power*r.alpha*float64(x[i])*t)
			}
		}
	}
}
