package nn

import (
	"fmt"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/gemm"
)

// colBudget bounds one worker's im2col buffer (in float32 values): a worker
// runs its samples in micro-batches of mb samples with
// mb·(Cin/G·KH·KW)·(Hout·Wout) ≤ colBudget (at least one sample). 256 KiB
// keeps the buffer that im2col writes and the GEMM reads in L2; 2 MiB
// measured slower on LeNet.
const colBudget = 1 << 16

// conv is a 2-D convolution computed as im2col + GEMM over micro-batches of
// samples:
//
//	col [Cin·KH·KW, nb·P]   (P = Hout·Wout, sample j's columns at j·P)
//	tmp [Cout, nb·P] = W_g [Cout/G, K_g] · col_g [K_g, nb·P]   per group g
//
// and tmp is scattered to NCHW with the bias added. Backward gathers dY into
// tmp, accumulates dW_g += tmp_g·col_gᵀ (into a per-worker partial),
// overwrites col with W_gᵀ·tmp_g and folds it back with col2im.
type conv struct {
	p         *pool
	cin, h, w int
	cout      int
	oh, ow    int
	kh, kw    int
	sh, sw    int
	pt, pl    int
	dh, dw    int
	g, cing   int
	coutg, kg int // output channels and K rows per group
	kk        int // cin·kh·kw
	P         int // oh·ow
	mb        int // micro-batch samples
	wt, bias  []float32
	wp, bp    *Param
	scratch   []convScratch
	x, y      []float32
	dy, dx    []float32
	fwdFn     func(w, lo, hi int)
	bwdFn     func(w, lo, hi int)

	// Direct depthwise path (depthwise.go), used when cing == 1 < g.
	depthwise  bool
	colPlan    tapPlan   // output columns from an input row
	gatherPlan tapPlan   // input-gradient columns from a dY row (stride 1)
	wflip      []float32 // kernels mirrored along x (stride 1)
}

type convScratch struct {
	col, tmp []float32
	dw, db   []float32 // partial gradients of this worker
}

func newConv(p *pool, idx int, l *graph.Node) (*conv, error) {
	c := &conv{
		p: p, cin: l.InShape[0], h: l.InShape[1], w: l.InShape[2],
		cout: l.OutShape[0], oh: l.OutShape[1], ow: l.OutShape[2],
		kh: l.Kernel[0], kw: l.Kernel[1], sh: l.Stride[0], sw: l.Stride[1],
		pt: l.Pad[0], pl: l.Pad[1], dh: l.Dilation[0], dw: l.Dilation[1],
		g: l.Group, wt: l.W, bias: l.B,
	}
	if c.oh <= 0 || c.ow <= 0 {
		return nil, fmt.Errorf("empty output %v", l.OutShape)
	}
	c.cing = c.cin / c.g
	c.coutg = c.cout / c.g
	c.kg = c.cing * c.kh * c.kw
	c.kk = c.cin * c.kh * c.kw
	c.P = c.oh * c.ow
	c.mb = max(1, colBudget/(c.kk*c.P))
	c.wp = &Param{Layer: idx, Name: l.Name + ".weight", Data: l.W, Decay: true}
	if l.B != nil {
		c.bp = &Param{Layer: idx, Name: l.Name + ".bias", Data: l.B}
	}
	c.scratch = make([]convScratch, p.workers) // dw, db: on the first backward
	c.fwdFn = c.fwdRange
	c.bwdFn = c.bwdRange
	if c.cing == 1 && c.g > 1 {
		c.initDepthwise()
	}
	return c, nil
}

func (c *conv) alias(bool) bool { return false }

func (c *conv) params() []*Param {
	if c.bp != nil {
		return []*Param{c.wp, c.bp}
	}
	return []*Param{c.wp}
}

func (c *conv) forward(x, y []float32, n int, train bool) {
	c.x, c.y = x, y
	c.p.run(n, c.fwdFn)
	c.x, c.y = nil, nil
}

