package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// maxFolded bounds the bytes of one folded constant (1 GiB): a folded
// ConstantOfShape or Expand beyond it is refused before allocating.
const maxFolded = 1 << 30

// ctensor is a constant during import: values as float64 (isInt false) or
// int64 (isInt true), row-major with dims.
type ctensor struct {
	dims  []int
	f     []float64
	i     []int64
	isInt bool
	half  bool // came from a float16 tensor
}

func (t *ctensor) size() int { return prod(t.dims) }

func prod(d []int) int {
	n := 1
	for _, x := range d {
		n *= x
	}
	return n
}

// floats returns the values as float32.
func (t *ctensor) floats() []float32 {
	out := make([]float32, t.size())
	for k := range out {
		if t.isInt {
			out[k] = float32(t.i[k])
		} else {
			out[k] = float32(t.f[k])
		}
	}
	return out
}

// ints returns the values as int64 (floats truncated).
func (t *ctensor) ints() []int64 {
	if t.isInt {
		return t.i
	}
	out := make([]int64, len(t.f))
	for k, v := range t.f {
		out[k] = int64(v)
	}
	return out
}

func (t *ctensor) at(k int) float64 {
	if t.isInt {
		return float64(t.i[k])
	}
	return t.f[k]
}

func isFloatType(dt DataType) bool {
	return dt == Float || dt == Double || dt == Float16 || dt == BFloat16
}

// fromTensor reads a TensorProto, from external data when it has some.
func (c *converter) fromTensor(t *Tensor) (*ctensor, error) {
	if t.DataLocation == 1 || len(t.ExternalData) > 0 {
		if err := c.loadExternal(t); err != nil {
			return nil, err
		}
	}
	ct := &ctensor{dims: t.Shape()}
	if isFloatType(t.DataType) {
		v, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		ct.f = make([]float64, len(v))
		for k, x := range v {
			ct.f[k] = float64(x)
		}
		ct.half = t.DataType == Float16
		return ct, nil
	}
	v, err := t.Int64s()
	if err != nil {
		return nil, err
	}
	ct.i, ct.isInt = v, true
	return ct, nil
}

func newFloat(dims []int, n int) *ctensor {
	return &ctensor{dims: dims, f: make([]float64, n)}
}

func newInt(dims []int, v []int64) *ctensor {
	return &ctensor{dims: dims, i: v, isInt: true}
}

// constIn returns constant input k of n, or nil when it is omitted.
func (c *converter) constIn(n *Node, k int) *ctensor {
	if k >= len(n.Input) || n.Input[k] == "" {
		return nil
	}
	return c.consts[n.Input[k]]
}

// constFloats returns the float values of constant input k as float32 and
// its dims, or nil when the input is omitted.
func (c *converter) constFloats(n *Node, k int, what string) ([]float32, []int, error) {
	if k >= len(n.Input) || n.Input[k] == "" {
		return nil, nil, nil
	}
	t := c.consts[n.Input[k]]
	if t == nil {
		return nil, nil, fmt.Errorf("%s input %q is not a constant: a computed %s is %w", what, n.Input[k], what, ErrUnsupported)
	}
	if t.isInt {
		return nil, nil, fmt.Errorf("%s input %q is an integer tensor: want a floating-point one", what, n.Input[k])
	}
	if t.half {
		c.halfCasts++
		t.half = false
	}
	return t.floats(), t.dims, nil
}

func (c *converter) scalar(n *Node, k int, what string, def float32) (float32, error) {
	v, _, err := c.constFloats(n, k, what)
	if err != nil || v == nil {
		return def, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%s input %q has %d values, want a scalar", what, n.Input[k], len(v))
	}
	return v[0], nil
}

// intsIn reads constant integer input k (axes, shapes, pads).
func (c *converter) intsIn(n *Node, k int, what string) ([]int64, error) {
	t := c.constIn(n, k)
	if t == nil {
		return nil, fmt.Errorf("%s input must be a constant", what)
	}
	return t.ints(), nil
}

