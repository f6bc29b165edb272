package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// lower converts a node with at least one activation input into graph
// nodes and records the values of its outputs.
func (c *converter) lower(n *Node) error {
	name := nodeName(n)
	x := c.vals[n.Input[0]]
	if x == nil && !slices.Contains([]string{"Add", "Mul", "Sub", "Div", "Concat", "Sum", "Max", "Min", "Mean", "Pow"}, n.OpType) {
		return fmt.Errorf("input %q must be an activation, not a constant", n.Input[0])
	}
	if x != nil && x.pad != nil && n.OpType != "Conv" && n.OpType != "AveragePool" {
		return fmt.Errorf("follows Pad %q: zero padding is %w only before a Conv or an unpadded, floor-mode AveragePool", x.pad.name, ErrUnsupported)
	}
	out := n.Output[0]
	for _, s := range n.Output[1:] {
		if s == "" {
			continue
		}
		if n.OpType == "LayerNormalization" {
			// Mean and InvStdDev: only an error if something reads them.
			c.uncomputed[s] = "the Mean/InvStdDev output of a LayerNormalization"
		} else if !(n.OpType == "Dropout" || n.OpType == "BatchNormalization") {
			return fmt.Errorf("output %q: only one output is %w", s, ErrUnsupported)
		}
	}
	var v *value
	var err error
	switch n.OpType {
	case "Conv":
		v, err = c.conv(n, name, x)
	case "Gemm":
		v, err = c.gemm(n, name, x)
	case "MatMul":
		v, err = c.matMul(n, name, x)
	case "Relu":
		v, err = c.unary(n, x, &graph.Node{Name: name, Op: graph.ReLU})
	case "Tanh":
		v, err = c.unary(n, x, &graph.Node{Name: name, Op: graph.Tanh})
	case "Sigmoid":
		v, err = c.unary(n, x, &graph.Node{Name: name, Op: graph.Sigmoid})
	case "HardSigmoid":
		a, err1 := attrFloat(n, "alpha", 0.2)
		b, err2 := attrFloat(n, "beta", 0.5)
		if err := errors.Join(err1, err2, checkAttrs(n, "alpha", "beta")); err != nil {
			return err
		}
		v, err = c.unary(nil, x, &graph.Node{Name: name, Op: graph.HardSigmoid, Alpha: a, Bias: b})
	case "HardSwish":
		v, err = c.unary(n, x, &graph.Node{Name: name, Op: graph.HardSwish})
	case "Clip":
		v, err = c.clip(n, name, x)
	case "LeakyRelu":
		if err := checkAttrs(n, "alpha"); err != nil {
			return err
		}
		alpha, err := attrFloat(n, "alpha", 0.01)
		if err != nil {
			return err
		}
		if math.IsNaN(float64(alpha)) || math.IsInf(float64(alpha), 0) {
			return fmt.Errorf("alpha %v is not finite", alpha)
		}
		v, err = c.unary(nil, x, &graph.Node{Name: name, Op: graph.LeakyReLU, Alpha: alpha})
	case "MaxPool", "AveragePool":
		v, err = c.pool(n, name, x)
	case "GlobalAveragePool":
		if err := checkAttrs(n); err != nil {
			return err
		}
		v, err = c.spatialOp(x, &graph.Node{Name: name, Op: graph.GlobalAvgPool})
	case "ReduceMean":
		v, err = c.reduce(n, name, x)
	case "BatchNormalization":
		v, err = c.batchNorm(n, name, x)
	case "Dropout":
		v, err = c.dropout(n, name, x)
	case "Identity":
		v, err = x, checkAttrs(n)
	case "Flatten", "Reshape", "Squeeze", "Unsqueeze":
		v, err = c.reshape(n, name, x)
	case "Transpose":
		v, err = c.transpose(n, x)
	case "Pad":
		v, err = c.pad(n, name, x)
	case "Softmax", "LogSoftmax":
		v, err = c.softmax(n, name, x)
	case "Add", "Sub", "Mul", "Div", "Sum":
		v, err = c.binary(n, name)
	case "Concat":
		v, err = c.concat(n, name)
	case "MeanVarianceNormalization":
		v, err = c.mvn(n, name, x)
	case "LayerNormalization":
		v, err = c.layerNorm(n, name, x)
	case "LRN":
		v, err = c.lrn(n, name, x)
	case "Shape":
		return fmt.Errorf("Shape of an earlier value is %w", ErrUnsupported)
	case "Pow":
		v, err = c.pow(n, name, x)
	case "PRelu":
		v, err = c.prelu(n, name, x)
	case "Max", "Min", "Mean":
		v, err = c.variadic(n, name)
	case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceSumSquare", "ReduceLogSumExp", "ReduceLogSum":
		v, err = c.reduce(n, name, x)
	default:
		if unaryOps[n.OpType] {
			v, err = c.unaryFn(n, name, x)
			break
		}
		return fmt.Errorf("op %s (opset %d) is %w by quartz's importer", n.OpType, c.opset, ErrUnsupported)
	}
	if err != nil {
		return err
	}
	c.setVal(out, v)
	return nil
}

// plain returns the node of a value whose stored memory order is the
// file's, refusing a transposed view.
func (c *converter) plain(x *value) (int, error) {
	if x.perm != nil || x.order != nil {
		return 0, fmt.Errorf("its input is a transposed view of the stored layout (perm %v): this use is %w; only flattening it before a Gemm/MatMul is", x.perm, ErrUnsupported)
	}
	return x.node, nil
}

