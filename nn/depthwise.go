package nn

// Depthwise convolution (Cin/Group == 1, Cout/Group ≥ 1 output channels per
// input channel) runs as a direct convolution instead of im2col + GEMM:
// with one input channel per group the GEMMs have a single row of K =
// KH·KW, too small to pay for packing. Output channel co reads input
// channel co/(Cout/G) only.
//
// Each output row is built from one input row per valid kernel row ky
// (checked per output row), and each row pair is a 1-D correlation over
// the kernel columns whose valid output ranges are precomputed per layer
// (tapPlan): the inner loops run over plain slices without a test for
// padding. Samples are split over the workers as for the GEMM path, and the
// weight and bias gradients go to the same per-worker partials, reduced in
// worker order by conv.backward.

// tapPlan is a 1-D correlation with k taps
//
//	dst[o] += Σ_j w[j]·src[o·s + off + j·d],  o ∈ [0, n), src of length m,
//
// in which a term is skipped when its src index falls outside [0, m) (zero
// padding). Tap j is valid for o ∈ [lo[j], hi[j]); all taps are valid on
// the interior [ilo, ihi), which the fast loops cover; the edges
// [lo[j], min(hi[j], ilo)) and [max(lo[j], ihi), hi[j]) go tap by tap.
type tapPlan struct {
	n, m, s, d, off int
	lo, hi          []int
	ilo, ihi        int
}

func newTapPlan(n, m, k, s, d, off int) tapPlan {
	p := tapPlan{n: n, m: m, s: s, d: d, off: off, lo: make([]int, k), hi: make([]int, k), ihi: n}
	for j := 0; j < k; j++ {
		p.lo[j], p.hi[j] = validRange(n, s, off+j*d, m)
		p.ilo = max(p.ilo, p.lo[j])
		p.ihi = min(p.ihi, p.hi[j])
	}
	if p.ihi < p.ilo {
		p.ihi = p.ilo
	}
	return p
}

// corr adds the correlation of src with w to dst.
func (p *tapPlan) corr(dst, src, w []float32) {
	dst, src = dst[:p.n], src[:p.m]
	p.corrEdges(dst, src, w)
	p.corrInterior(dst, src, w)
}

// corr3 adds the correlations of three source rows with the three rows of
// a 3-tap kernel w [3·3] to dst, the interior in one pass.
func (p *tapPlan) corr3(dst, r0, r1, r2, w []float32) {
	dst = dst[:p.n]
	r0, r1, r2, w = r0[:p.m], r1[:p.m], r2[:p.m], w[:9]
	p.corrEdges(dst, r0, w[0:3])
	p.corrEdges(dst, r1, w[3:6])
	p.corrEdges(dst, r2, w[6:9])
	if p.ilo == p.ihi {
		return
	}
	d := dst[p.ilo:p.ihi]
	b := p.ilo*p.s + p.off
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	if p.s == 1 {
		n, dd := len(d), p.d
		a0, a1, a2 := r0[b:][:n], r0[b+dd:][:n], r0[b+2*dd:][:n]
		b0, b1, b2 := r1[b:][:n], r1[b+dd:][:n], r1[b+2*dd:][:n]
		c0, c1, c2 := r2[b:][:n], r2[b+dd:][:n], r2[b+2*dd:][:n]
		for i := range d {
			d[i] += w0*a0[i] + w1*a1[i] + w2*a2[i] +
				w3*b0[i] + w4*b1[i] + w5*b2[i] +
				w6*c0[i] + w7*c1[i] + w8*c2[i]
		}
		return
	}
	// p.s == 2, p.d == 1
	n := 2*len(d) + 1
	a, bb, c := r0[b:][:n], r1[b:][:n], r2[b:][:n]
	for i := range d {
		ta, tb, tc := a[2*i:2*i+3], bb[2*i:2*i+3], c[2*i:2*i+3]
		d[i] += w0*ta[0] + w1*ta[1] + w2*ta[2] +
			w3*tb[0] + w4*tb[1] + w5*tb[2] +
			w6*tc[0] + w7*tc[1] + w8*tc[2]
	}
}

// fused3 reports whether corr3 applies to a plan with kw taps.
func (p *tapPlan) fused3(kw int) bool {
	return kw == 3 && (p.s == 1 || p.s == 2 && p.d == 1)
}

// corrEdges adds the terms of output positions outside the interior.
func (p *tapPlan) corrEdges(dst, src, w []float32) {
	for j, wj := range w {
		base := p.off + j*p.d
		for o := p.lo[j]; o < min(p.hi[j], p.ilo); o++ {
			dst[o] += wj * src[o*p.s+base]
		}
		for o := max(p.lo[j], p.ihi); o < p.hi[j]; o++ {
			dst[o] += wj * src[o*p.s+base]
		}
	}
}

