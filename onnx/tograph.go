package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/quartz-snn/quartz/graph"
)

// ErrUnsupported marks a valid ONNX construct that quartz cannot convert:
// an operator, attribute value, branching topology or input layout.
var ErrUnsupported = errors.New("not supported")

// Opset range ToGraph is written against; newer opsets are accepted with a
// note because the operators it reads have not changed meaning since. Opset
// 6 (PyTorch's exporter before 2018) differs only in attributes that are
// checked: Gemm broadcast, BatchNormalization and Dropout is_test.
const (
	minOpset = 6
	maxOpset = 21
)

// ToGraph converts an ONNX model into quartz's layer chain. It is Convert
// without the notes.
func ToGraph(m *Model) (*graph.Model, error) {
	g, _, err := Convert(m)
	return g, err
}

// Convert converts an ONNX model into quartz's layer chain and returns notes
// on what it changed without affecting inference results, such as a
// dropped final Softmax, folded Gemm scale factors or a reinterpreted input
// shape. See the package documentation for the supported operators.
func Convert(m *Model) (*graph.Model, []string, error) {
	if m == nil || m.Graph == nil {
		return nil, nil, errors.New("onnx: model has no graph")
	}
	c := &converter{m: m, g: m.Graph, consts: map[string]*Tensor{}, defined: map[string]bool{}, shapes: map[string]*shapeVal{}}
	if err := c.run(); err != nil {
		return nil, c.notes, fmt.Errorf("onnx: %w", err)
	}
	return c.out, c.notes, nil
}

type converter struct {
	m       *Model
	g       *Graph
	opset   int64
	consts  map[string]*Tensor // initializers and Constant outputs
	defined map[string]bool    // every value produced so far
	out     *graph.Model
	notes   []string

	shapes  map[string]*shapeVal // values computed from activation shapes
	pending *pendingPad          // a Pad waiting for the Conv it merges into
	inRank  int                  // rank of the graph input
	nhwc    bool                 // an NHWC→NCHW input Transpose was absorbed

	halfCasts int // float16 constants cast to float32
}

func (c *converter) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

func (c *converter) run() error {
	if err := c.findOpset(); err != nil {
		return err
	}
	for i, t := range c.g.Initializer {
		if t == nil || t.Name == "" {
			return fmt.Errorf("initializer[%d]: missing name", i)
		}
		if c.consts[t.Name] != nil {
			return fmt.Errorf("initializer %q: duplicate name", t.Name)
		}
		c.consts[t.Name] = t
		c.defined[t.Name] = true
	}
	// Constant nodes have no inputs, so they can be registered up front;
	// this lets MatMul see a bias Constant that follows it in the file.
	for i, n := range c.g.Node {
		if n == nil {
			return fmt.Errorf("node[%d]: nil", i)
		}
		if n.OpType != "Constant" || !defaultDomain(n.Domain) {
			continue
		}
		t, err := constantValue(n)
		if err != nil {
			return nodeErr(n, err)
		}
		if len(n.Output) != 1 || n.Output[0] == "" {
			return nodeErr(n, errors.New("want exactly one output"))
		}
		if c.defined[n.Output[0]] {
			return nodeErr(n, fmt.Errorf("output %q is already defined", n.Output[0]))
		}
		c.consts[n.Output[0]] = t
		c.defined[n.Output[0]] = true
	}
	in, err := c.findInput()
	if err != nil {
		return err
	}
	c.out = &graph.Model{
		Name:      c.g.Name,
		InputName: in.Name,
		Producer:  strings.TrimSpace(c.m.ProducerName + " " + c.m.ProducerVersion),
		Opset:     c.opset,
	}
	if c.out.InputShape, err = c.inputShape(in); err != nil {
		return err
	}
	c.defined[in.Name] = true
	if err := c.walk(in.Name); err != nil {
		return err
	}
	if err := c.out.InferShapes(); err != nil {
		return fmt.Errorf("shape inference: %w", err)
	}
	if err := c.out.CheckFinite(); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	return nil
}

func defaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

func (c *converter) findOpset() error {
	for _, o := range c.m.OpsetImport {
		if defaultDomain(o.Domain) {
			c.opset = o.Version
		}
	}
	switch {
	case c.opset == 0:
		return errors.New("model imports no default-domain opset")
	case c.opset < minOpset:
		return fmt.Errorf("opset %d: opsets before %d are %w", c.opset, minOpset, ErrUnsupported)
	case c.opset > maxOpset:
		c.note("opset %d is newer than %d, the newest quartz was tested with", c.opset, maxOpset)
	}
	return nil
}