// fold evaluates a node whose inputs are all constants.
func (c *converter) fold(n *Node) error {
	in := make([]*ctensor, len(n.Input))
	for k, s := range n.Input {
		if s == "" {
			continue
		}
		if in[k] = c.consts[s]; in[k] == nil {
			return fmt.Errorf("input %q is not defined", s)
		}
	}
	need := func(k int) (*ctensor, error) {
		if k >= len(in) || in[k] == nil {
			return nil, fmt.Errorf("missing input %d", k)
		}
		return in[k], nil
	}
	x, err := need(0)
	if err != nil && n.OpType != "ConstantOfShape" && n.OpType != "Range" {
		return err
	}
	var out *ctensor
	switch n.OpType {
	case "Identity", "Dropout":
		out = x
	case "Cast":
		to, err := attrInt(n, "to", 0)
		if err != nil {
			return err
		}
		out = castConst(x, DataType(to))
		if x.half && DataType(to) == Float {
			c.halfCasts++
		}
	case "Reshape":
		az, _ := attrInt(n, "allowzero", 0)
		s, err := need(1)
		if err != nil {
			return err
		}
		dims, err := reshapeDims(x.dims, s.ints(), az != 0)
		if err != nil {
			return err
		}
		out = withDims(x, dims)
	case "Flatten":
		axis, _ := attrInt(n, "axis", 1)
		r := len(x.dims)
		if axis < 0 {
			axis += int64(r)
		}
		if axis < 0 || int(axis) > r {
			return fmt.Errorf("axis %d of rank %d", axis, r)
		}
		out = withDims(x, []int{prod(x.dims[:axis]), prod(x.dims[axis:])})
	case "Unsqueeze", "Squeeze":
		axes, err := c.axesOf(n, 1)
		if err != nil {
			return err
		}
		dims, err := squeezeDims(x.dims, axes, n.OpType == "Unsqueeze")
		if err != nil {
			return err
		}
		out = withDims(x, dims)
	case "Transpose":
		out, err = transposeConst(n, x)
	case "Shape":
		start, _ := attrInt(n, "start", 0)
		end, _ := attrInt(n, "end", int64(len(x.dims)))
		out = shapeConst(x.dims, start, end)
	case "Size":
		out = newInt(nil, []int64{int64(x.size())})
	case "Gather":
		idx, err := need(1)
		if err != nil {
			return err
		}
		out, err = gatherConst(n, x, idx)
		if err != nil {
			return err
		}
	case "Slice":
		out, err = c.sliceConst(n, x, in)
	case "Concat":
		out, err = concatConst(n, in)
	case "ConstantOfShape":
		out, err = constantOfShape(n, x)
	case "Expand":
		s, err := need(1)
		if err != nil {
			return err
		}
		dims, err := broadcastDims(x.dims, toInts(s.ints()))
		if err != nil {
			return err
		}
		out, err = broadcastTo(x, dims)
		if err != nil {
			return err
		}
	case "Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Equal", "Less", "Greater":
		y, err := need(1)
		if err != nil {
			return err
		}
		out, err = binaryConst(n.OpType, x, y)
		if err != nil {
			return err
		}
	case "Neg", "Sqrt", "Reciprocal", "Abs", "Exp", "Log", "Relu", "Floor", "Ceil", "Not":
		out = unaryConst(n.OpType, x)
	case "Where":
		y, err1 := need(1)
		z, err2 := need(2)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		out, err = whereConst(x, y, z)
	case "Range":
		out, err = rangeConst(in)
	default:
		return fmt.Errorf("op %s on constants only is %w", n.OpType, ErrUnsupported)
	}
	if err != nil {
		return err
	}
	if out.size()*8 > maxFolded {
		return fmt.Errorf("folded constant of shape %v is over the %d MiB limit", out.dims, maxFolded>>20)
	}
	for _, s := range n.Output[1:] {
		if s != "" {
			return fmt.Errorf("output %q: only the first output of a node on constants is supported", s)
		}
	}
	c.consts[n.Output[0]] = out
	c.folded++
	return nil
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for k, x := range v {
		out[k] = int(x)
	}
	return out
}

func withDims(x *ctensor, dims []int) *ctensor {
	o := *x
	o.dims = dims
	return &o
}

func castConst(x *ctensor, to DataType) *ctensor {
	if isFloatType(to) {
		o := newFloat(x.dims, x.size())
		for k := range o.f {
			v := x.at(k)
			if to == Float || to == Float16 || to == BFloat16 {
				v = float64(float32(v))
			}
			o.f[k] = v
		}
		return o
	}
	v := make([]int64, x.size())
	for k := range v {
		f := x.at(k)
		if to == Bool {
			if f != 0 {
				v[k] = 1
			}
			continue
		}
		v[k] = int64(f)
	}
	return newInt(x.dims, v)
}

