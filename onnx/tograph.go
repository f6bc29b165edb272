package onnx

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quartz-snn/quartz/graph"
)

// ErrUnsupported marks a valid ONNX construct that quartz cannot convert:
// an operator, attribute value or input layout.
var ErrUnsupported = errors.New("not supported")

// Opset range ToGraph is written against; newer opsets are accepted with a
// note because the operators it reads have not changed meaning since. Opset
// 6 (PyTorch's exporter before 2018) differs only in attributes that are
// checked: Gemm broadcast, BatchNormalization and Dropout is_test.
const (
	minOpset = 6
	maxOpset = 21
)

// Options tune Convert.
type Options struct {
	// Output names the graph output to convert when the file has several;
	// empty picks the only output shaped [N, K], or fails listing them.
	Output string
	// Dir is the folder that external tensor data is read from (the
	// model file's folder); empty refuses external data.
	Dir string
}

// ToGraph converts an ONNX model into quartz's graph IR. It is Convert
// without the notes.
func ToGraph(m *Model) (*graph.Model, error) {
	g, _, err := Convert(m)
	return g, err
}

// Convert converts an ONNX model into quartz's graph IR with default
// Options and returns notes on what it changed without affecting inference
// results, such as a dropped final Softmax, folded constants or a
// reinterpreted input layout. See the package documentation for the
// supported operators.
func Convert(m *Model) (*graph.Model, []string, error) {
	return ConvertWith(m, Options{})
}

// ConvertWith is Convert with options.
func ConvertWith(m *Model, opt Options) (*graph.Model, []string, error) {
	if m == nil || m.Graph == nil {
		return nil, nil, errors.New("onnx: model has no graph")
	}
	c := &converter{m: m, g: m.Graph, opt: opt, consts: map[string]*ctensor{}, vals: map[string]*value{}, uncomputed: map[string]string{}}
	if err := c.run(); err != nil {
		return nil, c.notes, fmt.Errorf("onnx: %w", err)
	}
	return c.out, c.notes, nil
}

// converter holds the state of one conversion. Every ONNX value is either
// a constant (consts: initializers, Constant nodes and everything computed
// from constants only, shapes of activations included) or an activation
// (vals: a graph node's output as the file sees it).
type converter struct {
	m      *Model
	g      *Graph
	opt    Options
	opset  int64
	consts map[string]*ctensor
	vals   map[string]*value
	out    *graph.Model
	notes  []string
	names  map[string]bool // graph node names in use
	// uncomputed holds the outputs that the importer does not compute
	// (LayerNormalization's Mean and InvStdDev), with what they are: an
	// error only when read.
	uncomputed map[string]string

	halfCasts int // float16 constants cast to float32
	folded    int // nodes evaluated on constants
	external  int // tensors read from external data
}

// value is an activation: the output of graph node `node` (or the model
// input), seen by the file with per-sample shape `shape`. The stored
// layout may differ from the file's: perm maps the file's axes to stored
// axes (a transposed view, e.g. NHWC); order maps a flattened file index to
// the stored flat index (a flattened transposed view). Both nil: the file
// and the store agree on memory order (the shapes may still differ by a
// reshape). pad is a zero padding waiting for the Conv or AveragePool that
// reads the value. final is "Softmax"/"LogSoftmax" for a value that only
// the graph output may be.
type value struct {
	node  int
	shape []int
	perm  []int
	order []int
	pad   *pendingPad
	final string
}

type pendingPad struct {
	name string
	pad  [4]int
}

func (c *converter) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

func defaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

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
		ct, err := c.fromTensor(t)
		if err != nil {
			return fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		c.consts[t.Name] = ct
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
	for _, kv := range c.m.MetadataProps {
		if c.out.Metadata == nil {
			c.out.Metadata = map[string]string{}
		}
		c.out.Metadata[kv.Key] = kv.Value // a repeated key: the last one
	}
	c.names = map[string]bool{}
	order, err := c.sortNodes(in.Name)
	if err != nil {
		return err
	}
	if err := c.input(in, order); err != nil {
		return err
	}
	for _, n := range order {
		if err := c.node(n); err != nil {
			return nodeErr(n, err)
		}
	}
	if err := c.finish(); err != nil {
		return err
	}
	if c.halfCasts > 0 {
		c.note("%d weight tensors are stored as float16 (Cast to float32 in the graph); read as float32", c.halfCasts)
	}
	if c.external > 0 {
		c.note("%d tensors read from external data files", c.external)
	}
	return nil
}

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

