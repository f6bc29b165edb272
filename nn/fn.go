package nn

import (
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// Unary, Reduce and Binary: the ANN-only elementwise functions,
// reductions over per-sample axes and broadcast binary functions
// (graph.UnaryFns, ReduceFns, BinaryFns). Each splits the batch over the
// workers; values are computed in float64 and rounded to float32.

// unary is graph.Unary. Backward multiplies dy by the derivative at x.
type unary struct {
	p            *pool
	fn           string
	alpha, power float64
	slope        []float32 // PRelu: 1, per channel or per element
	size, hw     int       // per-sample size; PRelu: elements per slope
	x, y, dy, dx []float32
	fwdFn, bwdFn func(w, lo, hi int)
}

func newUnary(p *pool, l *graph.Node) *unary {
	u := &unary{p: p, fn: l.Fn, alpha: float64(l.Alpha), power: float64(l.Power), slope: l.Scale, size: graph.Size(l.InShape)}
	if u.fn == "PRelu" {
		u.hw = u.size / len(u.slope)
		if len(u.slope) == 1 {
			u.hw = u.size
		}
	}
	u.fwdFn, u.bwdFn = u.fwdRange, u.bwdRange
	return u
}

func (u *unary) alias(bool) bool  { return false }
func (u *unary) params() []*Param { return nil }

func (u *unary) forward(x, y []float32, n int, train bool) {
	u.x, u.y = x, y
	u.p.run(n, u.fwdFn)
	u.x, u.y = nil, nil
}

func (u *unary) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	u.x, u.y, u.dy, u.dx = x, y, dy, dx
	u.p.run(n, u.bwdFn)
	u.x, u.y, u.dy, u.dx = nil, nil, nil, nil
}

// unaryF64 returns the float64 function of a Unary node, nil for PRelu.
func unaryF64(fn string, alpha, power float64) func(float64) float64 {
	switch fn {
	case "Abs":
		return math.Abs
	case "Neg":
		return func(x float64) float64 { return -x }
	case "Exp":
		return math.Exp
	case "Log":
		return math.Log
	case "Sqrt":
		return math.Sqrt
	case "Reciprocal":
		return func(x float64) float64 { return 1 / x }
	case "Floor":
		return math.Floor
	case "Ceil":
		return math.Ceil
	case "Round":
		return math.RoundToEven
	case "Sign":
		return func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x
		}
	case "Sin":
		return math.Sin
	case "Cos":
		return math.Cos
	case "Tan":
		return math.Tan
	case "Asin":
		return math.Asin
	case "Acos":
		return math.Acos
	case "Atan":
		return math.Atan
	case "Sinh":
		return math.Sinh
	case "Cosh":
		return math.Cosh
	case "Asinh":
		return math.Asinh
	case "Acosh":
		return math.Acosh
	case "Atanh":
		return math.Atanh
	case "Erf":
		return math.Erf
	case "Softplus":
		return softplus
	case "Softsign":
		return func(x float64) float64 { return x / (1 + math.Abs(x)) }
	case "Elu":
		return func(x float64) float64 {
			if x > 0 {
				return x
			}
			return alpha * math.Expm1(x)
		}
	case "Selu":
		return func(x float64) float64 {
			if x > 0 {
				return power * x
			}
			return power * alpha * math.Expm1(x)
		}
	case "Celu":
		return func(x float64) float64 { return max(0, x) + min(0, alpha*math.Expm1(x/alpha)) }
	case "ThresholdedRelu":
		return func(x float64) float64 {
			if x > alpha {
				return x
			}
			return 0
		}
	case "Mish":
		return func(x float64) float64 { return x * math.Tanh(softplus(x)) }
	case "Gelu":
		return func(x float64) float64 { return x / 2 * (1 + math.Erf(x/math.Sqrt2)) }
	case "GeluTanh":
		return func(x float64) float64 { return x / 2 * (1 + math.Tanh(geluK*(x+0.044715*x*x*x))) }
	case "Pow":
		return func(x float64) float64 { return math.Pow(x, power) }
	}
	return nil
}