// shaped returns a node holding x in the file's shape, adding a Reshape
// node when the stored shape differs.
func (c *converter) shaped(x *value, name string) (int, error) {
	i, err := c.plain(x)
	if err != nil {
		return 0, err
	}
	if slices.Equal(c.stored(i), x.shape) {
		return i, nil
	}
	if len(x.shape) == 1 {
		return c.add(&graph.Node{Name: name + "_flatten", Op: graph.Flatten}, i)
	}
	return c.add(&graph.Node{Name: name + "_reshape", Op: graph.Reshape, Shape: slices.Clone(x.shape)}, i)
}

// spatialOp adds l reading x as [C,H,W].
func (c *converter) spatialOp(x *value, l *graph.Node) (*value, error) {
	if len(x.shape) != 3 {
		return nil, fmt.Errorf("input shape [N %v]: want [N,C,H,W]", x.shape)
	}
	i, err := c.shaped(x, l.Name)
	if err != nil {
		return nil, err
	}
	j, err := c.add(l, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: slices.Clone(c.stored(j))}, nil
}

// unary adds an elementwise node; the value keeps its view. n, if not nil,
// must have no attributes.
func (c *converter) unary(n *Node, x *value, l *graph.Node) (*value, error) {
	if n != nil {
		if err := checkAttrs(n); err != nil {
			return nil, err
		}
	}
	j, err := c.add(l, x.node)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape, perm: x.perm, order: x.order}, nil
}

func (c *converter) conv(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"); err != nil {
		return nil, err
	}
	w, wd, err := c.constFloats(n, 1, "weight")
	if err != nil {
		return nil, err
	}
	if w == nil || len(wd) != 4 {
		return nil, fmt.Errorf("weight must be a constant [Cout,Cin/G,KH,KW] tensor: only 2-D convolution is %w", ErrUnsupported)
	}
	b, _, err := c.constFloats(n, 2, "bias")
	if err != nil {
		return nil, err
	}
	l := &graph.Node{Name: name, Op: graph.Conv, W: w, B: b, WShape: slices.Clone(wd)}
	kernel := []int{wd[2], wd[3]}
	if ks, err := attrInts(n, "kernel_shape", 2, 1, maxGeom, kernel); err != nil {
		return nil, err
	} else if ks[0] != kernel[0] || ks[1] != kernel[1] {
		return nil, fmt.Errorf("kernel_shape %v does not match weight dims %v", ks, wd)
	}
	g, err := attrInt(n, "group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 || g > maxGeom {
		return nil, fmt.Errorf("group %d must be positive", g)
	}
	l.Group = int(g)
	dil, err := attrInts(n, "dilations", 2, 1, maxGeom, []int{1, 1})
	if err != nil {
		return nil, err
	}
	l.Dilation = [2]int{dil[0], dil[1]}
	if err := c.geometry(n, l, x, kernel, dil); err != nil {
		return nil, err
	}
	if err := c.takePad(n, l, x); err != nil {
		return nil, err
	}
	return c.spatialOp(x, l)
}

// geometry reads strides, pads and auto_pad of Conv and pooling nodes into
// l.Kernel, l.Stride and l.Pad. Pooling nodes must set l.CeilMode first.
func (c *converter) geometry(n *Node, l *graph.Node, x *value, kernel, dil []int) error {
	l.Kernel = [2]int{kernel[0], kernel[1]}
	s, err := attrInts(n, "strides", 2, 1, maxGeom, []int{1, 1})
	if err != nil {
		return err
	}
	l.Stride = [2]int{s[0], s[1]}
	pads, err := attrInts(n, "pads", 4, 0, maxGeom, nil)
	if err != nil {
		return err
	}
	autoPad, err := attrString(n, "auto_pad", "NOTSET")
	if err != nil {
		return err
	}
	switch autoPad {
	case "NOTSET", "":
		if pads != nil {
			l.Pad = [4]int{pads[0], pads[1], pads[2], pads[3]}
		}
		return nil
	case "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return fmt.Errorf("auto_pad %q is %w", autoPad, ErrUnsupported)
	}
	for _, p := range pads {
		if p != 0 {
			return fmt.Errorf("auto_pad %s with explicit pads %v", autoPad, pads)
		}
	}
	if autoPad == "VALID" {
		return nil
	}
	in := x.shape
	if len(in) != 3 {
		return fmt.Errorf("input shape [N %v]: want [N,C,H,W]", in)
	}
	for ax := 0; ax < 2; ax++ {
		size, st := in[1+ax], l.Stride[ax]
		out := (size + st - 1) / st
		total := max(0, (out-1)*st+(kernel[ax]-1)*dil[ax]+1-size)
		lo := total / 2
		if autoPad == "SAME_LOWER" {
			lo = total - total/2
		}
		l.Pad[ax], l.Pad[2+ax] = lo, total-lo
	}
	return nil
}