// reshapeDims resolves an ONNX Reshape target (0 copies the input dim
// unless allowzero, -1 is inferred).
func reshapeDims(in []int, s []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(s))
	infer := -1
	known := 1
	for k, d := range s {
		switch {
		case d == 0 && !allowZero:
			if k >= len(in) {
				return nil, fmt.Errorf("shape %v: 0 at %d beyond the input's rank %d", s, k, len(in))
			}
			out[k] = in[k]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v: more than one -1", s)
			}
			infer = k
			continue
		case d < 0 || d > maxElements:
			return nil, fmt.Errorf("shape %v: bad dim %d", s, d)
		default:
			out[k] = int(d)
		}
		known *= out[k]
	}
	total := prod(in)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, s)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v", in, total, s)
	}
	return out, nil
}

// axesOf reads the axes of Squeeze/Unsqueeze/Reduce*: the attribute
// before opset 13 (18 for Reduce*), else the constant input k.
func (c *converter) axesOf(n *Node, k int) ([]int64, error) {
	if a := findAttr(n, "axes"); a != nil {
		return a.Ints, nil
	}
	if t := c.constIn(n, k); t != nil {
		return t.ints(), nil
	}
	if k < len(n.Input) && n.Input[k] != "" {
		return nil, fmt.Errorf("axes input %q must be a constant", n.Input[k])
	}
	return nil, nil
}

func normAxis(a int64, r int) (int, error) {
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	return int(a), nil
}

// squeezeDims applies Unsqueeze (insert) or Squeeze (remove) axes; Squeeze
// without axes removes every 1.
func squeezeDims(in []int, axes []int64, insert bool) ([]int, error) {
	if insert {
		r := len(in) + len(axes)
		set := make([]bool, r)
		for _, a := range axes {
			k, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			if set[k] {
				return nil, fmt.Errorf("axes %v repeat %d", axes, k)
			}
			set[k] = true
		}
		out := make([]int, 0, r)
		j := 0
		for k := range r {
			if set[k] {
				out = append(out, 1)
			} else {
				out = append(out, in[j])
				j++
			}
		}
		return out, nil
	}
	drop := make([]bool, len(in))
	if len(axes) == 0 {
		for k, d := range in {
			drop[k] = d == 1
		}
	}
	for _, a := range axes {
		k, err := normAxis(a, len(in))
		if err != nil {
			return nil, err
		}
		if in[k] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of size %d", k, in[k])
		}
		drop[k] = true
	}
	var out []int
	for k, d := range in {
		if !drop[k] {
			out = append(out, d)
		}
	}
	return out, nil
}

func strides(dims []int) []int {
	s := make([]int, len(dims))
	acc := 1
	for k := len(dims) - 1; k >= 0; k-- {
		s[k] = acc
		acc *= dims[k]
	}
	return s
}

// permute returns x with axes permuted: out axis k is in axis perm[k].
func permute(x *ctensor, perm []int) *ctensor {
	r := len(x.dims)
	od := make([]int, r)
	for k, p := range perm {
		od[k] = x.dims[p]
	}
	is := strides(x.dims)
	n := x.size()
	o := &ctensor{dims: od, isInt: x.isInt}
	if x.isInt {
		o.i = make([]int64, n)
	} else {
		o.f = make([]float64, n)
	}
	idx := make([]int, r)
	for k := range n {
		src := 0
		for a := range r {
			src += idx[a] * is[perm[a]]
		}
		if x.isInt {
			o.i[k] = x.i[src]
		} else {
			o.f[k] = x.f[src]
		}
		for a := r - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < od[a] {
				break
			}
			idx[a] = 0
		}
	}
	return o
}

func transposeConst(n *Node, x *ctensor) (*ctensor, error) {
	r := len(x.dims)
	perm := make([]int, r)
	if a := findAttr(n, "perm"); a != nil {
		if len(a.Ints) != r {
			return nil, fmt.Errorf("perm %v for rank %d", a.Ints, r)
		}
		seen := make([]bool, r)
		for k, p := range a.Ints {
			if p < 0 || p >= int64(r) || seen[p] {
				return nil, fmt.Errorf("perm %v is not a permutation", a.Ints)
			}
			seen[p] = true
			perm[k] = int(p)
		}
	} else {
		for k := range perm {
			perm[k] = r - 1 - k
		}
	}
	return permute(x, perm), nil
}