// unaryD64 returns the derivative of a Unary function at x (y = f(x)).
func unaryD64(fn string, alpha, power float64) func(x, y float64) float64 {
	switch fn {
	case "Abs":
		return func(x, _ float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return 0
		}
	case "Neg":
		return func(_, _ float64) float64 { return -1 }
	case "Exp":
		return func(_, y float64) float64 { return y }
	case "Log", "Reciprocal":
		if fn == "Log" {
			return func(x, _ float64) float64 { return 1 / x }
		}
		return func(x, _ float64) float64 { return -1 / (x * x) }
	case "Sqrt":
		return func(_, y float64) float64 { return 0.5 / y }
	case "Floor", "Ceil", "Round", "Sign":
		return func(_, _ float64) float64 { return 0 }
	case "Sin":
		return func(x, _ float64) float64 { return math.Cos(x) }
	case "Cos":
		return func(x, _ float64) float64 { return -math.Sin(x) }
	case "Tan":
		return func(_, y float64) float64 { return 1 + y*y }
	case "Asin":
		return func(x, _ float64) float64 { return 1 / math.Sqrt(1-x*x) }
	case "Acos":
		return func(x, _ float64) float64 { return -1 / math.Sqrt(1-x*x) }
	case "Atan":
		return func(x, _ float64) float64 { return 1 / (1 + x*x) }
	case "Sinh":
		return func(x, _ float64) float64 { return math.Cosh(x) }
	case "Cosh":
		return func(x, _ float64) float64 { return math.Sinh(x) }
	case "Asinh":
		return func(x, _ float64) float64 { return 1 / math.Sqrt(x*x+1) }
	case "Acosh":
		return func(x, _ float64) float64 { return 1 / math.Sqrt(x*x-1) }
	case "Atanh":
		return func(x, _ float64) float64 { return 1 / (1 - x*x) }
	case "Erf":
		return func(x, _ float64) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) }
	case "Softplus":
		return func(x, _ float64) float64 { return sigmoid(x) }
	case "Softsign":
		return func(x, _ float64) float64 { d := 1 + math.Abs(x); return 1 / (d * d) }
	case "Elu":
		return func(x, _ float64) float64 {
			if x > 0 {
				return 1
			}
			return alpha * math.Exp(x)
		}
	case "Selu":
		return func(x, _ float64) float64 {
			if x > 0 {
				return power
			}
			return power * alpha * math.Exp(x)
		}
	case "Celu":
		return func(x, _ float64) float64 {
			if x > 0 {
				return 1
			}
			return math.Exp(x / alpha)
		}
	case "ThresholdedRelu":
		return func(x, _ float64) float64 {
			if x > alpha {
				return 1
			}
			return 0
		}
	case "Mish":
		return func(x, _ float64) float64 {
			t := math.Tanh(softplus(x))
			return t + x*(1-t*t)*sigmoid(x)
		}
	case "Gelu":
		return func(x, _ float64) float64 {
			return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
		}
	case "GeluTanh":
		return func(x, _ float64) float64 {
			t := math.Tanh(geluK * (x + 0.044715*x*x*x))
			return 0.5*(1+t) + x/2*(1-t*t)*geluK*(1+3*0.044715*x*x)
		}
	case "Pow":
		return func(x, _ float64) float64 { return power * math.Pow(x, power-1) }
	}
	return nil
}

var geluK = math.Sqrt(2 / math.Pi)

// softplus is ln(1 + eˣ) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func (u *unary) fwdRange(w, lo, hi int) {
	x, y := u.x[lo*u.size:hi*u.size], u.y[lo*u.size:hi*u.size]
	y = y[:len(x)]
	if u.fn == "PRelu" {
		for i, v := range x {
			if v < 0 {
				y[i] = v * u.slope[(i%u.size)/u.hw%len(u.slope)]
			} else {
				y[i] = v
			}
		}
		return
	}
	f := unaryF64(u.fn, u.alpha, u.power)
	for i, v := range x {
		y[i] = float32(f(float64(v)))
	}
}