func (c *conv) backward(x, y, dy, dx []float32, n int) {
	if c.scratch[0].dw == nil {
		for i := range c.scratch {
			c.scratch[i].dw = make([]float32, len(c.wt))
			c.scratch[i].db = make([]float32, c.cout)
		}
	}
	c.x, c.dy, c.dx = x, dy, dx
	if c.wflip != nil && dx != nil {
		c.flipWeights()
	}
	c.p.run(n, c.bwdFn)
	c.x, c.dy, c.dx = nil, nil, nil
	// Reduce the per-worker partials in worker order: deterministic for a
	// given worker count.
	for w := range c.scratch {
		lo, hi := c.p.split(n, w)
		if lo == hi {
			continue
		}
		s := &c.scratch[w]
		addTo(c.wp.Grad, s.dw)
		if c.bp != nil {
			addTo(c.bp.Grad, s.db)
		}
	}
}

func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// bufs returns worker w's col and tmp buffers for nb samples.
func (c *conv) bufs(w, nb int) (col, tmp []float32) {
	s := &c.scratch[w]
	if len(s.col) < c.kk*nb*c.P {
		s.col = make([]float32, c.kk*nb*c.P)
		s.tmp = make([]float32, c.cout*nb*c.P)
	}
	return s.col[:c.kk*nb*c.P], s.tmp[:c.cout*nb*c.P]
}

