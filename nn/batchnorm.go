package nn

import (
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// BNMomentum is the weight of the batch statistic in BatchNorm's running
// average update (PyTorch's default): running = (1−m)·running + m·batch.
const BNMomentum = 0.1

// batchNorm normalizes per channel over [C, H·W] samples (BatchNorm2d, or
// BatchNorm1d on [C] features with H·W = 1). Work is split over channels, and
// every channel's sums run over the batch in sample order, so results do not
// depend on the worker count. Sums are accumulated in float64.
//
// Training: mean and biased variance of the batch normalize x; the running
// mean and the unbiased (m/(m−1)) batch variance, m = n·H·W, enter the
// running statistics with momentum BNMomentum (RecomputeBatchNorm changes
// it for its pass). Eval: running statistics.
type batchNorm struct {
	p            *pool
	mom          *float64 // the Net's momentum for the running statistics
	c, hw        int
	l            *graph.Node
	gp, bp       *Param
	mean, invstd []float32 // statistics the last forward normalized with
	train        bool
	n            int
	x, y, dy, dx []float32
	fwdFn, bwdFn func(w, lo, hi int)
}

func newBatchNorm(p *pool, mom *float64, idx int, l *graph.Node) (*batchNorm, error) {
	in := l.InShape
	if len(in) != 1 && len(in) != 3 {
		return nil, fmt.Errorf("input shape %v: want [C] or [C H W]", in)
	}
	if !(l.Eps >= 0) {
		return nil, fmt.Errorf("eps %v", l.Eps)
	}
	b := &batchNorm{p: p, mom: mom, c: in[0], hw: graph.Size(in) / in[0], l: l}
	b.gp = &Param{Layer: idx, Name: l.Name + ".gamma", Data: l.Gamma, Grad: make([]float32, b.c)}
	b.bp = &Param{Layer: idx, Name: l.Name + ".beta", Data: l.Beta, Grad: make([]float32, b.c)}
	b.mean = make([]float32, b.c)
	b.invstd = make([]float32, b.c)
	b.fwdFn, b.bwdFn = b.fwdRange, b.bwdRange
	return b, nil
}

func (b *batchNorm) alias(bool) bool  { return false }
func (b *batchNorm) params() []*Param { return []*Param{b.gp, b.bp} }

func (b *batchNorm) forward(x, y []float32, n int, train bool) {
	b.x, b.y, b.n, b.train = x, y, n, train
	b.p.run(b.c, b.fwdFn)
	b.x, b.y = nil, nil
}

func (b *batchNorm) backward(x, y, dy, dx []float32, n int) {
	b.x, b.dy, b.dx, b.n = x, dy, dx, n
	b.p.run(b.c, b.bwdFn)
	b.x, b.dy, b.dx = nil, nil, nil
}

func (b *batchNorm) fwdRange(_, lo, hi int) {
	l, n, hw, cs := b.l, b.n, b.hw, b.c*b.hw
	for c := lo; c < hi; c++ {
		var mean, invstd float64
		if b.train {
			var s float64
			for i := 0; i < n; i++ {
				for _, v := range b.x[i*cs+c*hw : i*cs+(c+1)*hw] {
					s += float64(v)
				}
			}
			m := float64(n * hw)
			mean = s / m
			var ss float64
			for i := 0; i < n; i++ {
				for _, v := range b.x[i*cs+c*hw : i*cs+(c+1)*hw] {
					d := float64(v) - mean
					ss += d * d
				}
			}
			vr := ss / m
			invstd = 1 / math.Sqrt(vr+float64(l.Eps))
			unbiased := vr
			if m > 1 {
				unbiased = ss / (m - 1)
			}
			mom := *b.mom
			l.Mean[c] = float32((1-mom)*float64(l.Mean[c]) + mom*mean)
			l.Var[c] = float32((1-mom)*float64(l.Var[c]) + mom*unbiased)
		} else {
			mean = float64(l.Mean[c])
			invstd = 1 / math.Sqrt(float64(l.Var[c])+float64(l.Eps))
		}
		b.mean[c], b.invstd[c] = float32(mean), float32(invstd)
		scale := float32(float64(l.Gamma[c]) * invstd)
		shift := float32(float64(l.Beta[c]) - float64(l.Gamma[c])*invstd*mean)
		for i := 0; i < n; i++ {
			x := b.x[i*cs+c*hw : i*cs+(c+1)*hw]
			y := b.y[i*cs+c*hw : i*cs+(c+1)*hw]
			for j, v := range x {
				y[j] = v*scale + shift
			}
		}
	}
}

// bwdRange: with x̂ = (x−mean)·invstd, dγ = Σ dy·x̂, dβ = Σ dy, and
// dx = γ·invstd·(dy − dβ/m − x̂·dγ/m) in training (batch statistics depend
// on x) or dx = γ·invstd·dy in eval.
func (b *batchNorm) bwdRange(_, lo, hi int) {
	n, hw, cs := b.n, b.hw, b.c*b.hw
	for c := lo; c < hi; c++ {
		mean, invstd := b.mean[c], float64(b.invstd[c])
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			x := b.x[i*cs+c*hw : i*cs+(c+1)*hw]
			dy := b.dy[i*cs+c*hw : i*cs+(c+1)*hw]
			for j, v := range x {
				d := float64(dy[j])
				sdy += d
				sdyx += d * float64(v-mean)
			}
		}
		sdyx *= invstd // Σ dy·x̂
		b.gp.Grad[c] += float32(sdyx)
		b.bp.Grad[c] += float32(sdy)
		if b.dx == nil {
			continue
		}
		k := float64(b.l.Gamma[c]) * invstd
		var a, bb, cc float32 // dx = a·dy + bb·(x−mean) + cc
		if b.train {
			m := float64(n * hw)
			a = float32(k)
			bb = float32(-k * sdyx / m * invstd)
			cc = float32(-k * sdy / m)
		} else {
			a = float32(k)
		}
		for i := 0; i < n; i++ {
			x := b.x[i*cs+c*hw : i*cs+(c+1)*hw]
			dy := b.dy[i*cs+c*hw : i*cs+(c+1)*hw]
			dx := b.dx[i*cs+c*hw : i*cs+(c+1)*hw]
			for j, v := range x {
				dx[j] = a*dy[j] + bb*(v-mean) + cc
			}
		}
	}
}
