package nn

import "github.com/quartz-snn/quartz/graph"

// Joins: the nodes that read several values (Add, Concat, Mul). Each splits
// the batch over the workers; per-sample work is independent of the split.

// add is graph.Add: y = x0 + x1 + …, summed left to right in float32.
// Backward passes dy to every input.
type add struct {
	p      *pool
	size   int // per sample
	xs     [][]float32
	y, dy  []float32
	dxs    [][]float32
	acc    []bool
	fwdFn  func(w, lo, hi int)
	bwdFn  func(w, lo, hi int)
	inputs int
}

func newAdd(p *pool, inputs, size int) *add {
	a := &add{p: p, size: size, inputs: inputs}
	a.fwdFn, a.bwdFn = a.fwdRange, a.bwdRange
	return a
}

func (a *add) forward(xs [][]float32, y []float32, n int) {
	a.xs, a.y = xs, y
	a.p.run(n, a.fwdFn)
	a.xs, a.y = nil, nil
}

func (a *add) fwdRange(w, lo, hi int) {
	lo, hi = lo*a.size, hi*a.size
	y := a.y[lo:hi]
	copy(y, a.xs[0][lo:hi])
	for _, x := range a.xs[1:] {
		addTo(y, x[lo:hi])
	}
}

func (a *add) backward(xs [][]float32, y, dy []float32, dxs [][]float32, acc []bool, n int) {
	a.dy, a.dxs, a.acc = dy, dxs, acc
	a.p.run(n, a.bwdFn)
	a.dy, a.dxs, a.acc = nil, nil, nil
}

func (a *add) bwdRange(w, lo, hi int) {
	lo, hi = lo*a.size, hi*a.size
	dy := a.dy[lo:hi]
	for k, dx := range a.dxs {
		if dx == nil {
			continue
		}
		if a.acc[k] {
			addTo(dx[lo:hi], dy)
		} else {
			copy(dx[lo:hi], dy)
		}
	}
}

// mul is graph.Mul: y = x0·x1. Backward: dx0 = dy·x1, dx1 = dy·x0.
type mul struct {
	p     *pool
	size  int
	xs    [][]float32
	y, dy []float32
	dxs   [][]float32
	acc   []bool
	fwdFn func(w, lo, hi int)
	bwdFn func(w, lo, hi int)
}

func newMul(p *pool, size int) *mul {
	m := &mul{p: p, size: size}
	m.fwdFn, m.bwdFn = m.fwdRange, m.bwdRange
	return m
}

func (m *mul) forward(xs [][]float32, y []float32, n int) {
	m.xs, m.y = xs, y
	m.p.run(n, m.fwdFn)
	m.xs, m.y = nil, nil
}

func (m *mul) fwdRange(w, lo, hi int) {
	lo, hi = lo*m.size, hi*m.size
	y, a, b := m.y[lo:hi], m.xs[0][lo:hi], m.xs[1][lo:hi]
	b = b[:len(a)]
	for i, v := range a {
		y[i] = v * b[i]
	}
}

func (m *mul) backward(xs [][]float32, y, dy []float32, dxs [][]float32, acc []bool, n int) {
	m.xs, m.dy, m.dxs, m.acc = xs, dy, dxs, acc
	m.p.run(n, m.bwdFn)
	m.xs, m.dy, m.dxs, m.acc = nil, nil, nil, nil
}

func (m *mul) bwdRange(w, lo, hi int) {
	lo, hi = lo*m.size, hi*m.size
	dy := m.dy[lo:hi]
	for k, dx := range m.dxs {
		if dx == nil {
			continue
		}
		other := m.xs[1-k][lo:hi]
		dx = dx[lo:hi]
		other = other[:len(dy)]
		if m.acc[k] {
			for i, g := range dy {
				dx[i] += g * other[i]
			}
		} else {
			for i, g := range dy {
				dx[i] = g * other[i]
			}
		}
	}
}

// concat is graph.Concat along axis 0 of the per-sample shape: each output
// sample is the input samples one after the other. Backward splits dy.
type concat struct {
	p     *pool
	sizes []int // per-sample size of every input
	offs  []int // offset of input k within an output sample
	size  int   // output per-sample size
	xs    [][]float32
	y, dy []float32
	dxs   [][]float32
	acc   []bool
	fwdFn func(w, lo, hi int)
	bwdFn func(w, lo, hi int)
}

func newConcat(p *pool, l *graph.Node, m *graph.Model) *concat {
	c := &concat{p: p, size: graph.Size(l.OutShape)}
	off := 0
	for _, j := range l.Inputs {
		s := graph.Size(m.InputShape)
		if j != graph.ModelInput {
			s = graph.Size(m.Nodes[j].OutShape)
		}
		c.sizes = append(c.sizes, s)
		c.offs = append(c.offs, off)
		off += s
	}
	c.fwdFn, c.bwdFn = c.fwdRange, c.bwdRange
	return c
}

func (c *concat) forward(xs [][]float32, y []float32, n int) {
	c.xs, c.y = xs, y
	c.p.run(n, c.fwdFn)
	c.xs, c.y = nil, nil
}

func (c *concat) fwdRange(w, lo, hi int) {
	for s := lo; s < hi; s++ {
		y := c.y[s*c.size : (s+1)*c.size]
		for k, x := range c.xs {
			sz := c.sizes[k]
			copy(y[c.offs[k]:c.offs[k]+sz], x[s*sz:(s+1)*sz])
		}
	}
}

func (c *concat) backward(xs [][]float32, y, dy []float32, dxs [][]float32, acc []bool, n int) {
	c.dy, c.dxs, c.acc = dy, dxs, acc
	c.p.run(n, c.bwdFn)
	c.dy, c.dxs, c.acc = nil, nil, nil
}

func (c *concat) bwdRange(w, lo, hi int) {
	for s := lo; s < hi; s++ {
		dy := c.dy[s*c.size : (s+1)*c.size]
		for k, dx := range c.dxs {
			if dx == nil {
				continue
			}
			sz := c.sizes[k]
			src, dst := dy[c.offs[k]:c.offs[k]+sz], dx[s*sz:(s+1)*sz]
			if c.acc[k] {
				addTo(dst, src)
			} else {
				copy(dst, src)
			}
		}
	}
}
