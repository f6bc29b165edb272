package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// unaryOps maps the ONNX elementwise operators that become a graph.Unary
// node to their Fn (the same name but for Gelu's tanh form).
var unaryOps = map[string]bool{
	"Abs": true, "Neg": true, "Exp": true, "Log": true, "Sqrt": true, "Reciprocal": true,
	"Floor": true, "Ceil": true, "Round": true, "Sign": true, "Sin": true, "Cos": true, "Tan": true,
	"Asin": true, "Acos": true, "Atan": true, "Sinh": true, "Cosh": true, "Asinh": true, "Acosh": true,
	"Atanh": true, "Erf": true, "Softplus": true, "Softsign": true, "Elu": true, "Selu": true,
	"Celu": true, "ThresholdedRelu": true, "Mish": true, "Gelu": true,
}

// unaryFn lowers an elementwise operator to a graph.Unary node; the value
// keeps its view.
func (c *converter) unaryFn(n *Node, name string, x *value) (*value, error) {
	l := &graph.Node{Name: name, Op: graph.Unary, Fn: n.OpType}
	var err error
	switch n.OpType {
	case "Elu", "Celu", "ThresholdedRelu":
		if err = checkAttrs(n, "alpha"); err != nil {
			return nil, err
		}
		l.Alpha, err = attrFloat(n, "alpha", 1)
	case "Selu":
		if err = checkAttrs(n, "alpha", "gamma"); err != nil {
			return nil, err
		}
		a, err1 := attrFloat(n, "alpha", 1.67326319217681884765625)
		g, err2 := attrFloat(n, "gamma", 1.05070102214813232421875)
		l.Alpha, l.Power, err = a, g, errors.Join(err1, err2)
	case "Gelu":
		if err = checkAttrs(n, "approximate"); err != nil {
			return nil, err
		}
		var a string
		if a, err = attrString(n, "approximate", "none"); err != nil {
			return nil, err
		}
		switch a {
		case "none":
		case "tanh":
			l.Fn = "GeluTanh"
		default:
			return nil, fmt.Errorf("approximate %q: want none or tanh", a)
		}
	default:
		err = checkAttrs(n)
	}
	if err != nil {
		return nil, err
	}
	if !finite(l.Alpha) || !finite(l.Power) || (l.Fn == "Celu" && l.Alpha == 0) {
		return nil, fmt.Errorf("alpha %v, gamma %v: want finite (and a nonzero Celu alpha)", l.Alpha, l.Power)
	}
	return c.unary(nil, x, l)
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// constEqual returns the value of a constant whose values are all equal.
func constEqual(t *ctensor) (float64, bool) {
	if t.size() == 0 {
		return 0, false
	}
	v := t.at(0)
	for k := 1; k < t.size(); k++ {
		if t.at(k) != v {
			return 0, false
		}
	}
	return v, true
}

// pow lowers Pow: of an activation to a constant exponent (all values
// equal) as Unary Pow, of two activations as Binary Pow.
func (c *converter) pow(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n); err != nil {
		return nil, err
	}
	if len(n.Input) != 2 {
		return nil, errors.New("want two inputs")
	}
	if x == nil {
		return nil, fmt.Errorf("a constant raised to an activation is %w", ErrUnsupported)
	}
	if c.vals[n.Input[1]] != nil {
		return c.binaryFn("Pow", name, []*value{x, c.vals[n.Input[1]]})
	}
	t := c.consts[n.Input[1]]
	if t == nil {
		return nil, fmt.Errorf("exponent %q is neither a constant nor an activation", n.Input[1])
	}
	e, ok := constEqual(t)
	if !ok {
		return nil, fmt.Errorf("an exponent %v that differs per element is %w", t.dims, ErrUnsupported)
	}
	full := append([]int{1}, x.shape...)
	if dims, err := broadcastDims(full, t.dims); err != nil {
		return nil, err
	} else if !slices.Equal(dims, full) {
		return nil, fmt.Errorf("the exponent %v would broadcast [N %v] to %v: %w", t.dims, x.shape, dims, ErrUnsupported)
	}
	if t.half {
		c.halfCasts++
		t.half = false
	}
	return c.unary(nil, x, &graph.Node{Name: name, Op: graph.Unary, Fn: "Pow", Power: float32(e)})
}