func (u *unary) bwdRange(w, lo, hi int) {
	x, y := u.x[lo*u.size:hi*u.size], u.y[lo*u.size:hi*u.size]
	dy, dx := u.dy[lo*u.size:hi*u.size], u.dx[lo*u.size:hi*u.size]
	dy, dx, y = dy[:len(x)], dx[:len(x)], y[:len(x)]
	if u.fn == "PRelu" {
		for i, v := range x {
			if v < 0 {
				dx[i] = dy[i] * u.slope[(i%u.size)/u.hw%len(u.slope)]
			} else {
				dx[i] = dy[i]
			}
		}
		return
	}
	d := unaryD64(u.fn, u.alpha, u.power)
	for i, v := range x {
		dx[i] = float32(float64(dy[i]) * d(float64(v), float64(y[i])))
	}
}

// reduce is graph.Reduce. grp[i] is the output element (the group) of
// input element i of a sample; the groups are summed in float64 in input
// order. Max and Min keep the first extreme element of a group (in input
// order), which gets the whole gradient.
type reduce struct {
	p            *pool
	fn           string
	size, osize  int
	grp          []int32
	count        float64 // elements per group
	acc          [][]float64
	arg          [][]int32
	x, y, dy, dx []float32
	fwdFn, bwdFn func(w, lo, hi int)
}

func newReduce(p *pool, l *graph.Node) *reduce {
	r := &reduce{p: p, fn: l.Fn, size: graph.Size(l.InShape), osize: graph.Size(l.OutShape)}
	r.count = float64(r.size / r.osize)
	// Output strides over the input's axes: 0 along a reduced axis.
	in := l.InShape
	ost := make([]int, len(in))
	s := 1
	for k := len(in) - 1; k >= 0; k-- {
		if isAxis(l.Axes, k) {
			continue
		}
		ost[k] = s
		s *= in[k]
	}
	r.grp = make([]int32, r.size)
	idx := make([]int, len(in))
	for i := range r.grp {
		o := 0
		for k, v := range idx {
			o += v * ost[k]
		}
		r.grp[i] = int32(o)
		for k := len(in) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < in[k] {
				break
			}
			idx[k] = 0
		}
	}
	r.acc = make([][]float64, p.workers)
	r.arg = make([][]int32, p.workers)
	r.fwdFn, r.bwdFn = r.fwdRange, r.bwdRange
	return r
}

func isAxis(axes []int, k int) bool {
	for _, a := range axes {
		if a == k {
			return true
		}
	}
	return false
}

func (r *reduce) alias(bool) bool  { return false }
func (r *reduce) params() []*Param { return nil }

func (r *reduce) forward(x, y []float32, n int, train bool) {
	r.x, r.y = x, y
	r.p.run(n, r.fwdFn)
	r.x, r.y = nil, nil
}

func (r *reduce) backward(x, y, dy, dx []float32, n int) {
	if dx == nil {
		return
	}
	r.x, r.y, r.dy, r.dx = x, y, dy, dx
	r.p.run(n, r.bwdFn)
	r.x, r.y, r.dy, r.dx = nil, nil, nil, nil
}

func (r *reduce) fwdRange(w, lo, hi int) {
	if r.acc[w] == nil {
		r.acc[w] = make([]float64, r.osize)
		r.arg[w] = make([]int32, r.osize)
	}
	acc, arg := r.acc[w], r.arg[w]
	for s := lo; s < hi; s++ {
		x, y := r.x[s*r.size:(s+1)*r.size], r.y[s*r.osize:(s+1)*r.osize]
		grp := r.grp[:len(x)]
		switch r.fn {
		case "Max", "Min":
			for o := range arg {
				arg[o] = -1
			}
			for i, v := range x {
				o := grp[i]
				if a := arg[o]; a < 0 || (r.fn == "Max" && v > x[a]) || (r.fn == "Min" && v < x[a]) {
					arg[o] = int32(i)
				}
			}
			for o, a := range arg {
				y[o] = x[a]
			}
			continue
		case "Prod":
			for o := range acc {
				acc[o] = 1
			}
			for i, v := range x {
				acc[grp[i]] *= float64(v)
			}
		case "LogSumExp":
			for o := range acc {
				acc[o] = math.Inf(-1)
			}
			for i, v := range x { // the group's maximum
				acc[grp[i]] = max(acc[grp[i]], float64(v))
			}
			for o, m := range acc {
				y[o] = float32(m)
				acc[o] = 0
			}
			for i, v := range x {
				acc[grp[i]] += math.Exp(float64(v - y[grp[i]]))
			}
			for o, v := range acc {
				y[o] = float32(float64(y[o]) + math.Log(v))
			}
			continue
		default:
			clear(acc)
			switch r.fn {
			case "L1":
				for i, v := range x {
					acc[grp[i]] += math.Abs(float64(v))
				}
			case "L2", "SumSquare":
				for i, v := range x {
					acc[grp[i]] += float64(v) * float64(v)
				}
			default: // Sum, Mean, LogSum
				for i, v := range x {
					acc[grp[i]] += float64(v)
				}
			}
		}
		for o, v := range acc {
			switch r.fn {
			case "Mean":
				v /= r.count
			case "L2":
				v = math.Sqrt(v)
			case "LogSum":
				v = math.Log(v)
			}
			y[o] = float32(v)
		}
	}
}