// corrInterior adds the terms of the interior output positions.
func (p *tapPlan) corrInterior(dst, src, w []float32) {
	if p.ilo == p.ihi {
		return
	}
	d := dst[p.ilo:p.ihi]
	b := p.ilo*p.s + p.off
	switch {
	case len(w) == 3 && p.s == 1:
		w0, w1, w2 := w[0], w[1], w[2]
		s0 := src[b:][:len(d)]
		s1 := src[b+p.d:][:len(d)]
		s2 := src[b+2*p.d:][:len(d)]
		for i := range d {
			d[i] += w0*s0[i] + w1*s1[i] + w2*s2[i]
		}
	case len(w) == 3 && p.s == 2 && p.d == 1:
		w0, w1, w2 := w[0], w[1], w[2]
		s := src[b:][:2*len(d)+1]
		for i := range d {
			t := s[2*i : 2*i+3]
			d[i] += w0*t[0] + w1*t[1] + w2*t[2]
		}
	case p.s == 1:
		for j, wj := range w {
			sj := src[b+j*p.d:][:len(d)]
			for i, v := range sj {
				d[i] += wj * v
			}
		}
	default:
		for j, wj := range w {
			ix := b + j*p.d
			for i := range d {
				d[i] += wj * src[ix]
				ix += p.s
			}
		}
	}
}

// dot adds Σ_o dy[o]·src[o·s + off + j·d] over the valid o to acc[j]: the
// weight gradient of corr.
func (p *tapPlan) dot(dy, src, acc []float32) {
	dy, src = dy[:p.n], src[:p.m]
	if len(acc) == 3 && p.s == 1 && p.ilo < p.ihi {
		var a0, a1, a2 float32
		for j := range acc {
			base := p.off + j*p.d
			var a float32
			for o := p.lo[j]; o < p.ilo; o++ {
				a += dy[o] * src[o+base]
			}
			for o := p.ihi; o < p.hi[j]; o++ {
				a += dy[o] * src[o+base]
			}
			acc[j] += a
		}
		d := dy[p.ilo:p.ihi]
		b := p.ilo + p.off
		s0 := src[b:][:len(d)]
		s1 := src[b+p.d:][:len(d)]
		s2 := src[b+2*p.d:][:len(d)]
		for i, v := range d {
			a0 += v * s0[i]
			a1 += v * s1[i]
			a2 += v * s2[i]
		}
		acc[0] += a0
		acc[1] += a1
		acc[2] += a2
		return
	}
	for j := range acc {
		lo, hi := p.lo[j], p.hi[j]
		if lo == hi {
			continue
		}
		var a float32
		ix := lo*p.s + p.off + j*p.d
		if p.s == 1 {
			sj := src[ix:][:hi-lo]
			for i, v := range dy[lo:hi] {
				a += v * sj[i]
			}
		} else {
			for _, v := range dy[lo:hi] {
				a += v * src[ix]
				ix += p.s
			}
		}
		acc[j] += a
	}
}

// scatter adds w[j]·dy[o] to dst[o·s + off + j·d] over the valid o: the
// input gradient of corr.
func (p *tapPlan) scatter(dst, dy, w []float32) {
	dy, dst = dy[:p.n], dst[:p.m]
	for j, wj := range w {
		lo, hi := p.lo[j], p.hi[j]
		if lo == hi {
			continue
		}
		ix := lo*p.s + p.off + j*p.d
		if p.s == 1 {
			dj := dst[ix:][:hi-lo]
			for i, v := range dy[lo:hi] {
				dj[i] += wj * v
			}
			continue
		}
		for _, v := range dy[lo:hi] {
			dst[ix] += wj * v
			ix += p.s
		}
	}
}

// initDepthwise sets up the direct path; called by newConv when cing == 1
// and g > 1 (with g == 1, a single input channel, the GEMM has Cout rows
// and stays faster: LeNet conv1 runs 4× slower direct).
func (c *conv) initDepthwise() {
	c.depthwise = true
	c.colPlan = newTapPlan(c.ow, c.w, c.kw, c.sw, c.dw, -c.pl)
	if c.sh == 1 && c.sw == 1 {
		// dX[iy][ix] += Σ w[ky][kx]·dY[iy+pt−ky·dh][ix+pl−kx·dw]: a
		// stride-1 correlation of dY's rows with the column-flipped kernel.
		c.gatherPlan = newTapPlan(c.w, c.ow, c.kw, 1, c.dw, c.pl-(c.kw-1)*c.dw)
		c.wflip = make([]float32, len(c.wt))
	}
	c.fwdFn = c.dwFwdRange
	c.bwdFn = c.dwBwdRange
}