// prelu lowers PRelu with a constant slope to a Unary PRelu node whose
// Scale holds one slope, one per channel or one per element.
func (c *converter) prelu(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n); err != nil {
		return nil, err
	}
	t := c.constIn(n, 1)
	if t == nil {
		return nil, fmt.Errorf("slope must be a constant: a computed slope is %w", ErrUnsupported)
	}
	full := append([]int{1}, x.shape...)
	if c.opset < 7 && len(t.dims) == 1 && t.dims[0] == x.shape[0] && len(x.shape) > 1 {
		// Opset 6: a slope of C values is per channel (axis 1).
		d := make([]int, len(x.shape))
		for k := range d {
			d[k] = 1
		}
		d[0] = t.dims[0]
		cp := *t
		cp.dims = d
		t = &cp
	}
	if dims, err := broadcastDims(full, t.dims); err != nil {
		return nil, err
	} else if !slices.Equal(dims, full) {
		return nil, fmt.Errorf("the slope %v would broadcast [N %v] to %v: %w", t.dims, x.shape, dims, ErrUnsupported)
	}
	i, err := c.shaped(x, name)
	if err != nil {
		return nil, err
	}
	m := broadcastIndex(t.dims, full)
	slope := make([]float32, len(m))
	for e, src := range m {
		slope[e] = float32(t.at(src))
		if !finite(slope[e]) {
			return nil, fmt.Errorf("slope %v is not finite", slope[e])
		}
	}
	if t.half {
		c.halfCasts++
		t.half = false
	}
	l := &graph.Node{Name: name, Op: graph.Unary, Fn: "PRelu", Scale: compactSlope(slope, x.shape[0])}
	j, err := c.add(l, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape}, nil
}

// compactSlope returns one value when all are equal, one per channel when
// they are constant over each of c channels, else v.
func compactSlope(v []float32, c int) []float32 {
	if !slices.ContainsFunc(v, func(s float32) bool { return s != v[0] }) {
		return v[:1:1]
	}
	per := len(v) / c
	out := make([]float32, c)
	for ch := range c {
		out[ch] = v[ch*per]
		for _, s := range v[ch*per : (ch+1)*per] {
			if s != out[ch] {
				return v
			}
		}
	}
	return out
}

// reduceOps maps ONNX Reduce* operators to graph.Reduce functions.
var reduceOps = map[string]string{
	"ReduceSum": "Sum", "ReduceMean": "Mean", "ReduceMax": "Max", "ReduceMin": "Min", "ReduceProd": "Prod",
	"ReduceL1": "L1", "ReduceL2": "L2", "ReduceSumSquare": "SumSquare", "ReduceLogSumExp": "LogSumExp",
	"ReduceLogSum": "LogSum",
}

// reduce lowers a Reduce* operator over per-sample axes. ReduceMean over
// H and W of [N,C,H,W] stays a GlobalAvgPool.
func (c *converter) reduce(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "axes", "keepdims", "noop_with_empty_axes"); err != nil {
		return nil, err
	}
	axes, err := c.axesOf(n, 1)
	if err != nil {
		return nil, err
	}
	keep, err := attrInt(n, "keepdims", 1)
	if err != nil {
		return nil, err
	}
	noop, err := attrInt(n, "noop_with_empty_axes", 0)
	if err != nil {
		return nil, err
	}
	r := len(x.shape) + 1
	if len(axes) == 0 {
		if noop != 0 {
			return x, nil
		}
		return nil, fmt.Errorf("no axes: a reduction over every axis, the batch included, is %w", ErrUnsupported)
	}
	var per []int
	for _, a := range axes {
		k, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return nil, fmt.Errorf("axes %v include the batch: a reduction across samples is %w", axes, ErrUnsupported)
		}
		if !slices.Contains(per, k-1) {
			per = append(per, k-1)
		}
	}
	slices.Sort(per)
	if n.OpType == "ReduceMean" && r == 4 && slices.Equal(per, []int{1, 2}) {
		return c.globalMean(name, x, keep != 0)
	}
	if keep == 0 && len(per) == len(x.shape) {
		return nil, fmt.Errorf("keepdims=0 over every axis of [N %v]: a scalar per sample is %w", x.shape, ErrUnsupported)
	}
	i, err := c.shaped(x, name)
	if err != nil {
		return nil, err
	}
	j, err := c.add(&graph.Node{Name: name, Op: graph.Reduce, Fn: reduceOps[n.OpType], Axes: per, Keep: keep != 0}, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: slices.Clone(c.stored(j))}, nil
}

