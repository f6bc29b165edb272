package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// This file handles the nodes that PyTorch, tf2onnx and Keras exporters put
// around the layers without computing on activations: shape arithmetic
// (x.view(x.size(0), -1) exports Shape → Gather → Unsqueeze → Concat →
// Reshape), explicit Pad nodes, Transpose and Squeeze.

// symBatch stands for the symbolic batch size in a shape value.
const symBatch = math.MinInt64

// shapeVal is an int64 tensor computed from the shape of an activation: a
// scalar or a 1-D vector whose entries may be symBatch.
type shapeVal struct {
	v      []int64
	scalar bool
}

// shapeOf records Shape(cur): [N, C, H, W] with N symbolic.
func (c *converter) shapeOf(n *Node) error {
	if err := checkAttrs(n, "start", "end"); err != nil {
		return err
	}
	in, err := c.curShape()
	if err != nil {
		return err
	}
	v := []int64{symBatch}
	for _, d := range in {
		v = append(v, int64(d))
	}
	r := int64(len(v))
	start, err := attrInt(n, "start", 0)
	if err != nil {
		return err
	}
	end, err := attrInt(n, "end", r)
	if err != nil {
		return err
	}
	start, end = clampIndex(start, r), clampIndex(end, r)
	if end < start {
		end = start
	}
	c.shapes[n.Output[0]] = &shapeVal{v: v[start:end]}
	return nil
}

func clampIndex(i, r int64) int64 {
	if i < 0 {
		i += r
	}
	return min(max(i, 0), r)
}

// intInput returns input i as an int64 shape value: a computed shape or an
// integer constant.
func (c *converter) intInput(n *Node, i int) (*shapeVal, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return nil, nil
	}
	s := n.Input[i]
	if v := c.shapes[s]; v != nil {
		return v, nil
	}
	t := c.consts[s]
	if t == nil {
		return nil, fmt.Errorf("input %q is neither a constant nor computed from a shape", s)
	}
	if len(t.Dims) > 1 {
		return nil, fmt.Errorf("input %q has rank %d; shape arithmetic on rank > 1 is %w", s, len(t.Dims), ErrUnsupported)
	}
	v, err := t.Int64s()
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", s, err)
	}
	return &shapeVal{v: v, scalar: len(t.Dims) == 0}, nil
}

// axesOf reads the axes of Squeeze/Unsqueeze: an attribute before opset 13,
// an optional constant input from 13.
func (c *converter) axesOf(n *Node) ([]int64, error) {
	if c.opset < 13 {
		if err := checkAttrs(n, "axes"); err != nil {
			return nil, err
		}
		if a := findAttr(n, "axes"); a != nil {
			if a.Type != AttrInts {
				return nil, fmt.Errorf("attribute \"axes\": type %d, want INTS", a.Type)
			}
			return a.Ints, nil
		}
		return nil, nil
	}
	if err := checkAttrs(n); err != nil {
		return nil, err
	}
	if len(n.Input) < 2 || n.Input[1] == "" {
		return nil, nil
	}
	t := c.consts[n.Input[1]]
	if t == nil {
		return nil, fmt.Errorf("axes input %q is not a constant", n.Input[1])
	}
	return t.Int64s()
}

// shapeArith evaluates a node whose inputs are all constants or shape
// values. It reports false when the op is not shape arithmetic.
func (c *converter) shapeArith(n *Node) (bool, error) {
	usesShape := false
	for _, s := range n.Input {
		usesShape = usesShape || c.shapes[s] != nil
	}
	if !usesShape {
		return false, nil
	}
	var out *shapeVal
	var err error
	switch n.OpType {
	case "Gather":
		out, err = c.gatherShape(n)
	case "Unsqueeze", "Squeeze":
		out, err = c.squeezeShape(n)
	case "Concat":
		out, err = c.concatShape(n)
	case "Cast":
		if err = checkAttrs(n, "to", "saturate"); err == nil {
			to, _ := attrInt(n, "to", 0)
			if DataType(to) != Int64 && DataType(to) != Int32 {
				err = fmt.Errorf("Cast of a shape to %v is %w", DataType(to), ErrUnsupported)
			}
			out = c.shapes[n.Input[0]]
		}
	case "Identity":
		out = c.shapes[n.Input[0]]
	default:
		return true, fmt.Errorf("%s on a tensor's shape is %w (dynamic shapes); use torch.flatten(x, 1) instead of x.view(x.size(0), -1)", n.OpType, ErrUnsupported)
	}
	if err != nil {
		return true, err
	}
	if len(n.Output) != 1 || out == nil {
		return true, errors.New("want exactly one output")
	}
	c.shapes[n.Output[0]] = out
	c.defined[n.Output[0]] = true
	return true, nil
}