// sortNodes returns the nodes in an order where every value is defined
// before it is used (Kahn's algorithm, stable in file order), checking that
// names are defined once and that the graph has no cycle.
func (c *converter) sortNodes(input string) ([]*Node, error) {
	nodes := c.g.Node
	producer := map[string]int{}
	for i, n := range nodes {
		if n == nil {
			return nil, fmt.Errorf("node[%d]: nil", i)
		}
		if !defaultDomain(n.Domain) {
			return nil, nodeErr(n, fmt.Errorf("domain %q is %w", n.Domain, ErrUnsupported))
		}
		if len(n.Output) == 0 || n.Output[0] == "" {
			return nil, nodeErr(n, errors.New("no output"))
		}
		for _, s := range n.Output {
			if s == "" {
				continue
			}
			if _, dup := producer[s]; dup || c.consts[s] != nil || s == input {
				return nil, nodeErr(n, fmt.Errorf("output %q is already defined", s))
			}
			producer[s] = i
		}
	}
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, s := range n.Input {
			if s == "" || s == input || c.consts[s] != nil {
				continue
			}
			p, ok := producer[s]
			if !ok {
				return nil, nodeErr(n, fmt.Errorf("input %q is not produced by the graph input, an initializer or any node", s))
			}
			indeg[i]++
			users[p] = append(users[p], i)
		}
	}
	var ready, order []int
	for i := range nodes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(nodes) {
		for i, d := range indeg {
			if d > 0 {
				return nil, nodeErr(nodes[i], errors.New("the graph has a cycle through this node"))
			}
		}
	}
	out := make([]*Node, len(order))
	for k, i := range order {
		out[k] = nodes[i]
	}
	return out, nil
}

// input reads the graph input's type: [N,C,H,W] (or [N,H,W,C] when every
// reader transposes it to NCHW), [N,F] or [N,A,B]. The batch dimension may
// be symbolic; the others must be fixed and positive.
func (c *converter) input(in *ValueInfo, nodes []*Node) error {
	tt := in.Type
	if tt == nil || !tt.HasShape {
		return fmt.Errorf("graph input %q: no tensor shape in the file", in.Name)
	}
	if tt.ElemType != Float {
		return fmt.Errorf("graph input %q: element type %v: only float32 inputs are %w", in.Name, tt.ElemType, ErrUnsupported)
	}
	r := len(tt.Shape)
	if r < 2 || r > 4 {
		return fmt.Errorf("graph input %q: rank %d: want [N,C,H,W], [N,F] or [N,A,B]", in.Name, r)
	}
	shape := make([]int, 0, 3)
	size := int64(1)
	for i, d := range tt.Shape[1:] {
		if !d.HasValue || d.Value <= 0 || d.Value > maxElements {
			desc := fmt.Sprintf("%d", d.Value)
			if !d.HasValue {
				desc = fmt.Sprintf("symbolic %q", d.Param)
			}
			return fmt.Errorf("graph input %q: dim %d is %s; quartz needs fixed positive non-batch dims", in.Name, i+1, desc)
		}
		if size *= d.Value; size > maxElements {
			return fmt.Errorf("graph input %q: shape %v too large", in.Name, tt.Shape)
		}
		shape = append(shape, int(d.Value))
	}
	v := &value{node: graph.ModelInput, shape: shape}
	switch r {
	case 2:
		c.out.InputShape = []int{shape[0], 1, 1}
		c.note("graph input %q has shape [N,%d]: image data sets are fed flattened (C·H·W = %d)", in.Name, shape[0], shape[0])
	case 3:
		c.out.InputShape = []int{shape[0], shape[1], 1}
		c.note("graph input %q has shape [N,%d,%d]: image data sets are fed flattened (C·H·W = %d)", in.Name, shape[0], shape[1], shape[0]*shape[1])
	case 4:
		c.out.InputShape = slices.Clone(shape)
		if c.nhwcInput(in.Name, nodes) {
			c.out.InputShape = []int{shape[2], shape[0], shape[1]}
			v.perm = []int{1, 2, 0}
			c.note("graph input %q is NHWC %v; quartz feeds NCHW [%d %d %d] and absorbs the Transpose to NCHW", in.Name, shape, shape[2], shape[0], shape[1])
		}
	}
	c.vals[in.Name] = v
	return nil
}