// findInput returns the single graph input that is not an initializer.
func (c *converter) findInput() (*ValueInfo, error) {
	var in *ValueInfo
	for i, v := range c.g.Input {
		if v == nil || v.Name == "" {
			return nil, fmt.Errorf("graph input[%d]: missing name", i)
		}
		if c.consts[v.Name] != nil {
			continue
		}
		if in != nil {
			return nil, fmt.Errorf("graph inputs %q and %q: more than one data input is %w", in.Name, v.Name, ErrUnsupported)
		}
		in = v
	}
	if in == nil {
		return nil, errors.New("graph has no data input (every input is an initializer)")
	}
	return in, nil
}

// inputShape reads [N,C,H,W] (or [N,F], mapped to [F,1,1]) from the graph
// input's type. The batch dimension may be symbolic; the others must be
// fixed and positive.
func (c *converter) inputShape(in *ValueInfo) ([]int, error) {
	tt := in.Type
	if tt == nil || !tt.HasShape {
		return nil, fmt.Errorf("graph input %q: no tensor shape in the file", in.Name)
	}
	if tt.ElemType != Float {
		return nil, fmt.Errorf("graph input %q: element type %v: only float32 inputs are %w", in.Name, tt.ElemType, ErrUnsupported)
	}
	r := len(tt.Shape)
	c.inRank = r
	if r != 4 && r != 2 {
		return nil, fmt.Errorf("graph input %q: rank %d: want [N,C,H,W] or [N,F]", in.Name, r)
	}
	shape := make([]int, 0, 3)
	size := int64(1)
	for i, d := range tt.Shape[1:] {
		if !d.HasValue || d.Value <= 0 || d.Value > maxElements {
			desc := fmt.Sprintf("%d", d.Value)
			if !d.HasValue {
				desc = fmt.Sprintf("symbolic %q", d.Param)
			}
			return nil, fmt.Errorf("graph input %q: dim %d is %s; quartz needs fixed positive non-batch dims", in.Name, i+1, desc)
		}
		if size *= d.Value; size > maxElements {
			return nil, fmt.Errorf("graph input %q: shape %v too large", in.Name, tt.Shape)
		}
		shape = append(shape, int(d.Value))
	}
	if r == 2 {
		c.note("graph input %q has shape [N,%d]; read as [%d,1,1] (C=%d, H=W=1)", in.Name, shape[0], shape[0], shape[0])
		shape = append(shape, 1, 1)
	}
	return shape, nil
}

func nodeName(n *Node) string {
	if n.Name != "" {
		return n.Name
	}
	if len(n.Output) > 0 && n.Output[0] != "" {
		return n.Output[0]
	}
	return n.OpType
}

func nodeErr(n *Node, err error) error {
	return fmt.Errorf("node %q (%s): %w", nodeName(n), n.OpType, err)
}