func (c *converter) gatherShape(n *Node) (*shapeVal, error) {
	if err := checkAttrs(n, "axis"); err != nil {
		return nil, err
	}
	if ax, err := attrInt(n, "axis", 0); err != nil || ax != 0 {
		return nil, fmt.Errorf("axis %d on a shape: want 0 (%v)", ax, err)
	}
	data, err := c.intInput(n, 0)
	if err != nil || data == nil || data.scalar {
		return nil, fmt.Errorf("data: want a 1-D shape (%v)", err)
	}
	idx, err := c.intInput(n, 1)
	if err != nil || idx == nil {
		return nil, fmt.Errorf("indices: %v", err)
	}
	out := &shapeVal{scalar: idx.scalar}
	for _, i := range idx.v {
		if i < 0 {
			i += int64(len(data.v))
		}
		if i < 0 || i >= int64(len(data.v)) {
			return nil, fmt.Errorf("index %d out of range for a shape of rank %d", i, len(data.v))
		}
		out.v = append(out.v, data.v[i])
	}
	return out, nil
}

func (c *converter) squeezeShape(n *Node) (*shapeVal, error) {
	axes, err := c.axesOf(n)
	if err != nil {
		return nil, err
	}
	in := c.shapes[n.Input[0]]
	if in == nil {
		return nil, fmt.Errorf("input %q is not a shape value", n.Input[0])
	}
	switch {
	case n.OpType == "Unsqueeze" && in.scalar && len(axes) == 1 && (axes[0] == 0 || axes[0] == -1):
		return &shapeVal{v: in.v}, nil
	case n.OpType == "Squeeze" && !in.scalar && len(in.v) == 1 && (len(axes) == 0 || len(axes) == 1 && (axes[0] == 0 || axes[0] == -1)):
		return &shapeVal{v: in.v, scalar: true}, nil
	}
	return nil, fmt.Errorf("%s of a shape value with axes %v is %w", n.OpType, axes, ErrUnsupported)
}

func (c *converter) concatShape(n *Node) (*shapeVal, error) {
	if err := checkAttrs(n, "axis"); err != nil {
		return nil, err
	}
	if ax, err := attrInt(n, "axis", 0); err != nil || (ax != 0 && ax != -1) {
		return nil, fmt.Errorf("axis %d on shapes: want 0 (%v)", ax, err)
	}
	out := &shapeVal{}
	for i := range n.Input {
		v, err := c.intInput(n, i)
		if err != nil {
			return nil, err
		}
		if v == nil || v.scalar {
			return nil, fmt.Errorf("input %d: want a 1-D shape", i)
		}
		out.v = append(out.v, v.v...)
	}
	return out, nil
}

