package nn

import (
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// pool2d is MaxPool or AvgPool over [C, H, W] per sample, split over the
// batch. Windows start at o·stride − padBegin and are clipped to the input;
// with ceil mode the last window may hang over the end.
//
// MaxPool records, for every output, the index of the winning input within
// the sample (the first maximum in row-major window order; NaN wins) and
// backward adds dy there. A window that covers no input (only possible with
// padding at least the kernel size) outputs 0 and passes no gradient.
//
// AvgPool divides as PyTorch's avg_pool2d: the window is first clipped to
// the padded extent [−padBegin, size+padEnd), then to the input;
// CountIncludePad divides by the first area, otherwise by the second.
type pool2d struct {
	p              *pool
	isMax          bool
	inclPad        bool
	c, h, w        int
	oh, ow         int
	kh, kw, sh, sw int
	pt, pl, pb, pr int
	idx            []int32   // argmax of every output, for backward (training)
	eidx           [][]int32 // inference: per worker, one sample's argmax (discarded)
	infer          bool      // set by Net.infer: no backward follows
	keep           bool      // this forward keeps idx
	x, y           []float32
	dy, dx         []float32
	fwdFn, bwdFn   func(w, lo, hi int)
}

func newPool2d(p *pool, l *graph.Node) *pool2d {
	q := &pool2d{
		p: p, isMax: l.Op == graph.MaxPool, inclPad: l.CountIncludePad,
		c: l.InShape[0], h: l.InShape[1], w: l.InShape[2],
		oh: l.OutShape[1], ow: l.OutShape[2],
		kh: l.Kernel[0], kw: l.Kernel[1], sh: l.Stride[0], sw: l.Stride[1],
		pt: l.Pad[0], pl: l.Pad[1], pb: l.Pad[2], pr: l.Pad[3],
	}
	q.fwdFn, q.bwdFn = q.fwdRange, q.bwdRange
	return q
}

func (q *pool2d) alias(bool) bool  { return false }
func (q *pool2d) params() []*Param { return nil }

func (q *pool2d) forward(x, y []float32, n int, train bool) {
	q.keep = !q.infer
	if q.isMax && q.keep && len(q.idx) < len(y) {
		q.idx = make([]int32, len(y))
	}
	if q.isMax && !q.keep && q.eidx == nil {
		q.eidx = make([][]int32, q.p.workers)
		for w := range q.eidx {
			q.eidx[w] = make([]int32, q.c*q.oh*q.ow)
		}
	}
	q.x, q.y = x, y
	q.p.run(n, q.fwdFn)
	q.x, q.y = nil, nil
}

func (q *pool2d) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	q.dy, q.dx = dy, dx
	q.p.run(n, q.bwdFn)
	q.dy, q.dx = nil, nil
}

// window returns the clipped window of output (oy, ox) and the AvgPool
// divisor.
func (q *pool2d) window(oy, ox int) (y0, y1, x0, x1 int, div float32) {
	y0, x0 = oy*q.sh-q.pt, ox*q.sw-q.pl
	y1, x1 = min(y0+q.kh, q.h+q.pb), min(x0+q.kw, q.w+q.pr)
	area := (y1 - y0) * (x1 - x0)
	y0, x0 = max(y0, 0), max(x0, 0)
	y1, x1 = min(y1, q.h), min(x1, q.w)
	if y1 < y0 {
		y1 = y0
	}
	if x1 < x0 {
		x1 = x0
	}
	if !q.inclPad {
		area = (y1 - y0) * (x1 - x0)
	}
	if area > 0 {
		div = float32(area)
	}
	return
}

func (q *pool2d) fwdRange(w, lo, hi int) {
	inS, outS := q.c*q.h*q.w, q.c*q.oh*q.ow
	for s := lo; s < hi; s++ {
		x, y := q.x[s*inS:(s+1)*inS], q.y[s*outS:(s+1)*outS]
		var idx []int32
		if q.isMax {
			if q.keep {
				idx = q.idx[s*outS : (s+1)*outS]
			} else {
				idx = q.eidx[w]
			}
		}
		switch {
		case q.isMax && q.kh == 2 && q.kw == 2 && q.sh == 2 && q.sw == 2 &&
			q.pt == 0 && q.pl == 0 && 2*q.oh <= q.h && 2*q.ow <= q.w:
			q.max2x2(x, y, idx)
		case q.isMax:
			q.maxGeneric(x, y, idx)
		default:
			q.avg(x, y)
		}
	}
}