// takePad merges a pending Pad of x into the node l just built from n.
func (c *converter) takePad(n *Node, l *graph.Node, x *value) error {
	p := x.pad
	if p == nil {
		return nil
	}
	ok := false
	switch l.Op {
	case graph.Conv:
		ok = true
	case graph.AvgPool:
		ok = l.Pad == [4]int{} && !l.CeilMode
		l.CountIncludePad = true
	}
	if ap, _ := attrString(n, "auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" && ap != "" {
		ok = false
	}
	if !ok {
		return fmt.Errorf("follows Pad %q: zero padding is %w only before a Conv or an unpadded, floor-mode AveragePool", p.name, ErrUnsupported)
	}
	for i := range l.Pad {
		l.Pad[i] += p.pad[i]
	}
	c.note("node %q: merged Pad %q (%v) into its padding", nodeName(n), p.name, p.pad)
	return nil
}

// linearOf adds a Linear node reading x with weight w [out, in].
func (c *converter) linearOf(name string, x *value, w []float32, out, in int, b []float32) (*value, error) {
	if x.perm != nil {
		return nil, fmt.Errorf("its input is transposed (perm %v) and not flattened: %w", x.perm, ErrUnsupported)
	}
	if len(x.shape) != 1 {
		return nil, fmt.Errorf("input shape [N %v]: want [N,%d] (flatten first)", x.shape, in)
	}
	if x.shape[0] != in {
		return nil, fmt.Errorf("input has %d features, weight wants %d", x.shape[0], in)
	}
	if x.order != nil {
		// The file's feature k is the stored feature x.order[k].
		nw := make([]float32, len(w))
		for o := 0; o < out; o++ {
			for k, s := range x.order {
				nw[o*in+s] = w[o*in+k]
			}
		}
		w = nw
		c.note("node %q: reordered the weight's input features to the stored channel-first layout (the file flattens a channels-last tensor)", name)
	}
	j, err := c.add(&graph.Node{Name: name, Op: graph.Linear, W: w, WShape: []int{out, in}, B: b}, x.node)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: []int{out}}, nil
}

func (c *converter) gemm(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "alpha", "beta", "transA", "transB", "broadcast"); err != nil {
		return nil, err
	}
	if c.opset < 7 {
		if _, err := attrInt(n, "broadcast", 0); err != nil {
			return nil, err
		}
	} else if findAttr(n, "broadcast") != nil {
		return nil, fmt.Errorf("attribute \"broadcast\" (opset 6 only) in opset %d", c.opset)
	}
	transA, err := attrInt(n, "transA", 0)
	if err != nil {
		return nil, err
	}
	if transA != 0 {
		return nil, fmt.Errorf("transA=%d is %w", transA, ErrUnsupported)
	}
	transB, err := attrInt(n, "transB", 0)
	if err != nil {
		return nil, err
	}
	alpha, err := attrFloat(n, "alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := attrFloat(n, "beta", 1)
	if err != nil {
		return nil, err
	}
	w, wd, err := c.constFloats(n, 1, "weight")
	if err != nil {
		return nil, err
	}
	if w == nil || len(wd) != 2 {
		return nil, errors.New("weight B must be a constant rank-2 tensor")
	}
	var out, in int
	switch transB {
	case 1:
		out, in = wd[0], wd[1]
	case 0:
		w, out, in = transpose(w, wd[0], wd[1]), wd[1], wd[0]
	default:
		return nil, fmt.Errorf("transB=%d: want 0 or 1", transB)
	}
	b, err := c.bias(n, 2, out)
	if err != nil {
		return nil, err
	}
	if alpha != 1 {
		for i := range w {
			w[i] *= alpha
		}
		c.note("node %q: folded Gemm alpha=%g into the weights", name, alpha)
	}
	if beta != 1 && b != nil {
		for i := range b {
			b[i] *= beta
		}
		c.note("node %q: folded Gemm beta=%g into the bias", name, beta)
	}
	return c.linearOf(name, x, w, out, in, b)
}

// bias reads constant input i as a bias of out values; a single value is
// broadcast.
func (c *converter) bias(n *Node, i, out int) ([]float32, error) {
	b, _, err := c.constFloats(n, i, "bias")
	if err != nil || b == nil {
		return nil, err
	}
	switch len(b) {
	case out:
		return b, nil
	case 1:
		full := make([]float32, out)
		for j := range full {
			full[j] = b[0]
		}
		return full, nil
	}
	return nil, fmt.Errorf("bias %q has %d values, want %d", n.Input[i], len(b), out)
}

// matMul converts MatMul(x, W) with a constant W [In,Out] into a Linear
// node; a following constant Add becomes an Affine that folds into it.
func (c *converter) matMul(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n); err != nil {
		return nil, err
	}
	if len(n.Input) != 2 {
		return nil, fmt.Errorf("%d inputs: want 2", len(n.Input))
	}
	if c.vals[n.Input[1]] != nil {
		return nil, fmt.Errorf("a product of two activations is %w", ErrUnsupported)
	}
	w, wd, err := c.constFloats(n, 1, "weight")
	if err != nil {
		return nil, err
	}
	if w == nil || len(wd) != 2 {
		return nil, errors.New("weight must be a constant rank-2 tensor")
	}
	in, out := wd[0], wd[1]
	return c.linearOf(name, x, transpose(w, in, out), out, in, nil)
}

func (c *converter) clip(n *Node, name string, x *value) (*value, error) {
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	var err error
	if c.opset < 11 {
		if err = checkAttrs(n, "min", "max"); err != nil {
			return nil, err
		}
		if lo, err = attrFloat(n, "min", lo); err != nil {
			return nil, err
		}
		if hi, err = attrFloat(n, "max", hi); err != nil {
			return nil, err
		}
	} else {
		if err = checkAttrs(n); err != nil {
			return nil, err
		}
		if lo, err = c.scalar(n, 1, "min", lo); err != nil {
			return nil, err
		}
		if hi, err = c.scalar(n, 2, "max", hi); err != nil {
			return nil, err
		}
	}
	if lo != lo || hi != hi || lo > hi {
		return nil, fmt.Errorf("bounds [%v, %v] are not an interval", lo, hi)
	}
	if lo == 0 && hi >= math.MaxFloat32 {
		return c.unary(nil, x, &graph.Node{Name: name, Op: graph.ReLU})
	}
	return c.unary(nil, x, &graph.Node{Name: name, Op: graph.Clip, Min: lo, Max: hi})
}