// binaryFn adds a Binary node (a chain of them for more than two inputs)
// of activations of one rank, broadcast numpy-style per sample.
func (c *converter) binaryFn(fn, name string, acts []*value) (*value, error) {
	x := acts[0]
	i, err := c.shaped(x, name)
	if err != nil {
		return nil, err
	}
	for _, a := range acts[1:] {
		if len(a.shape) != len(x.shape) {
			return nil, fmt.Errorf("inputs of shapes [N %v] and [N %v]: broadcasting activations of different ranks would align the batch with another axis: %w", x.shape, a.shape, ErrUnsupported)
		}
		k, err := c.shaped(a, name)
		if err != nil {
			return nil, err
		}
		if i, err = c.add(&graph.Node{Name: name, Op: graph.Binary, Fn: fn}, i, k); err != nil {
			return nil, err
		}
		x = &value{node: i, shape: slices.Clone(c.stored(i))}
	}
	return x, nil
}

// variadic lowers Max, Min, Mean and Sum of one or more inputs: of
// activations (Binary nodes, or Add where the shapes match), or Max/Min
// of an activation and a scalar constant (a Clip).
func (c *converter) variadic(n *Node, name string) (*value, error) {
	if err := checkAttrs(n); err != nil {
		return nil, err
	}
	var acts []*value
	var consts []*ctensor
	for _, s := range n.Input {
		if s == "" {
			continue
		}
		if v := c.vals[s]; v != nil {
			if v.pad != nil {
				return nil, fmt.Errorf("follows Pad %q: zero padding is %w only before a Conv or an unpadded, floor-mode AveragePool", v.pad.name, ErrUnsupported)
			}
			acts = append(acts, v)
		} else if t := c.consts[s]; t != nil {
			consts = append(consts, t)
		}
	}
	op := n.OpType
	if len(consts) > 0 {
		if (op != "Max" && op != "Min") || len(acts) != 1 {
			return nil, fmt.Errorf("%s of %d activations and %d constants is %w", op, len(acts), len(consts), ErrUnsupported)
		}
		x := acts[0]
		lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
		for _, t := range consts {
			v, ok := constEqual(t)
			full := append([]int{1}, x.shape...)
			dims, err := broadcastDims(full, t.dims)
			if !ok || err != nil || !slices.Equal(dims, full) {
				return nil, fmt.Errorf("%s with a constant %v that is not one value is %w", op, t.dims, ErrUnsupported)
			}
			if op == "Max" {
				lo = max(lo, float32(v))
			} else {
				hi = min(hi, float32(v))
			}
		}
		return c.unary(nil, x, &graph.Node{Name: name, Op: graph.Clip, Min: lo, Max: hi})
	}
	if len(acts) == 1 {
		return acts[0], nil
	}
	same := true
	for _, a := range acts[1:] {
		same = same && slices.Equal(a.shape, acts[0].shape)
	}
	var v *value
	var err error
	switch {
	case op == "Max" || op == "Min":
		return c.binaryFn(op, name, acts)
	case same:
		v, err = c.binaryActs("Add", name, acts)
	default:
		v, err = c.binaryFn("Add", name, acts)
	}
	if err != nil || op != "Mean" {
		return v, err
	}
	k := float64(len(acts))
	size := prod(v.shape)
	scale := make([]float64, size)
	for e := range scale {
		scale[e] = 1 / k
	}
	return c.affine(name+"_mean", v, scale, make([]float64, size))
}