func (c *conv) dwFwdRange(_, lo, hi int) {
	hw, kk := c.h*c.w, c.kh*c.kw
	fused := c.kh == 3 && c.colPlan.fused3(c.kw)
	for s := lo; s < hi; s++ {
		for co := 0; co < c.cout; co++ {
			plane := c.x[(s*c.cin+co/c.coutg)*hw:][:hw]
			out := c.y[(s*c.cout+co)*c.P:][:c.P]
			wk := c.wt[co*kk:][:kk]
			var b float32
			if c.bias != nil {
				b = c.bias[co]
			}
			for oy := 0; oy < c.oh; oy++ {
				orow := out[oy*c.ow:][:c.ow]
				for i := range orow {
					orow[i] = b
				}
				iy0 := oy*c.sh - c.pt
				if fused && iy0 >= 0 && iy0+2*c.dh < c.h {
					c.colPlan.corr3(orow, plane[iy0*c.w:], plane[(iy0+c.dh)*c.w:], plane[(iy0+2*c.dh)*c.w:], wk)
					continue
				}
				for ky := 0; ky < c.kh; ky++ {
					iy := iy0 + ky*c.dh
					if uint(iy) >= uint(c.h) {
						continue
					}
					c.colPlan.corr(orow, plane[iy*c.w:][:c.w], wk[ky*c.kw:][:c.kw])
				}
			}
		}
	}
}

// flipWeights fills wflip with the kernels mirrored along x.
func (c *conv) flipWeights() {
	for r := 0; r < len(c.wt); r += c.kw {
		src, dst := c.wt[r:r+c.kw], c.wflip[r:r+c.kw]
		for i, v := range src {
			dst[c.kw-1-i] = v
		}
	}
}

func (c *conv) dwBwdRange(w, lo, hi int) {
	sc := &c.scratch[w]
	clear(sc.dw)
	clear(sc.db)
	hw, kk := c.h*c.w, c.kh*c.kw
	fused := c.kh == 3 && c.wflip != nil && c.gatherPlan.fused3(c.kw)
	for s := lo; s < hi; s++ {
		for co := 0; co < c.cout; co++ {
			plane := c.x[(s*c.cin+co/c.coutg)*hw:][:hw]
			dyp := c.dy[(s*c.cout+co)*c.P:][:c.P]
			if c.bp != nil {
				var sum float32
				for _, v := range dyp {
					sum += v
				}
				sc.db[co] += sum
			}
			acc := sc.dw[co*kk:][:kk]
			for oy := 0; oy < c.oh; oy++ {
				dyrow := dyp[oy*c.ow:][:c.ow]
				iy0 := oy*c.sh - c.pt
				for ky := 0; ky < c.kh; ky++ {
					iy := iy0 + ky*c.dh
					if uint(iy) >= uint(c.h) {
						continue
					}
					c.colPlan.dot(dyrow, plane[iy*c.w:][:c.w], acc[ky*c.kw:][:c.kw])
				}
			}
		}
		if c.dx == nil {
			continue
		}
		for ci := 0; ci < c.cin; ci++ {
			dxp := c.dx[(s*c.cin+ci)*hw:][:hw]
			clear(dxp)
			for co := ci * c.coutg; co < (ci+1)*c.coutg; co++ {
				dyp := c.dy[(s*c.cout+co)*c.P:][:c.P]
				if c.wflip != nil {
					wf := c.wflip[co*kk:][:kk]
					for iy := 0; iy < c.h; iy++ {
						dxrow := dxp[iy*c.w:][:c.w]
						oy0 := iy + c.pt
						if fused && oy0-2*c.dh >= 0 && oy0 < c.oh {
							// Rows ky = 0, 1, 2 read dY rows oy0, oy0−dh, oy0−2dh.
							c.gatherPlan.corr3(dxrow, dyp[oy0*c.ow:], dyp[(oy0-c.dh)*c.ow:], dyp[(oy0-2*c.dh)*c.ow:], wf)
							continue
						}
						for ky := 0; ky < c.kh; ky++ {
							oy := oy0 - ky*c.dh
							if uint(oy) >= uint(c.oh) {
								continue
							}
							c.gatherPlan.corr(dxrow, dyp[oy*c.ow:][:c.ow], wf[ky*c.kw:][:c.kw])
						}
					}
					continue
				}
				wk := c.wt[co*kk:][:kk]
				for oy := 0; oy < c.oh; oy++ {
					dyrow := dyp[oy*c.ow:][:c.ow]
					iy0 := oy*c.sh - c.pt
					for ky := 0; ky < c.kh; ky++ {
						iy := iy0 + ky*c.dh
						if uint(iy) >= uint(c.h) {
							continue
						}
						c.colPlan.scatter(dxp[iy*c.w:][:c.w], dyrow, wk[ky*c.kw:][:c.kw])
					}
				}
			}
		}
	}
}