func (c *converter) pool(n *Node, name string, x *value) (*value, error) {
	l := &graph.Node{Name: name, Op: graph.MaxPool}
	if n.OpType == "AveragePool" {
		l.Op = graph.AvgPool
		if err := checkAttrs(n, "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"); err != nil {
			return nil, err
		}
		cip, err := attrInt(n, "count_include_pad", 0)
		if err != nil {
			return nil, err
		}
		l.CountIncludePad = cip != 0
	} else {
		if err := checkAttrs(n, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"); err != nil {
			return nil, err
		}
		so, err := attrInt(n, "storage_order", 0)
		if err != nil {
			return nil, err
		}
		if so != 0 {
			return nil, fmt.Errorf("storage_order=%d is %w", so, ErrUnsupported)
		}
		if len(n.Output) > 1 && n.Output[1] != "" {
			return nil, fmt.Errorf("the Indices output is %w", ErrUnsupported)
		}
	}
	dil, err := attrInts(n, "dilations", 2, 1, maxGeom, []int{1, 1})
	if err != nil {
		return nil, err
	}
	if dil[0] != 1 || dil[1] != 1 {
		return nil, fmt.Errorf("pooling dilations %v are %w", dil, ErrUnsupported)
	}
	ceil, err := attrInt(n, "ceil_mode", 0)
	if err != nil {
		return nil, err
	}
	l.CeilMode = ceil != 0
	k, err := attrInts(n, "kernel_shape", 2, 1, maxGeom, nil)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, errors.New("missing kernel_shape")
	}
	if err := c.geometry(n, l, x, k, dil); err != nil {
		return nil, err
	}
	if err := c.takePad(n, l, x); err != nil {
		return nil, err
	}
	return c.spatialOp(x, l)
}

// globalMean lowers a mean over H and W to global average pooling, then
// drops the two unit axes when keep is false.
func (c *converter) globalMean(name string, x *value, keep bool) (*value, error) {
	v, err := c.spatialOp(x, &graph.Node{Name: name, Op: graph.GlobalAvgPool})
	if err != nil || keep {
		return v, err
	}
	v.shape = []int{v.shape[0]}
	return v, nil
}

// channelParams checks that x's channel axis (file axis 1) is stored as
// axis 0, so that per-channel parameters apply unchanged.
func (c *converter) channelParams(x *value) (int, error) {
	i, err := c.plain(x)
	if err != nil {
		return 0, err
	}
	if len(x.shape) == 0 || c.stored(i)[0] != x.shape[0] {
		return 0, fmt.Errorf("input [N %v] is stored as %v: channels do not line up", x.shape, c.stored(i))
	}
	return i, nil
}

func (c *converter) batchNorm(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "epsilon", "momentum", "spatial", "training_mode", "is_test"); err != nil {
		return nil, err
	}
	if err := c.isTest(n); err != nil {
		return nil, err
	}
	for _, s := range n.Output[1:] {
		if s != "" {
			return nil, fmt.Errorf("training outputs (running mean/var) are %w", ErrUnsupported)
		}
	}
	eps, err := attrFloat(n, "epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	if tm, err := attrInt(n, "training_mode", 0); err != nil {
		return nil, err
	} else if tm != 0 {
		return nil, fmt.Errorf("training_mode=%d is %w", tm, ErrUnsupported)
	}
	if sp, err := attrInt(n, "spatial", 1); err != nil {
		return nil, err
	} else if sp != 1 {
		return nil, fmt.Errorf("spatial=%d is %w", sp, ErrUnsupported)
	}
	l := &graph.Node{Name: name, Op: graph.BatchNorm, Eps: eps}
	for k, p := range []*[]float32{&l.Gamma, &l.Beta, &l.Mean, &l.Var} {
		what := [...]string{"scale", "B", "input_mean", "input_var"}[k]
		v, _, err := c.constFloats(n, k+1, what)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("missing %s input", what)
		}
		*p = v
	}
	for ch, v := range l.Var {
		if !(float64(v)+float64(eps) > 0) {
			return nil, fmt.Errorf("input_var[%d] = %v with epsilon %v: the variance must be positive", ch, v, eps)
		}
	}
	i, err := c.channelParams(x)
	if err != nil {
		return nil, err
	}
	j, err := c.add(l, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape}, nil
}

func (c *converter) dropout(n *Node, name string, x *value) (*value, error) {
	ratio := float32(0.5)
	var err error
	if c.opset < 12 {
		if err = checkAttrs(n, "ratio", "is_test"); err != nil {
			return nil, err
		}
		if err = c.isTest(n); err != nil {
			return nil, err
		}
		if ratio, err = attrFloat(n, "ratio", ratio); err != nil {
			return nil, err
		}
	} else {
		if err = checkAttrs(n, "seed"); err != nil {
			return nil, err
		}
		if ratio, err = c.scalar(n, 1, "ratio", ratio); err != nil {
			return nil, err
		}
		if t := c.constIn(n, 2); t != nil {
			if v := t.ints(); len(v) != 1 || v[0] != 0 {
				return nil, fmt.Errorf("training_mode=%v is %w", v, ErrUnsupported)
			}
		} else if len(n.Input) > 2 && n.Input[2] != "" {
			return nil, fmt.Errorf("training_mode input %q is not a constant", n.Input[2])
		}
	}
	if len(n.Output) > 1 && n.Output[1] != "" {
		return nil, fmt.Errorf("the mask output is %w", ErrUnsupported)
	}
	if !(ratio >= 0 && ratio < 1) {
		return nil, fmt.Errorf("ratio %v outside [0, 1)", ratio)
	}
	return c.unary(nil, x, &graph.Node{Name: name, Op: graph.Dropout, Ratio: ratio})
}

