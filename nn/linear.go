package nn

import (
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/gemm"
)

// linear is y = x·Wᵀ + b over the batch: X [n, In], W [Out, In], Y [n, Out].
// Workers take contiguous row blocks of the batch; backward computes
// dX = dY·W per block and dW = dYᵀ·X into per-worker partials that are
// reduced in worker order.
type linear struct {
	p        *pool
	in, out  int
	wt, bias []float32
	wp, bp   *Param
	dw, db   [][]float32
	x, y     []float32
	dy, dx   []float32
	fwdFn    func(w, lo, hi int)
	bwdFn    func(w, lo, hi int)
}

func newLinear(p *pool, idx int, l *graph.Node) *linear {
	f := &linear{p: p, out: l.WShape[0], in: l.WShape[1], wt: l.W, bias: l.B}
	f.wp = &Param{Layer: idx, Name: l.Name + ".weight", Data: l.W, Decay: true}
	if l.B != nil {
		f.bp = &Param{Layer: idx, Name: l.Name + ".bias", Data: l.B}
	}
	f.fwdFn, f.bwdFn = f.fwdRange, f.bwdRange
	return f
}

func (f *linear) alias(bool) bool { return false }

func (f *linear) params() []*Param {
	if f.bp != nil {
		return []*Param{f.wp, f.bp}
	}
	return []*Param{f.wp}
}

func (f *linear) forward(x, y []float32, n int, train bool) {
	f.x, f.y = x, y
	f.p.run(n, f.fwdFn)
	f.x, f.y = nil, nil
}

func (f *linear) fwdRange(w, lo, hi int) {
	if lo == hi {
		return
	}
	y := f.y[lo*f.out : hi*f.out]
	gemm.Sgemm(false, true, hi-lo, f.out, f.in, 1, f.x[lo*f.in:], f.in, f.wt, f.in, 0, y, f.out)
	if f.bias != nil {
		for r := 0; r < hi-lo; r++ {
			row := y[r*f.out : (r+1)*f.out]
			for i, b := range f.bias {
				row[i] += b
			}
		}
	}
}

func (f *linear) backward(x, y, dy, dx []float32, n int) {
	if f.dw == nil { // per-worker partials: on the first backward
		for range f.p.workers {
			f.dw = append(f.dw, make([]float32, len(f.wt)))
			f.db = append(f.db, make([]float32, f.out))
		}
	}
	f.x, f.dy, f.dx = x, dy, dx
	f.p.run(n, f.bwdFn)
	f.x, f.dy, f.dx = nil, nil, nil
	for w := range f.dw {
		lo, hi := f.p.split(n, w)
		if lo == hi {
			continue
		}
		addTo(f.wp.Grad, f.dw[w])
		if f.bp != nil {
			addTo(f.bp.Grad, f.db[w])
		}
	}
}

func (f *linear) bwdRange(w, lo, hi int) {
	if lo == hi {
		return
	}
	m := hi - lo
	dy := f.dy[lo*f.out : hi*f.out]
	gemm.Sgemm(true, false, f.out, f.in, m, 1, dy, f.out, f.x[lo*f.in:], f.in, 0, f.dw[w], f.in)
	if f.bp != nil {
		db := f.db[w]
		clear(db)
		for r := 0; r < m; r++ {
			for i, v := range dy[r*f.out : (r+1)*f.out] {
				db[i] += v
			}
		}
	}
	if f.dx != nil {
		gemm.Sgemm(false, false, m, f.in, f.out, 1, dy, f.out, f.wt, f.in, 0, f.dx[lo*f.in:], f.in)
	}
}