// nhwcInput reports whether every reader of the graph input is a Transpose
// with perm [0,3,1,2]: a model fed channels-last.
func (c *converter) nhwcInput(name string, nodes []*Node) bool {
	readers := 0
	for _, n := range nodes {
		for _, s := range n.Input {
			if s != name {
				continue
			}
			readers++
			a := findAttr(n, "perm")
			if n.OpType != "Transpose" || a == nil || !slices.Equal(a.Ints, []int64{0, 3, 1, 2}) {
				return false
			}
		}
	}
	return readers > 0
}

// node converts one ONNX node: folded when all its inputs are constants,
// lowered to graph nodes otherwise.
func (c *converter) node(n *Node) error {
	if n.OpType == "Constant" {
		t, err := constantValue(n)
		if err != nil {
			return err
		}
		if len(n.Output) != 1 {
			return errors.New("want exactly one output")
		}
		ct, err := c.fromTensor(t)
		if err != nil {
			return err
		}
		c.consts[n.Output[0]] = ct
		return nil
	}
	acts := 0
	for _, s := range n.Input {
		if what, ok := c.uncomputed[s]; ok {
			return fmt.Errorf("reads %q, %s: %w", s, what, ErrUnsupported)
		}
		if s != "" && c.vals[s] != nil {
			acts++
			if f := c.vals[s].final; f != "" {
				return fmt.Errorf("reads the output of a %s: a %s inside the network is %w", f, f, ErrUnsupported)
			}
		}
	}
	if acts == 0 {
		return c.fold(n)
	}
	if n.OpType == "Shape" {
		return c.shapeOfValue(n)
	}
	return c.lower(n)
}

// finish picks the output, drops a final Softmax, removes the nodes that
// do not lead to the output, folds exact constant affine nodes into the
// weights, and checks the result.
func (c *converter) finish() error {
	var outs []*ValueInfo
	seen := map[string]bool{}
	for _, o := range c.g.Output {
		if o == nil || o.Name == "" {
			return errors.New("graph output with no name")
		}
		if !seen[o.Name] {
			seen[o.Name] = true
			outs = append(outs, o)
		}
	}
	if len(outs) == 0 {
		return errors.New("graph has no output")
	}
	var pick *ValueInfo
	if c.opt.Output != "" {
		for _, o := range outs {
			if o.Name == c.opt.Output {
				pick = o
			}
		}
		if pick == nil {
			return fmt.Errorf("output %q: the graph's outputs are %s", c.opt.Output, c.describeOutputs(outs))
		}
	} else if len(outs) == 1 {
		pick = outs[0]
	} else {
		var cands []*ValueInfo
		for _, o := range outs {
			if v := c.vals[o.Name]; v != nil && len(v.shape) == 1 {
				cands = append(cands, o)
			}
		}
		if len(cands) > 1 {
			// Class scores: the output that ends in a softmax, else the
			// narrowest one.
			var fin []*ValueInfo
			for _, o := range cands {
				if c.vals[o.Name].final != "" {
					fin = append(fin, o)
				}
			}
			if len(fin) > 0 {
				cands = fin
			}
			slices.SortStableFunc(cands, func(a, b *ValueInfo) int { return c.vals[a.Name].shape[0] - c.vals[b.Name].shape[0] })
			if len(cands) > 1 && c.vals[cands[0].Name].shape[0] < c.vals[cands[1].Name].shape[0] {
				cands = cands[:1]
			}
		}
		if len(cands) != 1 {
			return fmt.Errorf("graph has %d outputs (%s): choose one with --output NAME", len(outs), c.describeOutputs(outs))
		}
		pick = cands[0]
		c.note("graph has %d outputs (%s); using %q, the class scores (choose another with --output)", len(outs), c.describeOutputs(outs), pick.Name)
	}
	v := c.vals[pick.Name]
	if what, ok := c.uncomputed[pick.Name]; ok {
		return fmt.Errorf("graph output %q is %s: %w", pick.Name, what, ErrUnsupported)
	}
	if v == nil {
		if c.consts[pick.Name] != nil {
			return fmt.Errorf("graph output %q is a constant: the model does not depend on its input", pick.Name)
		}
		return fmt.Errorf("graph output %q is not produced by any node", pick.Name)
	}
	if v.pad != nil {
		return fmt.Errorf("Pad %q ends the graph: %w", v.pad.name, ErrUnsupported)
	}
	if v.perm != nil {
		return fmt.Errorf("graph output %q is transposed (perm %v of the stored layout): %w", pick.Name, v.perm, ErrUnsupported)
	}
	if v.order != nil {
		return fmt.Errorf("graph output %q is a reordered flattening of the stored layout: %w", pick.Name, ErrUnsupported)
	}
	// A view whose stored shape differs from the file's gets a Reshape
	// (or Flatten), so that the output has the file's shape. An output
	// that is the input itself (Identity, Dropout or a final Softmax only)
	// passes through an identity Dropout: a graph has at least one node.
	i, err := c.shaped(v, pick.Name)
	if err != nil {
		return err
	}
	if i == graph.ModelInput {
		if i, err = c.add(&graph.Node{Name: pick.Name, Op: graph.Dropout}, i); err != nil {
			return err
		}
		c.note("graph output %q is the input itself: the graph is one identity node", pick.Name)
	}
	v = &value{node: i, shape: v.shape, final: v.final}
	c.out.OutputName = pick.Name
	c.out.OutputActivation = v.final
	if err := c.prune(v.node); err != nil {
		return err
	}
	if err := c.out.InferShapes(); err != nil {
		return fmt.Errorf("shape inference: %w", err)
	}
	if err := c.out.CheckFinite(); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	before := len(c.out.Nodes)
	f, err := graph.FoldAffine(c.out)
	if err != nil {
		return err
	}
	if k := before - len(f.Nodes); k > 0 {
		c.note("folded %d constant Mul/Add/Sub/Div or input-normalization nodes into the neighbouring Conv/Linear weights", k)
	}
	c.out = f
	return nil
}