// isTest checks the is_test attribute of opset-6 BatchNormalization and
// Dropout: 0 means training mode, which has other outputs.
func (c *converter) isTest(n *Node) error {
	a := findAttr(n, "is_test")
	if a == nil {
		if c.opset < 7 {
			return fmt.Errorf("is_test absent (training mode) in opset %d is %w", c.opset, ErrUnsupported)
		}
		return nil
	}
	if c.opset >= 7 {
		return fmt.Errorf("attribute \"is_test\" (opset 6 only) in opset %d", c.opset)
	}
	if a.Type != AttrInt {
		return fmt.Errorf("attribute \"is_test\": type %d, want INT", a.Type)
	}
	if a.I == 0 {
		return fmt.Errorf("is_test=0 (training mode) is %w", ErrUnsupported)
	}
	return nil
}

// reshape handles Flatten, Reshape, Squeeze and Unsqueeze of an
// activation. The file's batch dimension must stay in front: the target's
// first dim is read as the batch when it is 0, 1, -1 or a fixed batch
// size. The stored values do not move: a flatten to [N,K] adds a Flatten
// node, a transposed view flattens with its order recorded, other shapes
// are views that a later Conv or pooling node reshapes if it needs to.
func (c *converter) reshape(n *Node, name string, x *value) (*value, error) {
	full := append([]int{1}, x.shape...)
	var dims []int
	switch n.OpType {
	case "Flatten":
		if err := checkAttrs(n, "axis"); err != nil {
			return nil, err
		}
		axis, err := attrInt(n, "axis", 1)
		if err != nil {
			return nil, err
		}
		if axis < 0 {
			axis += int64(len(full))
		}
		if axis != 1 {
			return nil, fmt.Errorf("axis %d: only axis 1 (keep the batch dimension) is %w", axis, ErrUnsupported)
		}
		dims = []int{1, prod(x.shape)}
	case "Reshape":
		if err := checkAttrs(n, "allowzero"); err != nil {
			return nil, err
		}
		az, err := attrInt(n, "allowzero", 0)
		if err != nil {
			return nil, err
		}
		s, err := c.intsIn(n, 1, "shape")
		if err != nil {
			return nil, err
		}
		s = slices.Clone(s)
		// The target's first dim is the batch: a fixed size (or -1 with
		// the rest given) reads as "the batch as it comes".
		if len(s) > 1 && s[0] > 1 {
			c.note("node %q: Reshape to %v fixes the batch size at %d; read with the batch as it comes", name, s, s[0])
			s[0] = 1
		}
		if len(s) > 1 && s[0] == -1 && !slices.Contains(s[1:], -1) {
			s[0] = 1
		}
		if dims, err = reshapeDims(full, s, az != 0); err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrUnsupported)
		}
	case "Squeeze", "Unsqueeze":
		axes, err := c.axesOf(n, 1)
		if err != nil {
			return nil, err
		}
		if err := checkAttrs(n, "axes"); err != nil {
			return nil, err
		}
		insert := n.OpType == "Unsqueeze"
		if !insert && len(axes) == 0 {
			// Squeeze every 1 but the batch, whose size is not known.
			for k, d := range full[1:] {
				if d == 1 {
					axes = append(axes, int64(k+1))
				}
			}
			if len(axes) == 0 {
				return x, nil
			}
		}
		r := len(full)
		if insert {
			r += len(axes)
		}
		for _, a := range axes {
			if k, err := normAxis(a, r); err == nil && k == 0 {
				return nil, fmt.Errorf("axes %v: a %s of axis 0 moves the batch dimension: %w", axes, n.OpType, ErrUnsupported)
			}
		}
		if dims, err = squeezeDims(full, axes, insert); err != nil {
			return nil, err
		}
	}
	if len(dims) == 0 || dims[0] != 1 {
		return nil, fmt.Errorf("reshape of [N %v] to %v moves the batch dimension: %w", x.shape, dims, ErrUnsupported)
	}
	shape := dims[1:]
	if len(shape) == 0 {
		return nil, fmt.Errorf("reshape of [N %v] to a scalar per sample is %w", x.shape, ErrUnsupported)
	}
	if x.perm != nil {
		if len(shape) != 1 {
			return nil, fmt.Errorf("reshape of a transposed value (perm %v) to [N %v]: only flattening it is %w", x.perm, shape, ErrUnsupported)
		}
		j, err := c.add(&graph.Node{Name: name, Op: graph.Flatten}, x.node)
		if err != nil {
			return nil, err
		}
		return &value{node: j, shape: shape, order: flatOrder(x.shape, x.perm, c.stored(x.node))}, nil
	}
	if x.order != nil {
		if len(shape) != 1 {
			return nil, fmt.Errorf("reshape of a reordered flat value to [N %v] is %w", shape, ErrUnsupported)
		}
		return &value{node: x.node, shape: shape, order: x.order}, nil
	}
	if len(shape) == 1 && len(c.stored(x.node)) > 1 {
		j, err := c.add(&graph.Node{Name: name, Op: graph.Flatten}, x.node)
		if err != nil {
			return nil, err
		}
		return &value{node: j, shape: shape}, nil
	}
	return &value{node: x.node, shape: shape}, nil
}