// walk follows the chain from the graph input through the nodes in file
// order. Every non-constant node must take the previous node's output as its
// only activation input.
func (c *converter) walk(cur string) error {
	nodes := c.g.Node
	skip := make([]bool, len(nodes))
	final := "" // output of a dropped final Softmax
	for i, n := range nodes {
		if skip[i] || (n.OpType == "Constant" && defaultDomain(n.Domain)) {
			continue
		}
		if final != "" {
			return nodeErr(n, fmt.Errorf("follows the final %s; only a last Softmax/LogSoftmax can be dropped", "Softmax"))
		}
		if !defaultDomain(n.Domain) {
			return nodeErr(n, fmt.Errorf("domain %q is %w", n.Domain, ErrUnsupported))
		}
		if len(n.Output) == 0 || n.Output[0] == "" {
			return nodeErr(n, errors.New("no output"))
		}
		var acts []int
		for j, s := range n.Input {
			if s == "" {
				continue
			}
			if !c.defined[s] {
				return nodeErr(n, fmt.Errorf("input %q is not produced by the graph input, an initializer or an earlier node (unsorted or cyclic graph?)", s))
			}
			if c.consts[s] == nil && c.shapes[s] == nil {
				acts = append(acts, j)
			}
		}
		for _, s := range n.Output {
			if s != "" && c.defined[s] {
				return nodeErr(n, fmt.Errorf("output %q is already defined", s))
			}
		}
		if len(acts) == 0 {
			// A computation on constants only: PyTorch emits Identity
			// for shared weights.
			if n.OpType == "Identity" && len(n.Input) == 1 && c.consts[n.Input[0]] != nil {
				c.consts[n.Output[0]] = c.consts[n.Input[0]]
				c.defined[n.Output[0]] = true
				continue
			}
			// Cast of a float16 (or bfloat16, float64) weight to float32:
			// how half-precision files, quartz's own included, keep a
			// float32 graph.
			if n.OpType == "Cast" && len(n.Input) == 1 && c.consts[n.Input[0]] != nil {
				if err := c.castConst(n); err != nil {
					return nodeErr(n, err)
				}
				continue
			}
			if ok, err := c.shapeArith(n); ok {
				if err != nil {
					return nodeErr(n, err)
				}
				continue
			}
			return nodeErr(n, fmt.Errorf("computation on constants only is %w", ErrUnsupported))
		}
		if n.OpType == "Shape" && len(acts) == 1 && acts[0] == 0 && n.Input[0] == cur && len(n.Output) == 1 {
			if err := c.shapeOf(n); err != nil {
				return nodeErr(n, err)
			}
			c.defined[n.Output[0]] = true
			continue
		}
		if len(acts) > 1 || acts[0] != 0 || n.Input[0] != cur {
			return nodeErr(n, fmt.Errorf("branching graphs are %w yet", ErrUnsupported))
		}
		for _, s := range n.Output {
			if s != "" {
				c.defined[s] = true
			}
		}
		next := n.Output[0]
		var err error
		switch n.OpType {
		case "Softmax", "LogSoftmax":
			err = c.softmaxAxis(n)
			final = next
			c.note("dropped final %s node %q: the model outputs the scores before it", n.OpType, nodeName(n))
		case "MatMul":
			var add *Node
			if j := nextNode(nodes, i); j >= 0 && c.isBiasAdd(nodes[j], next) {
				add, skip[j] = nodes[j], true
				next = add.Output[0]
				c.defined[next] = true
			}
			err = c.matMul(n, add)
		default:
			err = c.layer(n)
		}
		if err == nil && c.pending != nil && n.OpType != "Pad" {
			err = fmt.Errorf("follows Pad %q: zero padding is %w only before a Conv or an unpadded, floor-mode AveragePool", c.pending.name, ErrUnsupported)
		}
		if err != nil {
			return nodeErr(n, err)
		}
		cur = next
	}
	if c.pending != nil {
		return fmt.Errorf("Pad %q ends the graph: %w", c.pending.name, ErrUnsupported)
	}
	if len(c.g.Output) != 1 || c.g.Output[0] == nil {
		return fmt.Errorf("graph has %d outputs: want exactly one", len(c.g.Output))
	}
	out := c.g.Output[0].Name
	if out != cur && out != final {
		return fmt.Errorf("graph output %q is not the end of the chain %q: branching graphs are %w yet", out, cur, ErrUnsupported)
	}
	c.out.OutputName = out
	if c.halfCasts > 0 {
		c.note("%d weight tensors are stored as float16 (Cast to float32 in the graph); read as float32", c.halfCasts)
	}
	return nil
}

// castConst folds a Cast of a floating-point constant to float32.
func (c *converter) castConst(n *Node) error {
	if err := checkAttrs(n, "to", "saturate"); err != nil {
		return err
	}
	to, err := attrInt(n, "to", 0)
	if err != nil {
		return err
	}
	if DataType(to) != Float {
		return fmt.Errorf("Cast of a constant to %v is %w: only to float32", DataType(to), ErrUnsupported)
	}
	if len(n.Output) != 1 {
		return errors.New("want exactly one output")
	}
	in := c.consts[n.Input[0]]
	v, err := in.Float32s()
	if err != nil {
		return err
	}
	if in.DataType == Float16 {
		c.halfCasts++
	}
	c.consts[n.Output[0]] = FloatTensor(n.Output[0], in.Dims, v)
	c.defined[n.Output[0]] = true
	return nil
}