func shapeConst(dims []int, start, end int64) *ctensor {
	r := int64(len(dims))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return max(0, min(r, v))
	}
	start, end = clamp(start), clamp(end)
	var v []int64
	for k := start; k < end; k++ {
		v = append(v, int64(dims[k]))
	}
	return newInt([]int{len(v)}, v)
}

func gatherConst(n *Node, x, idx *ctensor) (*ctensor, error) {
	axis, _ := attrInt(n, "axis", 0)
	ax, err := normAxis(axis, len(x.dims))
	if err != nil {
		return nil, err
	}
	ids := idx.ints()
	outer := prod(x.dims[:ax])
	inner := prod(x.dims[ax+1:])
	d := x.dims[ax]
	od := append(append(slices.Clone(x.dims[:ax]), idx.dims...), x.dims[ax+1:]...)
	o := &ctensor{dims: od, isInt: x.isInt}
	for a := range outer {
		for _, id := range ids {
			if id < 0 {
				id += int64(d)
			}
			if id < 0 || id >= int64(d) {
				return nil, fmt.Errorf("index %d out of range for axis of size %d", id, d)
			}
			base := (a*d + int(id)) * inner
			if x.isInt {
				o.i = append(o.i, x.i[base:base+inner]...)
			} else {
				o.f = append(o.f, x.f[base:base+inner]...)
			}
		}
	}
	return o, nil
}

func (c *converter) sliceConst(n *Node, x *ctensor, in []*ctensor) (*ctensor, error) {
	r := len(x.dims)
	var starts, ends, axes, steps []int64
	if c.opset < 10 {
		if a := findAttr(n, "starts"); a != nil {
			starts = a.Ints
		}
		if a := findAttr(n, "ends"); a != nil {
			ends = a.Ints
		}
		if a := findAttr(n, "axes"); a != nil {
			axes = a.Ints
		}
	} else {
		get := func(k int) []int64 {
			if k < len(in) && in[k] != nil {
				return in[k].ints()
			}
			return nil
		}
		starts, ends, axes, steps = get(1), get(2), get(3), get(4)
	}
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		for k := range starts {
			axes = append(axes, int64(k))
		}
	}
	lo, hi, st := make([]int, r), slices.Clone(x.dims), make([]int, r)
	for k := range st {
		st[k] = 1
	}
	for k, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		d := int64(x.dims[ax])
		step := int64(1)
		if steps != nil {
			step = steps[k]
		}
		if step == 0 {
			return nil, errors.New("slice step 0")
		}
		s, e := starts[k], ends[k]
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		if step > 0 {
			s, e = max(0, min(d, s)), max(0, min(d, e))
		} else {
			s, e = max(-1, min(d-1, s)), max(-1, min(d-1, e))
		}
		lo[ax], hi[ax], st[ax] = int(s), int(e), int(step)
	}
	od := make([]int, r)
	for k := range r {
		if st[k] > 0 {
			od[k] = max(0, (hi[k]-lo[k]+st[k]-1)/st[k])
		} else {
			od[k] = max(0, (lo[k]-hi[k]-st[k]-1)/(-st[k]))
		}
	}
	is := strides(x.dims)
	o := &ctensor{dims: od, isInt: x.isInt}
	idx := make([]int, r)
	for range prod(od) {
		src := 0
		for a := range r {
			src += (lo[a] + idx[a]*st[a]) * is[a]
		}
		if x.isInt {
			o.i = append(o.i, x.i[src])
		} else {
			o.f = append(o.f, x.f[src])
		}
		for a := r - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < od[a] {
				break
			}
			idx[a] = 0
		}
	}
	return o, nil
}