func (c *conv) fwdRange(w, lo, hi int) {
	inS, outS := c.cin*c.h*c.w, c.cout*c.P
	for s0 := lo; s0 < hi; s0 += c.mb {
		nb := min(c.mb, hi-s0)
		col, tmp := c.bufs(w, nb)
		ld := nb * c.P
		c.im2col(c.x[s0*inS:(s0+nb)*inS], nb, col)
		for g := 0; g < c.g; g++ {
			gemm.Sgemm(false, false, c.coutg, ld, c.kg, 1,
				c.wt[g*c.coutg*c.kg:], c.kg,
				col[g*c.kg*ld:], ld,
				0, tmp[g*c.coutg*ld:], ld)
		}
		// Scatter [Cout, nb·P] to NCHW, adding the bias.
		for j := 0; j < nb; j++ {
			yo := c.y[(s0+j)*outS : (s0+j+1)*outS]
			for co := 0; co < c.cout; co++ {
				src := tmp[co*ld+j*c.P : co*ld+(j+1)*c.P]
				dst := yo[co*c.P : (co+1)*c.P]
				if c.bias != nil {
					b := c.bias[co]
					for i, v := range src {
						dst[i] = v + b
					}
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

func (c *conv) bwdRange(w, lo, hi int) {
	s := &c.scratch[w]
	clear(s.dw)
	clear(s.db)
	inS, outS := c.cin*c.h*c.w, c.cout*c.P
	for s0 := lo; s0 < hi; s0 += c.mb {
		nb := min(c.mb, hi-s0)
		col, tmp := c.bufs(w, nb)
		ld := nb * c.P
		// Gather dY into tmp [Cout, nb·P]; bias gradient on the way.
		for j := 0; j < nb; j++ {
			dyo := c.dy[(s0+j)*outS : (s0+j+1)*outS]
			for co := 0; co < c.cout; co++ {
				src := dyo[co*c.P : (co+1)*c.P]
				copy(tmp[co*ld+j*c.P:], src)
				if c.bp != nil {
					var sum float32
					for _, v := range src {
						sum += v
					}
					s.db[co] += sum
				}
			}
		}
		c.im2col(c.x[s0*inS:(s0+nb)*inS], nb, col)
		for g := 0; g < c.g; g++ {
			gemm.Sgemm(false, true, c.coutg, c.kg, ld, 1,
				tmp[g*c.coutg*ld:], ld,
				col[g*c.kg*ld:], ld,
				1, s.dw[g*c.coutg*c.kg:], c.kg)
		}
		if c.dx == nil {
			continue
		}
		for g := 0; g < c.g; g++ {
			gemm.Sgemm(true, false, c.kg, ld, c.coutg, 1,
				c.wt[g*c.coutg*c.kg:], c.kg,
				tmp[g*c.coutg*ld:], ld,
				0, col[g*c.kg*ld:], ld)
		}
		c.col2im(col, nb, c.dx[s0*inS:(s0+nb)*inS])
	}
}

// validRange returns the output positions [lo, hi) of [0, out) whose input
// coordinate o·stride + off lies in [0, size).
func validRange(out, stride, off, size int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := size - 1 - off; last >= 0 {
		hi = last/stride + 1
	}
	hi = min(hi, out)
	lo = min(lo, out)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// im2col writes nb samples of x into col [Cin·KH·KW, nb·P].
func (c *conv) im2col(x []float32, nb int, col []float32) {
	ld := nb * c.P
	hw := c.h * c.w
	for ci := 0; ci < c.cin; ci++ {
		for ky := 0; ky < c.kh; ky++ {
			offY := ky*c.dh - c.pt
			yLo, yHi := validRange(c.oh, c.sh, offY, c.h)
			for kx := 0; kx < c.kw; kx++ {
				offX := kx*c.dw - c.pl
				xLo, xHi := validRange(c.ow, c.sw, offX, c.w)
				row := col[((ci*c.kh+ky)*c.kw+kx)*ld:][:ld]
				for j := 0; j < nb; j++ {
					plane := x[(j*c.cin+ci)*hw:][:hw]
					dst := row[j*c.P:][:c.P]
					if yLo > 0 {
						clear(dst[:yLo*c.ow])
					}
					for oy := yLo; oy < yHi; oy++ {
						d := dst[oy*c.ow:][:c.ow]
						src := plane[(oy*c.sh+offY)*c.w:][:c.w]
						if xLo > 0 {
							clear(d[:xLo])
						}
						if xLo == xHi {
							// no valid column
						} else if c.sw == 1 {
							// A loop beats copy's call overhead on the
							// short rows of small feature maps.
							dd, ss := d[xLo:xHi], src[xLo+offX:]
							ss = ss[:len(dd)]
							for i, v := range ss {
								dd[i] = v
							}
						} else {
							ix := xLo*c.sw + offX
							for ox := xLo; ox < xHi; ox++ {
								d[ox] = src[ix]
								ix += c.sw
							}
						}
						if xHi < c.ow {
							clear(d[xHi:])
						}
					}
					if yHi < c.oh {
						clear(dst[yHi*c.ow:])
					}
				}
			}
		}
	}
}

// col2im overwrites dx (nb samples) with the sum of col's entries over the
// positions they were gathered from.
func (c *conv) col2im(col []float32, nb int, dx []float32) {
	clear(dx)
	ld := nb * c.P
	hw := c.h * c.w
	for ci := 0; ci < c.cin; ci++ {
		for ky := 0; ky < c.kh; ky++ {
			offY := ky*c.dh - c.pt
			yLo, yHi := validRange(c.oh, c.sh, offY, c.h)
			for kx := 0; kx < c.kw; kx++ {
				offX := kx*c.dw - c.pl
				xLo, xHi := validRange(c.ow, c.sw, offX, c.w)
				row := col[((ci*c.kh+ky)*c.kw+kx)*ld:][:ld]
				for j := 0; j < nb; j++ {
					plane := dx[(j*c.cin+ci)*hw:][:hw]
					src := row[j*c.P:][:c.P]
					for oy := yLo; oy < yHi; oy++ {
						s := src[oy*c.ow:][:c.ow]
						d := plane[(oy*c.sh+offY)*c.w:][:c.w]
						ix := xLo*c.sw + offX
						if xLo == xHi {
							continue
						}
						if c.sw == 1 {
							d := d[ix : ix+xHi-xLo]
							for i, v := range s[xLo:xHi] {
								d[i] += v
							}
							continue
						}
						for ox := xLo; ox < xHi; ox++ {
							d[ix] += s[ox]
							ix += c.sw
						}
					}
				}
			}
		}
	}
}