// flatOrder maps each index of the file's row-major flattening of a value
// with file shape `shape` (file axis k stored as axis perm[k]) to the
// stored flat index.
func flatOrder(shape, perm, stored []int) []int {
	ss := strides(stored)
	n := prod(shape)
	out := make([]int, n)
	idx := make([]int, len(shape))
	for k := range n {
		s := 0
		for a := range shape {
			s += idx[a] * ss[perm[a]]
		}
		out[k] = s
		for a := len(shape) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < shape[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out
}

// transpose records a transposed view: nothing moves in the store.
func (c *converter) transpose(n *Node, x *value) (*value, error) {
	if err := checkAttrs(n, "perm"); err != nil {
		return nil, err
	}
	r := len(x.shape) + 1
	a := findAttr(n, "perm")
	p := make([]int, r)
	if a != nil {
		if len(a.Ints) != r {
			return nil, fmt.Errorf("perm %v for a rank-%d input", a.Ints, r)
		}
		for k, v := range a.Ints {
			p[k] = int(v)
		}
	} else {
		for k := range p {
			p[k] = r - 1 - k
		}
	}
	seen := make([]bool, r)
	for _, v := range p {
		if v < 0 || v >= r || seen[v] {
			return nil, fmt.Errorf("perm %v is not a permutation", p)
		}
		seen[v] = true
	}
	if p[0] != 0 {
		return nil, fmt.Errorf("perm %v moves the batch dimension: %w", p, ErrUnsupported)
	}
	if x.order != nil {
		return nil, fmt.Errorf("transpose of a reordered flat value is %w", ErrUnsupported)
	}
	old := x.perm
	if old == nil {
		st := c.stored(x.node)
		if len(st) != len(x.shape) || !slices.Equal(st, x.shape) {
			i, err := c.shaped(x, nodeName(n))
			if err != nil {
				return nil, err
			}
			x = &value{node: i, shape: x.shape}
		}
		old = make([]int, len(x.shape))
		for k := range old {
			old[k] = k
		}
	}
	np := make([]int, r-1)
	shape := make([]int, r-1)
	identity := true
	for k := 1; k < r; k++ {
		np[k-1] = old[p[k]-1]
		shape[k-1] = x.shape[p[k]-1]
		identity = identity && np[k-1] == k-1
	}
	v := &value{node: x.node, shape: shape, perm: np}
	if identity {
		v.perm = nil
	}
	return v, nil
}

// pad handles an explicit Pad node. All-zero pads are dropped; constant
// zero padding of H and W waits for the Conv (or the unpadded, floor-mode
// AveragePool, which then counts the padding) that must read it.
func (c *converter) pad(n *Node, name string, x *value) (*value, error) {
	mode, pads, val := "constant", []int64(nil), float32(0)
	var err error
	if c.opset < 11 {
		if err = checkAttrs(n, "mode", "pads", "value"); err != nil {
			return nil, err
		}
		if a := findAttr(n, "pads"); a != nil {
			pads = a.Ints
		}
		if val, err = attrFloat(n, "value", 0); err != nil {
			return nil, err
		}
	} else {
		if err = checkAttrs(n, "mode"); err != nil {
			return nil, err
		}
		if pads, err = c.intsIn(n, 1, "pads"); err != nil {
			return nil, err
		}
		if val, err = c.scalar(n, 2, "constant_value", 0); err != nil {
			return nil, err
		}
		if len(n.Input) > 3 && n.Input[3] != "" {
			return nil, fmt.Errorf("axes input is %w", ErrUnsupported)
		}
	}
	if mode, err = attrString(n, "mode", mode); err != nil {
		return nil, err
	}
	r := len(x.shape) + 1
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pads %v: want %d values for a rank-%d input", pads, 2*r, r)
	}
	if !slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) {
		c.note("node %q: dropped Pad with zero pads", name)
		return x, nil
	}
	if mode != "constant" || val != 0 {
		return nil, fmt.Errorf("mode %q with value %v: only zero padding is %w", mode, val, ErrUnsupported)
	}
	if r != 4 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return nil, fmt.Errorf("pads %v: only padding of H and W is %w", pads, ErrUnsupported)
	}
	for _, p := range pads {
		if p < 0 || p > maxGeom {
			return nil, fmt.Errorf("pads %v: negative (cropping) or huge pads are %w", pads, ErrUnsupported)
		}
	}
	v := *x
	v.pad = &pendingPad{name: name, pad: [4]int{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])}}
	return &v, nil
}

// softmax over each sample's scores as a whole is recorded as the model's
// output activation (only the graph output may read it); along one axis
// inside the network it is an ANN-only node.
func (c *converter) softmax(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "axis"); err != nil {
		return nil, err
	}
	r := int64(len(x.shape) + 1)
	def := int64(1)
	if c.opset >= 13 {
		def = -1
	}
	axis, err := attrInt(n, "axis", def)
	if err != nil {
		return nil, err
	}
	if axis < 0 {
		axis += r
	}
	if axis <= 0 || axis >= r {
		return nil, fmt.Errorf("axis %d of [N %v]: a softmax across samples is %w", axis, x.shape, ErrUnsupported)
	}
	whole := true
	for k, d := range x.shape {
		if c.opset >= 13 && int64(k+1) != axis && d != 1 {
			whole = false
		}
	}
	if c.opset < 13 && axis != 1 {
		whole = false
	}
	if whole {
		return &value{node: x.node, shape: x.shape, perm: x.perm, order: x.order, final: n.OpType}, nil
	}
	if n.OpType == "LogSoftmax" || c.opset < 13 {
		return nil, fmt.Errorf("a %s over part of each sample (axis %d of [N %v]) is %w", n.OpType, axis, x.shape, ErrUnsupported)
	}
	i, err := c.plain(x)
	if err != nil {
		return nil, err
	}
	i, err = c.shaped(&value{node: i, shape: x.shape}, name)
	if err != nil {
		return nil, err
	}
	j, err := c.add(&graph.Node{Name: name, Op: graph.Softmax, Axis: int(axis - 1)}, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape}, nil
}