func concatConst(n *Node, in []*ctensor) (*ctensor, error) {
	var xs []*ctensor
	for _, t := range in {
		if t != nil {
			xs = append(xs, t)
		}
	}
	if len(xs) == 0 {
		return nil, errors.New("no inputs")
	}
	axis, _ := attrInt(n, "axis", 0)
	r := len(xs[0].dims)
	ax, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	od := slices.Clone(xs[0].dims)
	od[ax] = 0
	isInt := true
	for _, t := range xs {
		if len(t.dims) != r {
			return nil, fmt.Errorf("ranks differ: %v and %v", xs[0].dims, t.dims)
		}
		for k := range r {
			if k != ax && t.dims[k] != xs[0].dims[k] {
				return nil, fmt.Errorf("shapes %v and %v differ off axis %d", xs[0].dims, t.dims, ax)
			}
		}
		od[ax] += t.dims[ax]
		isInt = isInt && t.isInt
	}
	o := &ctensor{dims: od, isInt: isInt}
	outer := prod(od[:ax])
	for a := range outer {
		for _, t := range xs {
			inner := prod(t.dims[ax:])
			for k := a * inner; k < (a+1)*inner; k++ {
				if isInt {
					o.i = append(o.i, t.i[k])
				} else {
					o.f = append(o.f, t.at(k))
				}
			}
		}
	}
	return o, nil
}

func constantOfShape(n *Node, s *ctensor) (*ctensor, error) {
	if s == nil {
		return nil, errors.New("missing shape input")
	}
	dims := toInts(s.ints())
	total := int64(1)
	for _, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("shape %v: negative dim", dims)
		}
		if total *= int64(d); total*8 > maxFolded {
			return nil, fmt.Errorf("ConstantOfShape %v: over the %d MiB limit for folded constants", dims, maxFolded>>20)
		}
	}
	val := &ctensor{f: []float64{0}}
	if a := findAttr(n, "value"); a != nil && a.T != nil {
		v, err := (&converter{}).fromTensor(a.T)
		if err != nil {
			return nil, err
		}
		if v.size() != 1 {
			return nil, errors.New("value must have one element")
		}
		val = v
	}
	o := &ctensor{dims: dims, isInt: val.isInt}
	if val.isInt {
		o.i = make([]int64, total)
		for k := range o.i {
			o.i[k] = val.i[0]
		}
	} else {
		o.f = make([]float64, total)
		for k := range o.f {
			o.f[k] = val.f[0]
		}
	}
	return o, nil
}