// max2x2 is the common 2×2 stride-2 unpadded max pool with every window
// inside the input. Comparisons run in the generic order (row-major, first
// maximum wins, a NaN wins and stays).
func (q *pool2d) max2x2(x, y []float32, idx []int32) {
	hw, w, ow := q.h*q.w, q.w, q.ow
	o := 0
	for ch := 0; ch < q.c; ch++ {
		for oy := 0; oy < q.oh; oy++ {
			r0 := ch*hw + 2*oy*w
			row0, row1 := x[r0:r0+w], x[r0+w:r0+2*w]
			yy, ii := y[o:o+ow], idx[o:o+ow]
			for ox := range yy {
				i := 2 * ox
				best, bi := row0[i], r0+i
				if v := row0[i+1]; best == best && (v > best || v != v) {
					best, bi = v, r0+i+1
				}
				if v := row1[i]; best == best && (v > best || v != v) {
					best, bi = v, r0+w+i
				}
				if v := row1[i+1]; best == best && (v > best || v != v) {
					best, bi = v, r0+w+i+1
				}
				yy[ox], ii[ox] = best, int32(bi)
			}
			o += ow
		}
	}
}

func (q *pool2d) maxGeneric(x, y []float32, idx []int32) {
	hw := q.h * q.w
	negInf := float32(math.Inf(-1))
	o := 0
	for ch := 0; ch < q.c; ch++ {
		base := ch * hw
		for oy := 0; oy < q.oh; oy++ {
			for ox := 0; ox < q.ow; ox++ {
				y0, y1, x0, x1, _ := q.window(oy, ox)
				best, bi := negInf, int32(-1)
				for iy := y0; iy < y1; iy++ {
					row := base + iy*q.w
					for ix := x0; ix < x1; ix++ {
						v := x[row+ix]
						if bi < 0 || (best == best && (v > best || v != v)) {
							best, bi = v, int32(row+ix)
						}
					}
				}
				if bi < 0 {
					best = 0
				}
				y[o], idx[o] = best, bi
				o++
			}
		}
	}
}

func (q *pool2d) avg(x, y []float32) {
	hw := q.h * q.w
	o := 0
	for ch := 0; ch < q.c; ch++ {
		base := ch * hw
		for oy := 0; oy < q.oh; oy++ {
			for ox := 0; ox < q.ow; ox++ {
				y0, y1, x0, x1, div := q.window(oy, ox)
				var sum float32
				for iy := y0; iy < y1; iy++ {
					for _, v := range x[base+iy*q.w+x0 : base+iy*q.w+x1] {
						sum += v
					}
				}
				if div > 0 {
					sum /= div
				}
				y[o] = sum
				o++
			}
		}
	}
}

func (q *pool2d) bwdRange(_, lo, hi int) {
	inS, outS := q.c*q.h*q.w, q.c*q.oh*q.ow
	hw := q.h * q.w
	for s := lo; s < hi; s++ {
		dx, dy := q.dx[s*inS:(s+1)*inS], q.dy[s*outS:(s+1)*outS]
		clear(dx)
		if q.isMax {
			for o, i := range q.idx[s*outS : (s+1)*outS] {
				if i >= 0 {
					dx[i] += dy[o]
				}
			}
			continue
		}
		o := 0
		for ch := 0; ch < q.c; ch++ {
			base := ch * hw
			for oy := 0; oy < q.oh; oy++ {
				for ox := 0; ox < q.ow; ox++ {
					y0, y1, x0, x1, div := q.window(oy, ox)
					if div > 0 {
						g := dy[o] / div
						for iy := y0; iy < y1; iy++ {
							row := dx[base+iy*q.w+x0 : base+iy*q.w+x1]
							for i := range row {
								row[i] += g
							}
						}
					}
					o++
				}
			}
		}
	}
}

// gap is global average pooling: [C, H, W] → [C, 1, 1].
type gap struct {
	c, hw        int
	p            *pool
	x, y, dy, dx []float32
	fwdFn, bwdFn func(w, lo, hi int)
}

func (g *gap) alias(bool) bool  { return false }
func (g *gap) params() []*Param { return nil }

func (g *gap) forward(x, y []float32, n int, train bool) {
	if g.fwdFn == nil {
		g.fwdFn, g.bwdFn = g.fwdRange, g.bwdRange
	}
	g.x, g.y = x, y
	g.p.run(n, g.fwdFn)
	g.x, g.y = nil, nil
}

func (g *gap) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	g.dy, g.dx = dy, dx
	g.p.run(n, g.bwdFn)
	g.dy, g.dx = nil, nil
}

func (g *gap) fwdRange(_, lo, hi int) {
	inv := 1 / float32(g.hw)
	for i := lo * g.c; i < hi*g.c; i++ {
		var sum float32
		for _, v := range g.x[i*g.hw : (i+1)*g.hw] {
			sum += v
		}
		g.y[i] = sum * inv
	}
}

func (g *gap) bwdRange(_, lo, hi int) {
	inv := 1 / float32(g.hw)
	for i := lo * g.c; i < hi*g.c; i++ {
		d := g.dy[i] * inv
		row := g.dx[i*g.hw : (i+1)*g.hw]
		for j := range row {
			row[j] = d
		}
	}
}