// softmaxAxis checks that a final Softmax or LogSoftmax normalizes over
// each sample's scores as a whole, so that dropping it keeps every sample's
// ranking of its scores. Before opset 13 the input is coerced to 2-D at
// axis (default 1), which must be 1; from 13 it runs along one axis
// (default −1), and every other non-batch axis must have size 1.
func (c *converter) softmaxAxis(n *Node) error {
	if err := checkAttrs(n, "axis"); err != nil {
		return err
	}
	in, err := c.onnxShape()
	if err != nil {
		return err
	}
	r := int64(len(in) + 1)
	def := int64(1)
	if c.opset >= 13 {
		def = -1
	}
	axis, err := attrInt(n, "axis", def)
	if err != nil {
		return err
	}
	if axis < 0 {
		axis += r
	}
	if axis <= 0 || axis >= r {
		return fmt.Errorf("axis %d of [N %v]: a softmax across samples is %w", axis, in, ErrUnsupported)
	}
	if c.opset < 13 {
		if axis != 1 {
			return fmt.Errorf("axis %d of [N %v]: a softmax over part of each sample is %w at the output", axis, in, ErrUnsupported)
		}
		return nil
	}
	for i, d := range in {
		if int64(i+1) != axis && d != 1 {
			return fmt.Errorf("axis %d of [N %v]: a softmax over part of each sample is %w at the output", axis, in, ErrUnsupported)
		}
	}
	return nil
}

// nextNode returns the index of the first non-Constant node after i, or -1.
func nextNode(nodes []*Node, i int) int {
	for j := i + 1; j < len(nodes); j++ {
		if nodes[j].OpType != "Constant" {
			return j
		}
	}
	return -1
}

// isBiasAdd reports whether n adds a constant to x (and nothing else).
func (c *converter) isBiasAdd(n *Node, x string) bool {
	if n.OpType != "Add" || !defaultDomain(n.Domain) || len(n.Input) != 2 || len(n.Output) != 1 || len(n.Attribute) != 0 {
		return false
	}
	a, b := n.Input[0], n.Input[1]
	if (a == x && c.consts[b] != nil) || (b == x && c.consts[a] != nil) {
		return n.Output[0] != "" && !c.defined[n.Output[0]]
	}
	return false
}

func (c *converter) add(l *graph.Node) { c.out.Nodes = append(c.out.Nodes, l) }

// curShape returns the shape of the chain's current output.
func (c *converter) curShape() ([]int, error) {
	if err := c.out.InferShapes(); err != nil {
		return nil, fmt.Errorf("shape inference: %w", err)
	}
	return c.out.OutputShape(), nil
}

// onnxShape returns the current value's shape without the batch as the
// file sees it: curShape, except that a rank-2 graph input [N,F], held as
// [F,1,1], stays [F] until a layer reshapes it.
func (c *converter) onnxShape() ([]int, error) {
	in, err := c.curShape()
	if err != nil || c.inRank != 2 || len(in) != 3 {
		return in, err
	}
	return in[:1], nil
}

// layer converts one node with a single activation input at position 0.
func (c *converter) layer(n *Node) error {
	name := nodeName(n)
	switch n.OpType {
	case "Conv":
		return c.conv(n, name)
	case "Gemm":
		return c.gemm(n, name)
	case "Relu":
		if err := checkAttrs(n); err != nil {
			return err
		}
		c.add(&graph.Node{Name: name, Op: graph.ReLU})
	case "Clip":
		return c.clip(n, name)
	case "LeakyRelu":
		return c.leakyRelu(n, name)
	case "MaxPool", "AveragePool":
		return c.pool(n, name)
	case "GlobalAveragePool":
		if err := checkAttrs(n); err != nil {
			return err
		}
		c.add(&graph.Node{Name: name, Op: graph.GlobalAvgPool})
	case "BatchNormalization":
		return c.batchNorm(n, name)
	case "Dropout":
		return c.dropout(n, name)
	case "Identity":
		return checkAttrs(n)
	case "Flatten":
		return c.flatten(n, name)
	case "Reshape":
		return c.reshape(n, name)
	case "Pad":
		return c.pad(n, name)
	case "Transpose":
		return c.transpose(n, name)
	case "Squeeze":
		return c.squeeze(n, name)
	case "Shape":
		return fmt.Errorf("Shape of an earlier value is %w; use torch.flatten(x, 1)", ErrUnsupported)
	default:
		return fmt.Errorf("op %w", ErrUnsupported)
	}
	return nil
}

// attrs returns the node's attributes by name, rejecting names outside
// allowed so that an unknown semantic change cannot pass silently.
func checkAttrs(n *Node, allowed ...string) error {
	seen := map[string]bool{}
	for _, a := range n.Attribute {
		if a == nil {
			return errors.New("nil attribute")
		}
		if seen[a.Name] {
			return fmt.Errorf("attribute %q given twice", a.Name)
		}
		seen[a.Name] = true
		ok := false
		for _, s := range allowed {
			ok = ok || s == a.Name
		}
		if !ok {
			return fmt.Errorf("attribute %q is %w", a.Name, ErrUnsupported)
		}
	}
	return nil
}