// broadcastDims returns the numpy broadcast of two shapes.
func broadcastDims(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for k := range r {
		da, db := 1, 1
		if j := k - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := k - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[k] = da
		case da == 1:
			out[k] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastIndex maps a flat index of shape out to the flat index of the
// broadcast source shape in.
func broadcastIndex(in, out []int) []int {
	n := prod(out)
	is := strides(in)
	off := len(out) - len(in)
	idx := make([]int, len(out))
	m := make([]int, n)
	for k := range n {
		src := 0
		for a := range in {
			if in[a] != 1 {
				src += idx[a+off] * is[a]
			}
		}
		m[k] = src
		for a := len(out) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < out[a] {
				break
			}
			idx[a] = 0
		}
	}
	return m
}

func broadcastTo(x *ctensor, dims []int) (*ctensor, error) {
	if prod(dims)*8 > maxFolded {
		return nil, fmt.Errorf("broadcast to %v: over the %d MiB limit for folded constants", dims, maxFolded>>20)
	}
	m := broadcastIndex(x.dims, dims)
	o := &ctensor{dims: dims, isInt: x.isInt}
	for _, k := range m {
		if x.isInt {
			o.i = append(o.i, x.i[k])
		} else {
			o.f = append(o.f, x.f[k])
		}
	}
	return o, nil
}

func binaryConst(op string, x, y *ctensor) (*ctensor, error) {
	dims, err := broadcastDims(x.dims, y.dims)
	if err != nil {
		return nil, err
	}
	if prod(dims)*8 > maxFolded {
		return nil, fmt.Errorf("result %v: over the %d MiB limit for folded constants", dims, maxFolded>>20)
	}
	mx, my := broadcastIndex(x.dims, dims), broadcastIndex(y.dims, dims)
	isInt := x.isInt && y.isInt
	cmp := op == "Equal" || op == "Less" || op == "Greater"
	o := &ctensor{dims: dims, isInt: isInt || cmp}
	for k := range mx {
		if isInt {
			a, b := x.i[mx[k]], y.i[my[k]]
			var v int64
			switch op {
			case "Add":
				v = a + b
			case "Sub":
				v = a - b
			case "Mul":
				v = a * b
			case "Div":
				if b == 0 {
					return nil, errors.New("integer division by zero")
				}
				v = a / b
			case "Pow":
				v = int64(math.Pow(float64(a), float64(b)))
			case "Min":
				v = min(a, b)
			case "Max":
				v = max(a, b)
			case "Equal":
				v = boolInt(a == b)
			case "Less":
				v = boolInt(a < b)
			case "Greater":
				v = boolInt(a > b)
			}
			o.i = append(o.i, v)
			continue
		}
		a, b := x.at(mx[k]), y.at(my[k])
		var v float64
		switch op {
		case "Add":
			v = a + b
		case "Sub":
			v = a - b
		case "Mul":
			v = a * b
		case "Div":
			v = a / b
		case "Pow":
			v = math.Pow(a, b)
		case "Min":
			v = math.Min(a, b)
		case "Max":
			v = math.Max(a, b)
		case "Equal":
			o.i = append(o.i, boolInt(a == b))
			continue
		case "Less":
			o.i = append(o.i, boolInt(a < b))
			continue
		case "Greater":
			o.i = append(o.i, boolInt(a > b))
			continue
		}
		o.f = append(o.f, float64(float32(v)))
	}
	return o, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func unaryConst(op string, x *ctensor) *ctensor {
	if x.isInt && (op == "Neg" || op == "Abs" || op == "Relu" || op == "Not") {
		o := newInt(x.dims, make([]int64, len(x.i)))
		for k, v := range x.i {
			switch op {
			case "Neg":
				v = -v
			case "Abs":
				v = max(v, -v)
			case "Relu":
				v = max(v, 0)
			case "Not":
				v = 1 - boolInt(v != 0)
			}
			o.i[k] = v
		}
		return o
	}
	o := newFloat(x.dims, x.size())
	for k := range o.f {
		v := x.at(k)
		switch op {
		case "Neg":
			v = -v
		case "Sqrt":
			v = math.Sqrt(v)
		case "Reciprocal":
			v = 1 / v
		case "Abs":
			v = math.Abs(v)
		case "Exp":
			v = math.Exp(v)
		case "Log":
			v = math.Log(v)
		case "Relu":
			v = math.Max(v, 0)
		case "Floor":
			v = math.Floor(v)
		case "Ceil":
			v = math.Ceil(v)
		}
		o.f[k] = float64(float32(v))
	}
	return o
}

func whereConst(cond, x, y *ctensor) (*ctensor, error) {
	d1, err := broadcastDims(cond.dims, x.dims)
	if err != nil {
		return nil, err
	}
	dims, err := broadcastDims(d1, y.dims)
	if err != nil {
		return nil, err
	}
	mc, mx, my := broadcastIndex(cond.dims, dims), broadcastIndex(x.dims, dims), broadcastIndex(y.dims, dims)
	isInt := x.isInt && y.isInt
	o := &ctensor{dims: dims, isInt: isInt}
	for k := range mc {
		src, j := y, my[k]
		if cond.at(mc[k]) != 0 {
			src, j = x, mx[k]
		}
		if isInt {
			o.i = append(o.i, src.i[j])
		} else {
			o.f = append(o.f, src.at(j))
		}
	}
	return o, nil
}

func rangeConst(in []*ctensor) (*ctensor, error) {
	if len(in) != 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, errors.New("want start, limit and delta")
	}
	s, l, d := in[0].at(0), in[1].at(0), in[2].at(0)
	if d == 0 {
		return nil, errors.New("delta 0")
	}
	n := int(math.Max(math.Ceil((l-s)/d), 0))
	if n*8 > maxFolded {
		return nil, errors.New("range over the limit for folded constants")
	}
	if in[0].isInt {
		v := make([]int64, n)
		for k := range v {
			v[k] = int64(s + float64(k)*d)
		}
		return newInt([]int{n}, v), nil
	}
	o := newFloat([]int{n}, n)
	for k := range o.f {
		o.f[k] = s + float64(k)*d
	}
	return o, nil
}

// shapeOfValue folds Shape of an activation: its shape is static, with a
// batch of 1 (quartz computes one sample at a time, and a Reshape reads a
// leading 1 as the batch).
func (c *converter) shapeOfValue(n *Node) error {
	v := c.vals[n.Input[0]]
	start, _ := attrInt(n, "start", 0)
	end, _ := attrInt(n, "end", int64(len(v.shape)+1))
	c.consts[n.Output[0]] = shapeConst(append([]int{1}, v.shape...), start, end)
	return nil
}
