package snn

import "math"

// im2colIndex returns, for one group of a conv-like layer, the input offset
// (relative to the group's first input channel) read by row k = (ci·KH+kh)·KW+kw
// and output position p, at idx[k·npos+p]; −1 where the kernel lies in the
// padding.
func im2colIndex(g *geom) []int32 {
	idx := make([]int32, g.k*g.npos)
	for ci := 0; ci < g.cing; ci++ {
		for kh := 0; kh < g.kh; kh++ {
			for kw := 0; kw < g.kw; kw++ {
				k := (ci*g.kh+kh)*g.kw + kw
				row := idx[k*g.npos : (k+1)*g.npos]
				for oh := 0; oh < g.ho; oh++ {
					ih := oh*g.sh - g.pt + kh*g.dh
					for ow := 0; ow < g.wo; ow++ {
						iw := ow*g.sw - g.pl + kw*g.dw
						v := int32(-1)
						if ih >= 0 && ih < g.h && iw >= 0 && iw < g.w {
							v = int32(ci*g.inPlane + ih*g.w + iw)
						}
						row[oh*g.wo+ow] = v
					}
				}
			}
		}
	}
	return idx
}

// gather sets dst[i] = src[idx[i]], or 0 where idx[i] < 0.
func gather(dst, src []float32, idx []int32) {
	idx = idx[:len(dst)]
	for i, j := range idx {
		if j >= 0 {
			dst[i] = src[j]
		} else {
			dst[i] = 0
		}
	}
}

// axpy adds a·x to dst.
func axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d := dst[i : i+4 : i+4]
		s := x[i : i+4 : i+4]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}

// dot returns Σ w·x.
func dot(w, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		a := w[i : i+4 : i+4]
		b := x[i : i+4 : i+4]
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
	}
	for ; i < len(w); i++ {
		s0 += w[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// analogLayer computes an analog first layer in floating point. Both
// simulators use it, so they see the same input spikes.
type analogLayer struct {
	l   *Layer
	g   geom
	idx []int32
	// plane is the number of input values per channel of the input
	// transform (InScale, InShift); 0 without one.
	plane int
}

func newAnalogLayer(l *Layer) *analogLayer {
	a := &analogLayer{l: l, g: newGeom(l)}
	if l.Kind == Conv {
		a.idx = im2colIndex(&a.g)
	}
	if len(l.InScale) > 0 {
		a.plane = size(l.InShape) / len(l.InScale)
	}
	return a
}

// scratch returns the buffer size forward needs: im2col, then the
// transformed input.
func (a *analogLayer) scratch() int { return a.g.k*a.g.npos + a.plane*len(a.l.InScale) }

// forward sets y = W·x' + b (before the ReLU), where x' is x after the
// input transform, x'[c,·] = x[c,·]·InScale[c] + InShift[c] (the product
// rounded to float32 before the sum, as package nn computes graph.Affine),
// or x itself without one. A Conv pads x' with zeros.
func (a *analogLayer) forward(x, buf, y []float32) {
	g, l := &a.g, a.l
	if a.plane > 0 {
		xt := buf[g.k*g.npos:][:a.plane*len(l.InScale)]
		x = x[:len(xt)]
		for c, sc := range l.InScale {
			sh := l.InShift[c]
			src, dst := x[c*a.plane:(c+1)*a.plane], xt[c*a.plane:(c+1)*a.plane]
			for i, v := range src {
				dst[i] = float32(v*sc) + sh
			}
		}
		x = xt
	}
	if l.Kind == Linear {
		for o := 0; o < g.cout; o++ {
			y[o] = dot(l.W[o*g.k:(o+1)*g.k], x) + l.B[o]
		}
		return
	}
	buf = buf[:g.k*g.npos]
	for gr := 0; gr < g.groups; gr++ {
		gather(buf, x[gr*g.cing*g.inPlane:], a.idx)
		for c := gr * g.coutg; c < (gr+1)*g.coutg; c++ {
			row := y[c*g.npos : (c+1)*g.npos]
			b := l.B[c]
			for p := range row {
				row[p] = b
			}
			for k, w := range l.W[c*g.k : (c+1)*g.k] {
				if w != 0 {
					axpy(row, w, buf[k*g.npos:(k+1)*g.npos])
				}
			}
		}
	}
}

// quantize returns round(v·T) (halves up) for v already clamped to [0, 1].
func quantize(v float32, t int) int32 {
	return int32(math.Floor(float64(v)*float64(t) + 0.5))
}

// encoder turns a sample into input spikes (shared by both simulators).
type encoder struct {
	t      int
	analog *analogLayer
	buf, y []float32
}

func newEncoder(n *Network) *encoder {
	e := &encoder{t: n.InputT()}
	if n.Layers[0].Analog {
		e.analog = newAnalogLayer(n.Layers[0])
		e.t = n.Layers[0].TOut
		e.buf = make([]float32, e.analog.scratch())
		e.y = make([]float32, n.Layers[0].Size())
	}
	return e
}

// encode fills r.Input with spike steps (window starts at step 0) and counts
// clamped values.
func (e *encoder) encode(x []float32, r *SampleResult) {
	t := int32(e.t)
	clamped := 0
	if e.analog != nil {
		e.analog.forward(x, e.buf, e.y)
		for i, v := range e.y {
			switch {
			case v > 1 || v != v:
				clamped++
				v = 1
				if e.y[i] != e.y[i] {
					v = 0
				}
			case v < 0:
				v = 0
			}
			r.Input[i] = t - quantize(v, e.t)
		}
	} else {
		for i, v := range x {
			if !(v >= 0 && v <= 1) {
				clamped++
				if v > 1 {
					v = 1
				} else {
					v = 0
				}
			}
			r.Input[i] = t - quantize(v, e.t)
		}
	}
	r.Clamped = clamped
}