// pad handles an explicit Pad node. All-zero pads are dropped; constant
// zero padding of H and W is merged into the Conv (or the unpadded,
// floor-mode AveragePool, which then counts the padding) that must follow.
func (c *converter) pad(n *Node, name string) error {
	mode, pads, value := "constant", []int64(nil), float32(0)
	var err error
	if c.opset < 11 {
		if err = checkAttrs(n, "mode", "pads", "value"); err != nil {
			return err
		}
		if a := findAttr(n, "pads"); a != nil {
			pads = a.Ints
		}
		if value, err = attrFloat(n, "value", 0); err != nil {
			return err
		}
	} else {
		if err = checkAttrs(n, "mode"); err != nil {
			return err
		}
		if len(n.Input) < 2 || c.consts[n.Input[1]] == nil {
			return errors.New("pads input must be a constant")
		}
		if pads, err = c.consts[n.Input[1]].Int64s(); err != nil {
			return fmt.Errorf("pads: %w", err)
		}
		if value, err = c.scalar(n, 2, "constant_value", 0); err != nil {
			return err
		}
		if len(n.Input) > 3 && n.Input[3] != "" {
			return fmt.Errorf("axes input is %w", ErrUnsupported)
		}
	}
	if mode, err = attrString(n, "mode", mode); err != nil {
		return err
	}
	in, err := c.curShape()
	if err != nil {
		return err
	}
	r := len(in) + 1
	if len(pads) != 2*r {
		return fmt.Errorf("pads %v: want %d values for a rank-%d input", pads, 2*r, r)
	}
	if !slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) {
		c.note("node %q: dropped Pad with zero pads", name)
		return nil
	}
	if mode != "constant" || value != 0 {
		return fmt.Errorf("mode %q with value %v: only zero padding is %w", mode, value, ErrUnsupported)
	}
	if r != 4 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return fmt.Errorf("pads %v: only padding of H and W is %w", pads, ErrUnsupported)
	}
	for _, p := range pads {
		if p < 0 || p > maxGeom {
			return fmt.Errorf("pads %v: negative (cropping) or huge pads are %w", pads, ErrUnsupported)
		}
	}
	c.pending = &pendingPad{name: name, pad: [4]int{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])}}
	return nil
}

type pendingPad struct {
	name string
	pad  [4]int
}

// takePad merges a pending Pad into the layer l just built from node n.
func (c *converter) takePad(n *Node, l *graph.Node) error {
	p := c.pending
	if p == nil {
		return nil
	}
	c.pending = nil
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

// transpose accepts an identity permutation, and perm [0,3,1,2] applied to
// a rank-4 graph input before any layer: a Keras/TensorFlow model fed NHWC.
// quartz feeds NCHW, so the Transpose is absorbed and the input shape read
// as [C,H,W].
func (c *converter) transpose(n *Node, name string) error {
	if err := checkAttrs(n, "perm"); err != nil {
		return err
	}
	a := findAttr(n, "perm")
	in, err := c.curShape()
	if err != nil {
		return err
	}
	r := len(in) + 1
	var perm []int64
	if a != nil {
		perm = a.Ints
	}
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	identity := len(perm) == r
	for i, p := range perm {
		identity = identity && p == int64(i)
	}
	if identity {
		return nil
	}
	if slices.Equal(perm, []int64{0, 3, 1, 2}) && len(c.out.Nodes) == 0 && !c.nhwc && c.inRank == 4 {
		s := c.out.InputShape
		c.out.InputShape = []int{s[2], s[0], s[1]}
		c.nhwc = true
		c.note("node %q: absorbed the NHWC→NCHW Transpose of graph input %q; quartz feeds the model NCHW [%d,%d,%d]",
			name, c.out.InputName, s[2], s[0], s[1])
		return nil
	}
	return fmt.Errorf("perm %v moves data: only an identity or an NHWC→NCHW Transpose [0,3,1,2] of the graph input is %w", perm, ErrUnsupported)
}

// squeeze reads Squeeze of the size-1 axes of [N,C,1,1] (or similar) to
// [N,K] as a Flatten.
func (c *converter) squeeze(n *Node, name string) error {
	axes, err := c.axesOf(n)
	if err != nil {
		return err
	}
	in, err := c.curShape()
	if err != nil {
		return err
	}
	r := int64(len(in) + 1)
	drop := make([]bool, r)
	if axes == nil {
		for i, d := range in {
			drop[i+1] = d == 1
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += r
		}
		if a <= 0 || a >= r {
			return fmt.Errorf("axes %v: squeezing the batch axis or an axis out of range is %w", axes, ErrUnsupported)
		}
		if in[a-1] != 1 {
			return fmt.Errorf("axes %v: axis %d has size %d, not 1", axes, a, in[a-1])
		}
		drop[a] = true
	}
	kept := 0
	for i := range in {
		if !drop[i+1] {
			kept++
		}
	}
	if kept != 1 {
		return fmt.Errorf("squeezing [N %v] by axes %v leaves %d non-batch axes; only a squeeze to [N,K] is %w", in, axes, kept, ErrUnsupported)
	}
	c.add(&graph.Node{Name: name, Op: graph.Flatten})
	return nil
}