func (c *converter) describeOutputs(outs []*ValueInfo) string {
	var s []string
	for _, o := range outs {
		d := "?"
		if v := c.vals[o.Name]; v != nil {
			d = fmt.Sprint(append([]int{-1}, v.shape...))
			d = strings.Replace(d, "-1", "N", 1)
		}
		s = append(s, fmt.Sprintf("%q %s", o.Name, d))
	}
	return strings.Join(s, ", ")
}

// prune keeps the nodes that the output node depends on, making it the
// last node.
func (c *converter) prune(outNode int) error {
	nodes := c.out.Nodes
	keep := make([]bool, len(nodes))
	keep[outNode] = true
	for i := outNode; i >= 0; i-- {
		if !keep[i] {
			continue
		}
		for _, j := range nodes[i].Inputs {
			if j >= 0 {
				keep[j] = true
			}
		}
	}
	idx := make([]int, len(nodes))
	var out []*graph.Node
	dropped := 0
	for i, l := range nodes[:outNode+1] {
		if !keep[i] {
			dropped++
			continue
		}
		for k, j := range l.Inputs {
			if j >= 0 {
				l.Inputs[k] = idx[j]
			}
		}
		idx[i] = len(out)
		out = append(out, l)
	}
	dropped += len(nodes) - outNode - 1
	if dropped > 0 {
		c.note("dropped %d nodes that the chosen output does not depend on", dropped)
	}
	c.out.Nodes = out
	return nil
}

// add appends graph node l reading the given nodes and returns its index,
// with its shapes inferred.
func (c *converter) add(l *graph.Node, inputs ...int) (int, error) {
	base := l.Name
	for k := 2; c.names[l.Name]; k++ {
		l.Name = fmt.Sprintf("%s_%d", base, k)
	}
	c.names[l.Name] = true
	l.Inputs = inputs
	c.out.Nodes = append(c.out.Nodes, l)
	i := len(c.out.Nodes) - 1
	if err := c.out.InferNode(i); err != nil {
		return 0, err
	}
	return i, nil
}

// stored returns the stored per-sample shape of node i's output.
func (c *converter) stored(i int) []int {
	if i == graph.ModelInput {
		return c.out.InputShape
	}
	return c.out.Nodes[i].OutShape
}

// setVal records the value an ONNX output name holds.
func (c *converter) setVal(name string, v *value) { c.vals[name] = v }