func findAttr(n *Node, name string) *Attribute {
	for _, a := range n.Attribute {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func attrInt(n *Node, name string, def int64) (int64, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrInt {
		return 0, fmt.Errorf("attribute %q: type %d, want INT", name, a.Type)
	}
	return a.I, nil
}

func attrFloat(n *Node, name string, def float32) (float32, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrFloat {
		return 0, fmt.Errorf("attribute %q: type %d, want FLOAT", name, a.Type)
	}
	return a.F, nil
}

func attrString(n *Node, name, def string) (string, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrString {
		return "", fmt.Errorf("attribute %q: type %d, want STRING", name, a.Type)
	}
	return string(a.S), nil
}

// attrInts reads an INTS attribute of exactly want entries, each within
// [lo, hi]; def (which may be nil) is returned when it is absent.
func attrInts(n *Node, name string, want int, lo, hi int64, def []int) ([]int, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrInts {
		return nil, fmt.Errorf("attribute %q: type %d, want INTS", name, a.Type)
	}
	if len(a.Ints) != want {
		return nil, fmt.Errorf("attribute %q = %v: want %d values (2-D only)", name, a.Ints, want)
	}
	out := make([]int, want)
	for i, v := range a.Ints {
		if v < lo || v > hi {
			return nil, fmt.Errorf("attribute %q = %v: values must be in [%d, %d]", name, a.Ints, lo, hi)
		}
		out[i] = int(v)
	}
	return out, nil
}

// maxGeom bounds kernel sizes, strides, pads and dilations.
const maxGeom = 1 << 20

// constFloats returns the float values of constant input i, or nil if the
// input is omitted.
func (c *converter) constFloats(n *Node, i int, what string) ([]float32, *Tensor, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return nil, nil, nil
	}
	t := c.consts[n.Input[i]]
	if t == nil {
		return nil, nil, fmt.Errorf("%s input %q is not a constant", what, n.Input[i])
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, t, nil
}

func (c *converter) scalar(n *Node, i int, what string, def float32) (float32, error) {
	v, _, err := c.constFloats(n, i, what)
	if err != nil || v == nil {
		return def, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%s input %q has %d values, want a scalar", what, n.Input[i], len(v))
	}
	return v[0], nil
}

func (c *converter) conv(n *Node, name string) error {
	if err := checkAttrs(n, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"); err != nil {
		return err
	}
	w, wt, err := c.constFloats(n, 1, "weight")
	if err != nil {
		return err
	}
	if wt == nil || len(wt.Dims) != 4 {
		return fmt.Errorf("weight must be a constant [Cout,Cin/G,KH,KW] tensor: only 2-D convolution is %w", ErrUnsupported)
	}
	b, _, err := c.constFloats(n, 2, "bias")
	if err != nil {
		return err
	}
	l := &graph.Node{Name: name, Op: graph.Conv, W: w, B: b, WShape: wt.Shape()}
	kernel := []int{l.WShape[2], l.WShape[3]}
	if ks, err := attrInts(n, "kernel_shape", 2, 1, maxGeom, kernel); err != nil {
		return err
	} else if ks[0] != kernel[0] || ks[1] != kernel[1] {
		return fmt.Errorf("kernel_shape %v does not match weight dims %v", ks, wt.Dims)
	}
	g, err := attrInt(n, "group", 1)
	if err != nil {
		return err
	}
	if g < 1 || g > maxGeom {
		return fmt.Errorf("group %d must be positive", g)
	}
	l.Group = int(g)
	dil, err := attrInts(n, "dilations", 2, 1, maxGeom, []int{1, 1})
	if err != nil {
		return err
	}
	l.Dilation = [2]int{dil[0], dil[1]}
	if err := c.geometry(n, l, kernel, dil); err != nil {
		return err
	}
	if err := c.takePad(n, l); err != nil {
		return err
	}
	c.add(l)
	return nil
}

// geometry reads strides, pads and auto_pad of Conv and pooling nodes into
// l.Kernel, l.Stride and l.Pad. Pooling nodes must set l.CeilMode first.
func (c *converter) geometry(n *Node, l *graph.Node, kernel, dil []int) error {
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
	in, err := c.curShape()
	if err != nil {
		return err
	}
	if len(in) != 3 {
		return fmt.Errorf("input shape %v: want [C H W]", in)
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

func (c *converter) gemm(n *Node, name string) error {
	if err := checkAttrs(n, "alpha", "beta", "transA", "transB", "broadcast"); err != nil {
		return err
	}
	if c.opset < 7 {
		// broadcast=0 wants a full [M,N] C, which bias rejects unless
		// M = 1, where both readings agree.
		if _, err := attrInt(n, "broadcast", 0); err != nil {
			return err
		}
	} else if findAttr(n, "broadcast") != nil {
		return fmt.Errorf("attribute \"broadcast\" (opset 6 only) in opset %d", c.opset)
	}
	transA, err := attrInt(n, "transA", 0)
	if err != nil {
		return err
	}
	if transA != 0 {
		return fmt.Errorf("transA=%d is %w", transA, ErrUnsupported)
	}
	transB, err := attrInt(n, "transB", 0)
	if err != nil {
		return err
	}
	alpha, err := attrFloat(n, "alpha", 1)
	if err != nil {
		return err
	}
	beta, err := attrFloat(n, "beta", 1)
	if err != nil {
		return err
	}
	w, wt, err := c.constFloats(n, 1, "weight")
	if err != nil {
		return err
	}
	if wt == nil || len(wt.Dims) != 2 {
		return errors.New("weight B must be a constant rank-2 tensor")
	}
	l := &graph.Node{Name: name, Op: graph.Linear}
	switch transB {
	case 1:
		l.W, l.WShape = w, wt.Shape()
	case 0:
		l.W, l.WShape = transpose(w, int(wt.Dims[0]), int(wt.Dims[1])), []int{int(wt.Dims[1]), int(wt.Dims[0])}
	default:
		return fmt.Errorf("transB=%d: want 0 or 1", transB)
	}
	if l.B, err = c.bias(n, 2, l.WShape[0]); err != nil {
		return err
	}
	if alpha != 1 {
		for i := range l.W {
			l.W[i] *= alpha
		}
		c.note("node %q: folded Gemm alpha=%g into the weights", name, alpha)
	}
	if beta != 1 && l.B != nil {
		for i := range l.B {
			l.B[i] *= beta
		}
		c.note("node %q: folded Gemm beta=%g into the bias", name, beta)
	}
	c.add(l)
	return nil
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

func transpose(w []float32, rows, cols int) []float32 {
	t := make([]float32, len(w))
	for r := 0; r < rows; r++ {
		for k := 0; k < cols; k++ {
			t[k*rows+r] = w[r*cols+k]
		}
	}
	return t
}

// matMul converts MatMul(x, W) with constant W [In,Out], and a following
// Add of a constant bias when add is not nil, into a Linear layer.
func (c *converter) matMul(n, add *Node) error {
	if err := checkAttrs(n); err != nil {
		return err
	}
	w, wt, err := c.constFloats(n, 1, "weight")
	if err != nil {
		return err
	}
	if wt == nil || len(wt.Dims) != 2 {
		return errors.New("weight must be a constant rank-2 tensor")
	}
	in, out := int(wt.Dims[0]), int(wt.Dims[1])
	l := &graph.Node{Name: nodeName(n), Op: graph.Linear, W: transpose(w, in, out), WShape: []int{out, in}}
	if add != nil {
		i := 1
		if c.consts[add.Input[0]] != nil {
			i = 0
		}
		if l.B, err = c.bias(add, i, out); err != nil {
			return fmt.Errorf("bias from node %q: %w", nodeName(add), err)
		}
		c.note("node %q: merged MatMul and Add %q into one linear layer", l.Name, nodeName(add))
	}
	c.add(l)
	return nil
}

func (c *converter) clip(n *Node, name string) error {
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	var err error
	if c.opset < 11 {
		if err = checkAttrs(n, "min", "max"); err != nil {
			return err
		}
		if lo, err = attrFloat(n, "min", lo); err != nil {
			return err
		}
		if hi, err = attrFloat(n, "max", hi); err != nil {
			return err
		}
	} else {
		if err = checkAttrs(n); err != nil {
			return err
		}
		if lo, err = c.scalar(n, 1, "min", lo); err != nil {
			return err
		}
		if hi, err = c.scalar(n, 2, "max", hi); err != nil {
			return err
		}
	}
	if lo != lo || hi != hi || lo > hi {
		return fmt.Errorf("bounds [%v, %v] are not an interval", lo, hi)
	}
	if lo == 0 && hi >= math.MaxFloat32 {
		c.add(&graph.Node{Name: name, Op: graph.ReLU})
		return nil
	}
	c.add(&graph.Node{Name: name, Op: graph.Clip, Min: lo, Max: hi})
	return nil
}

// leakyRelu reads LeakyRelu (opset 6 on: attribute alpha, default 0.01).
func (c *converter) leakyRelu(n *Node, name string) error {
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
	c.add(&graph.Node{Name: name, Op: graph.LeakyReLU, Alpha: alpha})
	return nil
}

func (c *converter) pool(n *Node, name string) error {
	l := &graph.Node{Name: name, Op: graph.MaxPool}
	if n.OpType == "AveragePool" {
		l.Op = graph.AvgPool
		if err := checkAttrs(n, "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"); err != nil {
			return err
		}
		cip, err := attrInt(n, "count_include_pad", 0)
		if err != nil {
			return err
		}
		l.CountIncludePad = cip != 0
	} else {
		if err := checkAttrs(n, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"); err != nil {
			return err
		}
		so, err := attrInt(n, "storage_order", 0)
		if err != nil {
			return err
		}
		if so != 0 {
			return fmt.Errorf("storage_order=%d is %w", so, ErrUnsupported)
		}
	}
	dil, err := attrInts(n, "dilations", 2, 1, maxGeom, []int{1, 1})
	if err != nil {
		return err
	}
	if dil[0] != 1 || dil[1] != 1 {
		return fmt.Errorf("pooling dilations %v are %w", dil, ErrUnsupported)
	}
	ceil, err := attrInt(n, "ceil_mode", 0)
	if err != nil {
		return err
	}
	l.CeilMode = ceil != 0
	k, err := attrInts(n, "kernel_shape", 2, 1, maxGeom, nil)
	if err != nil {
		return err
	}
	if k == nil {
		return errors.New("missing kernel_shape")
	}
	if err := c.geometry(n, l, k, dil); err != nil {
		return err
	}
	if err := c.takePad(n, l); err != nil {
		return err
	}
	c.add(l)
	return nil
}

func (c *converter) batchNorm(n *Node, name string) error {
	if err := checkAttrs(n, "epsilon", "momentum", "spatial", "training_mode", "is_test"); err != nil {
		return err
	}
	if err := c.isTest(n); err != nil {
		return err
	}
	eps, err := attrFloat(n, "epsilon", 1e-5)
	if err != nil {
		return err
	}
	if tm, err := attrInt(n, "training_mode", 0); err != nil {
		return err
	} else if tm != 0 {
		return fmt.Errorf("training_mode=%d is %w", tm, ErrUnsupported)
	}
	if sp, err := attrInt(n, "spatial", 1); err != nil {
		return err
	} else if sp != 1 {
		return fmt.Errorf("spatial=%d is %w", sp, ErrUnsupported)
	}
	l := &graph.Node{Name: name, Op: graph.BatchNorm, Eps: eps}
	for i, p := range []*[]float32{&l.Gamma, &l.Beta, &l.Mean, &l.Var} {
		what := [...]string{"scale", "B", "input_mean", "input_var"}[i]
		v, _, err := c.constFloats(n, i+1, what)
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("missing %s input", what)
		}
		*p = v
	}
	c.add(l)
	return nil
}

func (c *converter) dropout(n *Node, name string) error {
	ratio := float32(0.5)
	var err error
	if c.opset < 12 {
		if err = checkAttrs(n, "ratio", "is_test"); err != nil {
			return err
		}
		if err = c.isTest(n); err != nil {
			return err
		}
		if ratio, err = attrFloat(n, "ratio", ratio); err != nil {
			return err
		}
	} else {
		if err = checkAttrs(n, "seed"); err != nil {
			return err
		}
		if ratio, err = c.scalar(n, 1, "ratio", ratio); err != nil {
			return err
		}
		if len(n.Input) > 2 && n.Input[2] != "" {
			t := c.consts[n.Input[2]]
			if t == nil {
				return fmt.Errorf("training_mode input %q is not a constant", n.Input[2])
			}
			v, err := t.Int64s()
			if err != nil {
				return fmt.Errorf("training_mode: %w", err)
			}
			if len(v) != 1 || v[0] != 0 {
				return fmt.Errorf("training_mode=%v is %w", v, ErrUnsupported)
			}
		}
	}
	if !(ratio >= 0 && ratio < 1) {
		return fmt.Errorf("ratio %v outside [0, 1)", ratio)
	}
	c.add(&graph.Node{Name: name, Op: graph.Dropout, Ratio: ratio})
	return nil
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

func (c *converter) flatten(n *Node, name string) error {
	if err := checkAttrs(n, "axis"); err != nil {
		return err
	}
	axis, err := attrInt(n, "axis", 1)
	if err != nil {
		return err
	}
	if axis < 0 {
		in, err := c.onnxShape()
		if err != nil {
			return err
		}
		axis += int64(len(in) + 1)
	}
	if axis != 1 {
		return fmt.Errorf("axis %d: only axis 1 (keep the batch dimension) is %w", axis, ErrUnsupported)
	}
	c.add(&graph.Node{Name: name, Op: graph.Flatten})
	return nil
}

// reshape accepts a constant-shape Reshape that flattens each sample:
// [0,-1], [B,-1], [-1,K] or [B,K] with K the sample size.
func (c *converter) reshape(n *Node, name string) error {
	if err := checkAttrs(n, "allowzero"); err != nil {
		return err
	}
	allowZero, err := attrInt(n, "allowzero", 0)
	if err != nil {
		return err
	}
	var s []int64
	if len(n.Input) >= 2 && c.shapes[n.Input[1]] != nil {
		// A shape computed from Shape(x): the symbolic batch may only
		// pass through at position 0, which is what 0 means.
		s = slices.Clone(c.shapes[n.Input[1]].v)
		for i, v := range s {
			if v == symBatch {
				if i != 0 || allowZero != 0 {
					return fmt.Errorf("shape moves the batch dimension: %w", ErrUnsupported)
				}
				s[i] = 0
			}
		}
	} else {
		if len(n.Input) < 2 || c.consts[n.Input[1]] == nil {
			return errors.New("shape input must be a constant (initializer or Constant node) or computed from the input's shape")
		}
		if s, err = c.consts[n.Input[1]].Int64s(); err != nil {
			return fmt.Errorf("shape: %w", err)
		}
	}
	in, err := c.curShape()
	if err != nil {
		return err
	}
	ok := false
	if len(s) == 2 {
		batchOK := s[0] == -1 || s[0] > 0 || (s[0] == 0 && allowZero == 0)
		ok = batchOK && (s[1] == -1 && s[0] != -1 || s[1] == int64(graph.Size(in)))
		if ok && s[0] > 0 {
			c.note("node %q: Reshape to %v fixes the batch size at %d; read as a flatten", name, s, s[0])
		}
	}
	if !ok {
		return fmt.Errorf("reshape of [N %v] to %v is not a flatten to [N,-1]: %w", in, s, ErrUnsupported)
	}
	c.add(&graph.Node{Name: name, Op: graph.Flatten})
	return nil
}

// constantValue returns the tensor a Constant node produces.
func constantValue(n *Node) (*Tensor, error) {
	if len(n.Input) != 0 {
		return nil, errors.New("Constant with inputs")
	}
	if len(n.Attribute) != 1 || n.Attribute[0] == nil {
		return nil, errors.New("want exactly one value attribute")
	}
	a := n.Attribute[0]
	name := ""
	if len(n.Output) > 0 {
		name = n.Output[0]
	}
	var t *Tensor
	switch {
	case a.Name == "value" && a.Type == AttrTensor && a.T != nil:
		cp := *a.T
		t = &cp
	case a.Name == "value_float" && a.Type == AttrFloat:
		t = &Tensor{DataType: Float, FloatData: []float32{a.F}}
	case a.Name == "value_floats" && a.Type == AttrFloats:
		t = &Tensor{DataType: Float, FloatData: a.Floats, Dims: []int64{int64(len(a.Floats))}}
	case a.Name == "value_int" && a.Type == AttrInt:
		t = &Tensor{DataType: Int64, Int64Data: []int64{a.I}}
	case a.Name == "value_ints" && a.Type == AttrInts:
		t = &Tensor{DataType: Int64, Int64Data: a.Ints, Dims: []int64{int64(len(a.Ints))}}
	default:
		return nil, fmt.Errorf("attribute %q of type %d is %w", a.Name, a.Type, ErrUnsupported)
	}
	t.Name = name
	return t, nil
}