func (r *reduce) bwdRange(w, lo, hi int) {
	for s := lo; s < hi; s++ {
		x, y := r.x[s*r.size:(s+1)*r.size], r.y[s*r.osize:(s+1)*r.osize]
		dy, dx := r.dy[s*r.osize:(s+1)*r.osize], r.dx[s*r.size:(s+1)*r.size]
		grp := r.grp[:len(x)]
		dx = dx[:len(x)]
		switch r.fn {
		case "Sum":
			for i := range x {
				dx[i] = dy[grp[i]]
			}
		case "Mean":
			for i := range x {
				dx[i] = float32(float64(dy[grp[i]]) / r.count)
			}
		case "Max", "Min":
			// The first extreme of each group, found again.
			clear(dx)
			done := r.arg[w]
			if done == nil {
				r.arg[w] = make([]int32, r.osize)
				done = r.arg[w]
			}
			clear(done)
			for i, v := range x {
				if o := grp[i]; done[o] == 0 && v == y[o] {
					dx[i], done[o] = dy[o], 1
				}
			}
		case "Prod":
			for i, v := range x {
				o := grp[i]
				var p float64
				if v != 0 {
					p = float64(y[o]) / float64(v)
				} else { // the product of the others
					p = 1
					for j, u := range x {
						if j != i && grp[j] == o {
							p *= float64(u)
						}
					}
				}
				dx[i] = float32(float64(dy[o]) * p)
			}
		case "L1":
			for i, v := range x {
				g := float64(dy[grp[i]])
				switch {
				case v > 0:
					dx[i] = float32(g)
				case v < 0:
					dx[i] = float32(-g)
				default:
					dx[i] = 0
				}
			}
		case "L2":
			for i, v := range x {
				o := grp[i]
				dx[i] = float32(float64(dy[o]) * float64(v) / float64(y[o]))
			}
		case "SumSquare":
			for i, v := range x {
				dx[i] = float32(float64(dy[grp[i]]) * 2 * float64(v))
			}
		case "LogSumExp":
			for i, v := range x {
				o := grp[i]
				dx[i] = float32(float64(dy[o]) * math.Exp(float64(v)-float64(y[o])))
			}
		case "LogSum":
			for i := range x {
				o := grp[i]
				dx[i] = float32(float64(dy[o]) * math.Exp(-float64(y[o])))
			}
		}
	}
}

// binary is graph.Binary: y[i] = f(a[ia[i]], b[ib[i]]) over the output
// elements of a sample, ia and ib mapping each to the element of each
// input it reads (numpy broadcasting). Backward adds each output's
// gradient into the input elements it read: over a broadcast axis they
// sum, in output order.
type binary struct {
	p            *pool
	fn           string
	size, sa, sb int
	ia, ib       []int32
	xs           [][]float32
	y, dy        []float32
	dxs          [][]float32
	acc          []bool
	fwdFn, bwdFn func(w, lo, hi int)
}

func newBinary(p *pool, l *graph.Node, a, b []int) *binary {
	bn := &binary{p: p, fn: l.Fn, size: graph.Size(l.OutShape), sa: graph.Size(a), sb: graph.Size(b)}
	bn.ia, bn.ib = broadcastMap(a, l.OutShape), broadcastMap(b, l.OutShape)
	bn.fwdFn, bn.bwdFn = bn.fwdRange, bn.bwdRange
	return bn
}