// binary handles Add, Sub, Mul, Div and Sum: of activations (Add of two
// or more, Sub and Mul of two), or of an activation and a constant, which
// becomes a per-channel or per-element Affine node.
func (c *converter) binary(n *Node, name string) (*value, error) {
	if err := checkAttrs(n, "broadcast", "axis"); err != nil {
		return nil, err
	}
	if findAttr(n, "axis") != nil || findAttr(n, "broadcast") != nil {
		if b, _ := attrInt(n, "broadcast", 0); b != 0 {
			return nil, fmt.Errorf("legacy broadcast with an axis attribute is %w", ErrUnsupported)
		}
	}
	var acts []*value
	var consts []*ctensor
	actFirst := false
	for k, s := range n.Input {
		if s == "" {
			continue
		}
		if v := c.vals[s]; v != nil {
			if v.pad != nil {
				return nil, fmt.Errorf("follows Pad %q: zero padding is %w only before a Conv or an unpadded, floor-mode AveragePool", v.pad.name, ErrUnsupported)
			}
			acts = append(acts, v)
			if k == 0 {
				actFirst = true
			}
		} else if t := c.consts[s]; t != nil {
			consts = append(consts, t)
		}
	}
	op := n.OpType
	if op == "Sum" {
		op = "Add"
	}
	if len(consts) == 0 {
		return c.binaryActs(op, name, acts)
	}
	if len(acts) != 1 || len(consts) != 1 {
		return nil, fmt.Errorf("%d activations and %d constants: %w", len(acts), len(consts), ErrUnsupported)
	}
	x, k := acts[0], consts[0]
	full := append([]int{1}, x.shape...)
	dims, err := broadcastDims(full, k.dims)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(dims, full) {
		return nil, fmt.Errorf("the constant %v would broadcast [N %v] to %v: %w", k.dims, x.shape, dims, ErrUnsupported)
	}
	m := broadcastIndex(k.dims, full)
	size := len(m)
	scale, shift := make([]float64, size), make([]float64, size)
	for e, src := range m {
		kv := k.at(src)
		scale[e] = 1
		switch {
		case op == "Add":
			shift[e] = kv
		case op == "Sub" && actFirst:
			shift[e] = -kv
		case op == "Sub":
			scale[e], shift[e] = -1, kv
		case op == "Mul":
			scale[e] = kv
		case op == "Div" && actFirst:
			scale[e] = 1 / kv
		default:
			return nil, fmt.Errorf("a constant divided by an activation is %w", ErrUnsupported)
		}
	}
	if k.half {
		c.halfCasts++
		k.half = false
	}
	return c.affine(name, x, scale, shift)
}

// affine adds an Affine node with the given per-element (file order)
// scale and shift, stored per channel where they are constant over each
// stored channel.
func (c *converter) affine(name string, x *value, scale, shift []float64) (*value, error) {
	st := c.stored(x.node)
	size := prod(st)
	// Move the values to the stored order.
	ss, sh := make([]float64, size), make([]float64, size)
	switch {
	case x.order != nil:
		for e, s := range x.order {
			ss[s], sh[s] = scale[e], shift[e]
		}
	case x.perm != nil:
		fo := flatOrder(x.shape, x.perm, st)
		for e, s := range fo {
			ss[s], sh[s] = scale[e], shift[e]
		}
	default:
		copy(ss, scale)
		copy(sh, shift)
	}
	ch := st[0]
	per := size / ch
	perChannel := true
	for cc := 0; cc < ch && perChannel; cc++ {
		for e := cc * per; e < (cc+1)*per; e++ {
			if ss[e] != ss[cc*per] || sh[e] != sh[cc*per] {
				perChannel = false
				break
			}
		}
	}
	l := &graph.Node{Name: name, Op: graph.Affine}
	if perChannel {
		for cc := range ch {
			l.Scale = append(l.Scale, float32(ss[cc*per]))
			l.Shift = append(l.Shift, float32(sh[cc*per]))
		}
	} else {
		for e := range size {
			l.Scale = append(l.Scale, float32(ss[e]))
			l.Shift = append(l.Shift, float32(sh[e]))
		}
	}
	for e := range l.Scale {
		if f := float64(l.Scale[e]) + float64(l.Shift[e]); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("the constant gives a non-finite scale or shift (%v, %v)", l.Scale[e], l.Shift[e])
		}
	}
	j, err := c.add(l, x.node)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape, perm: x.perm, order: x.order}, nil
}

// binaryActs adds Add (or Sub, as an Add of a negated input) or Mul of
// activations of one shape and layout.
func (c *converter) binaryActs(op, name string, acts []*value) (*value, error) {
	if len(acts) == 1 && op == "Add" { // Sum of one input
		return acts[0], nil
	}
	if len(acts) < 2 {
		return nil, errors.New("want two or more inputs")
	}
	if len(acts) > 2 && op != "Add" {
		return nil, fmt.Errorf("%d inputs: want two", len(acts))
	}
	x := acts[0]
	for _, a := range acts[1:] {
		if op == "Div" || !slices.Equal(a.shape, x.shape) {
			return c.binaryFn(op, name, acts)
		}
	}
	ids := []int{}
	for _, a := range acts {
		if !slices.Equal(a.shape, x.shape) || !slices.Equal(a.perm, x.perm) || !slices.Equal(a.order, x.order) {
			return nil, fmt.Errorf("inputs of shapes [N %v] and [N %v] (or layouts) differ: broadcasting between activations is %w", x.shape, a.shape, ErrUnsupported)
		}
		i := a.node
		if !slices.Equal(c.stored(i), c.stored(x.node)) {
			var err error
			if i, err = c.shaped(a, name); err != nil {
				return nil, err
			}
		}
		ids = append(ids, i)
	}
	if len(ids) >= 2 && !slices.Equal(c.stored(ids[0]), c.stored(ids[1])) {
		var err error
		if ids[0], err = c.shaped(x, name); err != nil {
			return nil, err
		}
	}
	if op == "Sub" {
		st := c.stored(ids[1])
		neg, err := c.add(&graph.Node{Name: name + "_neg", Op: graph.Affine, Scale: fill32(st[0], -1), Shift: make([]float32, st[0])}, ids[1])
		if err != nil {
			return nil, err
		}
		ids[1], op = neg, "Add"
	}
	gop := graph.Add
	if op == "Mul" {
		gop = graph.Mul
	}
	j, err := c.add(&graph.Node{Name: name, Op: gop}, ids...)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape, perm: x.perm, order: x.order}, nil
}

func fill32(n int, v float32) []float32 {
	out := make([]float32, n)
	for k := range out {
		out[k] = v
	}
	return out
}

// concat along the channel axis (file axis 1) of activations stored in
// the file's layout.
func (c *converter) concat(n *Node, name string) (*value, error) {
	if err := checkAttrs(n, "axis"); err != nil {
		return nil, err
	}
	var ids []int
	var x *value
	for _, s := range n.Input {
		if s == "" {
			continue
		}
		v := c.vals[s]
		if v == nil {
			return nil, fmt.Errorf("input %q is a constant: a Concat of activations and constants is %w", s, ErrUnsupported)
		}
		if x == nil {
			x = v
		}
		i, err := c.shaped(v, name)
		if err != nil {
			return nil, err
		}
		ids = append(ids, i)
	}
	axis, err := attrInt(n, "axis", 1)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, len(x.shape)+1)
	if err != nil {
		return nil, err
	}
	if a != 1 {
		return nil, fmt.Errorf("axis %d: only a Concat along the channel axis 1 is %w", axis, ErrUnsupported)
	}
	if len(ids) == 1 {
		return &value{node: ids[0], shape: x.shape}, nil
	}
	j, err := c.add(&graph.Node{Name: name, Op: graph.Concat}, ids...)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: slices.Clone(c.stored(j))}, nil
}

// mvn is MeanVarianceNormalization over per-sample axes.
func (c *converter) mvn(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "axes"); err != nil {
		return nil, err
	}
	axes := []int64{0, 2, 3}
	if a := findAttr(n, "axes"); a != nil {
		axes = a.Ints
	}
	return c.normOver(name, x, axes, 1e-9)
}

func (c *converter) normOver(name string, x *value, axes []int64, eps float32) (*value, error) {
	r := len(x.shape) + 1
	var per []int
	for _, a := range axes {
		k, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return nil, fmt.Errorf("axes %v include the batch: statistics across samples are %w", axes, ErrUnsupported)
		}
		per = append(per, k-1)
	}
	slices.Sort(per)
	i, err := c.shaped(x, name)
	if err != nil {
		return nil, err
	}
	j, err := c.add(&graph.Node{Name: name, Op: graph.LayerNorm, Axes: per, Eps: eps}, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape}, nil
}

// layerNorm is LayerNormalization (opset 17): a LayerNorm over the axes
// from `axis` on, then the per-element scale and bias.
func (c *converter) layerNorm(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "axis", "epsilon", "stash_type"); err != nil {
		return nil, err
	}
	axis, err := attrInt(n, "axis", -1)
	if err != nil {
		return nil, err
	}
	eps, err := attrFloat(n, "epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	r := len(x.shape) + 1
	a, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	var axes []int64
	for k := a; k < r; k++ {
		axes = append(axes, int64(k))
	}
	v, err := c.normOver(name, x, axes, eps)
	if err != nil {
		return nil, err
	}
	scale, shift := make([]float64, prod(x.shape)), make([]float64, prod(x.shape))
	full := append([]int{1}, x.shape...)
	for k, p := range []*[]float64{&scale, &shift} {
		t := c.constIn(n, k+1)
		if t == nil {
			if k == 0 {
				return nil, errors.New("missing Scale input (or it is not a constant)")
			}
			continue
		}
		if _, err := broadcastDims(full, t.dims); err != nil {
			return nil, err
		}
		for e, src := range broadcastIndex(t.dims, full) {
			(*p)[e] = t.at(src)
		}
	}
	return c.affine(name+"_affine", v, scale, shift)
}

func (c *converter) lrn(n *Node, name string, x *value) (*value, error) {
	if err := checkAttrs(n, "alpha", "beta", "bias", "size"); err != nil {
		return nil, err
	}
	alpha, err1 := attrFloat(n, "alpha", 1e-4)
	beta, err2 := attrFloat(n, "beta", 0.75)
	bias, err3 := attrFloat(n, "bias", 1)
	size, err4 := attrInt(n, "size", 0)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	if size < 1 || size > maxGeom {
		return nil, fmt.Errorf("size %d must be positive", size)
	}
	i, err := c.channelParams(x)
	if err != nil {
		return nil, err
	}
	j, err := c.add(&graph.Node{Name: name, Op: graph.LRN, Alpha: alpha, Power: beta, Bias: bias, Size: int(size)}, i)
	if err != nil {
		return nil, err
	}
	return &value{node: j, shape: x.shape}, nil
}