// broadcastMap maps each element of out to the element of in (same rank,
// dims equal or 1) it reads.
func broadcastMap(in, out []int) []int32 {
	st := make([]int, len(in))
	s := 1
	for k := len(in) - 1; k >= 0; k-- {
		if in[k] != 1 {
			st[k] = s
		}
		s *= in[k]
	}
	m := make([]int32, graph.Size(out))
	idx := make([]int, len(out))
	for i := range m {
		o := 0
		for k, v := range idx {
			o += v * st[k]
		}
		m[i] = int32(o)
		for k := len(out) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < out[k] {
				break
			}
			idx[k] = 0
		}
	}
	return m
}

func (bn *binary) forward(xs [][]float32, y []float32, n int) {
	bn.xs, bn.y = xs, y
	bn.p.run(n, bn.fwdFn)
	bn.xs, bn.y = nil, nil
}

func (bn *binary) fwdRange(w, lo, hi int) {
	for s := lo; s < hi; s++ {
		a, b := bn.xs[0][s*bn.sa:(s+1)*bn.sa], bn.xs[1][s*bn.sb:(s+1)*bn.sb]
		y := bn.y[s*bn.size : (s+1)*bn.size]
		ia, ib := bn.ia[:len(y)], bn.ib[:len(y)]
		switch bn.fn {
		case "Add":
			for i := range y {
				y[i] = a[ia[i]] + b[ib[i]]
			}
		case "Sub":
			for i := range y {
				y[i] = a[ia[i]] - b[ib[i]]
			}
		case "Mul":
			for i := range y {
				y[i] = a[ia[i]] * b[ib[i]]
			}
		case "Div":
			for i := range y {
				y[i] = a[ia[i]] / b[ib[i]]
			}
		case "Pow":
			for i := range y {
				y[i] = float32(math.Pow(float64(a[ia[i]]), float64(b[ib[i]])))
			}
		case "Max":
			for i := range y {
				y[i] = max(a[ia[i]], b[ib[i]])
			}
		case "Min":
			for i := range y {
				y[i] = min(a[ia[i]], b[ib[i]])
			}
		}
	}
}

func (bn *binary) backward(xs [][]float32, y, dy []float32, dxs [][]float32, acc []bool, n int) {
	bn.xs, bn.y, bn.dy, bn.dxs, bn.acc = xs, y, dy, dxs, acc
	bn.p.run(n, bn.bwdFn)
	bn.xs, bn.y, bn.dy, bn.dxs, bn.acc = nil, nil, nil, nil, nil
}

// bwdRange: for Max (Min) the gradient goes to a where a ≥ b (a ≤ b), to
// b elsewhere; Pow's gradient to b is y·ln a (0 where a ≤ 0).
func (bn *binary) bwdRange(w, lo, hi int) {
	for s := lo; s < hi; s++ {
		a, b := bn.xs[0][s*bn.sa:(s+1)*bn.sa], bn.xs[1][s*bn.sb:(s+1)*bn.sb]
		y := bn.y[s*bn.size : (s+1)*bn.size]
		dy := bn.dy[s*bn.size : (s+1)*bn.size]
		ia, ib := bn.ia[:len(y)], bn.ib[:len(y)]
		for k, dx := range bn.dxs {
			if dx == nil {
				continue
			}
			sz, idx := bn.sa, ia
			if k == 1 {
				sz, idx = bn.sb, ib
			}
			dx = dx[s*sz : (s+1)*sz]
			if !bn.acc[k] {
				clear(dx)
			}
			for i, g := range dy {
				av, bv := float64(a[ia[i]]), float64(b[ib[i]])
				var d float64
				switch bn.fn {
				case "Add":
					d = 1
				case "Sub":
					d = float64(1 - 2*k)
				case "Mul":
					d = [2]float64{bv, av}[k]
				case "Div":
					d = [2]float64{1 / bv, -av / (bv * bv)}[k]
				case "Pow":
					if k == 0 {
						d = bv * math.Pow(av, bv-1)
					} else if av > 0 {
						d = float64(y[i]) * math.Log(av)
					}
				case "Max":
					if (av >= bv) == (k == 0) {
						d = 1
					}
				case "Min":
					if (av <= bv) == (k == 0) {
						d = 1
					}
				}
				dx[idx[i]] += float32(float64(g) * d)
			}
		}
	}
}
