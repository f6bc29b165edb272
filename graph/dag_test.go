package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// unpadded returns a k×k convolution without padding (convLayer pads 1).
func unpadded(r *rand.Rand, name string, cin, cout, k int) *Node {
	l := convLayer(r, name, cin, cout, k, 1)
	l.Pad = [4]int{}
	return l
}

func linearLayer(r *rand.Rand, name string, in, out int) *Node {
	return &Node{Name: name, Op: Linear, W: randVec(r, in*out, -0.5, 0.5), B: randVec(r, out, -0.2, 0.2), WShape: []int{out, in}}
}

func affineLayer(r *rand.Rand, name string, n int) *Node {
	return &Node{Name: name, Op: Affine, Scale: randVec(r, n, 0.5, 1.5), Shift: randVec(r, n, -0.3, 0.3)}
}

// with sets the Inputs of l.
func with(l *Node, inputs ...int) *Node {
	l.Inputs = inputs
	return l
}

func ops(m *Model) []Op {
	var o []Op
	for _, l := range m.Nodes {
		o = append(o, l.Op)
	}
	return o
}

func TestInferShapesDAG(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		name   string
		in     []int
		nodes  []*Node
		inputs [][]int // explicit Inputs after InferShapes
		shapes [][]int // OutShape of every node
	}{
		{"residual add", []int{4, 5, 5}, []*Node{
			convLayer(r, "c1", 4, 4, 3, 1), {Name: "r1", Op: ReLU}, convLayer(r, "c2", 4, 4, 3, 1),
			with(&Node{Name: "add", Op: Add}, 2, ModelInput), {Name: "r2", Op: ReLU},
		}, [][]int{{-1}, {0}, {1}, {2, -1}, {3}},
			[][]int{{4, 5, 5}, {4, 5, 5}, {4, 5, 5}, {4, 5, 5}, {4, 5, 5}}},
		{"concat of branches of different depth", []int{2, 4, 4}, []*Node{
			unpadded(r, "a1", 2, 3, 1), {Name: "ar", Op: ReLU}, with(convLayer(r, "b1", 2, 5, 3, 1), ModelInput),
			with(&Node{Name: "cat", Op: Concat}, 1, 2, ModelInput),
			{Name: "ln", Op: LayerNorm, Axes: []int{0, 1, 2}, Eps: 1e-5},
			{Name: "flat", Op: Reshape, Shape: []int{10, 16}}, {Name: "sm", Op: Softmax, Axis: 1},
		}, [][]int{{-1}, {0}, {-1}, {1, 2, -1}, {3}, {4}, {5}},
			[][]int{{3, 4, 4}, {3, 4, 4}, {5, 4, 4}, {10, 4, 4}, {10, 4, 4}, {10, 16}, {10, 16}}},
		{"mul gate", []int{3, 2, 2}, []*Node{
			{Name: "sig", Op: Sigmoid}, with(&Node{Name: "gate", Op: Mul}, ModelInput, 0),
			with(affineLayer(r, "elem", 12), 1), {Name: "f", Op: Flatten},
		}, [][]int{{-1}, {-1, 0}, {1}, {2}},
			[][]int{{3, 2, 2}, {3, 2, 2}, {3, 2, 2}, {12}}},
		{"add of one node twice", []int{1, 3, 3}, []*Node{
			{Name: "r", Op: ReLU}, with(&Node{Name: "twice", Op: Add}, 0, 0),
		}, [][]int{{-1}, {0, 0}}, [][]int{{1, 3, 3}, {1, 3, 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{InputShape: tc.in, Nodes: tc.nodes}
			if err := m.InferShapes(); err != nil {
				t.Fatal(err)
			}
			for i, l := range m.Nodes {
				if !slices.Equal(l.Inputs, tc.inputs[i]) || !slices.Equal(l.OutShape, tc.shapes[i]) {
					t.Errorf("node %d %q: inputs %v, shape %v; want %v, %v", i, l.Name, l.Inputs, l.OutShape, tc.inputs[i], tc.shapes[i])
				}
				first := tc.in
				if j := tc.inputs[i][0]; j >= 0 {
					first = tc.shapes[j]
				}
				if !slices.Equal(l.InShape, first) {
					t.Errorf("node %d %q: InShape %v, want its first input's %v", i, l.Name, l.InShape, first)
				}
			}
			if !slices.Equal(m.OutputShape(), tc.shapes[len(tc.shapes)-1]) {
				t.Errorf("OutputShape %v, want the last node's", m.OutputShape())
			}
			// Shapes are a function of the graph: a second run changes nothing.
			c := m.Clone()
			if err := c.InferShapes(); err != nil || !reflect.DeepEqual(c, m) {
				t.Errorf("second InferShapes: %v, or the model changed", err)
			}
		})
	}
}

func TestInferShapesDAGErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	relu := func(name string, inputs ...int) *Node { return with(&Node{Name: name, Op: ReLU}, inputs...) }
	cases := []struct {
		name  string
		in    []int
		nodes []*Node
		want  string
	}{
		{"reads itself", []int{1, 2, 2}, []*Node{relu("a"), relu("b", 1)},
			`node 1 "b" (ReLU): input 1 is not an earlier node (nodes must be in topological order)`},
		{"reads a later node", []int{1, 2, 2}, []*Node{relu("a", 1), relu("b")},
			`node 0 "a" (ReLU): input 1 is not an earlier node`},
		{"index below ModelInput", []int{1, 2, 2}, []*Node{relu("a", -2)},
			`node 0 "a" (ReLU): input -2 is not an earlier node`},
		{"add of one input", []int{1, 2, 2}, []*Node{relu("a"), with(&Node{Name: "add", Op: Add}, 0)},
			`node 1 "add" (Add): 1 inputs: want two or more`},
		{"concat of one input", []int{1, 2, 2}, []*Node{with(&Node{Name: "cat", Op: Concat}, ModelInput)},
			`node 0 "cat" (Concat): 1 inputs: want two or more`},
		{"mul of three", []int{1, 2, 2}, []*Node{relu("a"), with(&Node{Name: "mul", Op: Mul}, 0, 0, -1)},
			`node 1 "mul" (Mul): 3 inputs: want two`},
		{"relu of two", []int{1, 2, 2}, []*Node{relu("a"), relu("b", 0, -1)},
			`node 1 "b" (ReLU): 2 inputs: want one`},
		{"empty, not nil, inputs", []int{1, 2, 2}, []*Node{relu("a"), {Name: "b", Op: ReLU, Inputs: []int{}}},
			`node 1 "b" (ReLU): 0 inputs: want one`},
		{"add of different shapes", []int{2, 4, 4}, []*Node{convLayer(r, "c", 2, 3, 3, 1), with(&Node{Name: "add", Op: Add}, 0, -1)},
			`node 1 "add" (Add): input shapes [3 4 4] and [2 4 4] differ`},
		{"add of different ranks", []int{4, 1, 1}, []*Node{{Name: "f", Op: Flatten}, with(&Node{Name: "add", Op: Add}, 0, -1)},
			`node 1 "add" (Add): input shapes [4] and [4 1 1] differ`},
		{"concat with different H/W", []int{2, 4, 4}, []*Node{unpadded(r, "c", 2, 2, 3), with(&Node{Name: "cat", Op: Concat}, -1, 0)},
			`node 1 "cat" (Concat): input shapes [2 4 4] and [2 2 2] differ beyond the channel axis`},
		{"unread node", []int{1, 2, 2}, []*Node{relu("a"), relu("b"), relu("c", 0)},
			`node 1 "b" (ReLU): its output is never read`},
		{"reshape of the wrong size", []int{2, 3, 3}, []*Node{{Name: "rs", Op: Reshape, Shape: []int{2, 9, 2}}},
			`node 0 "rs" (Reshape): shape [2 9 2] has 36 values, input [2 3 3] has 18`},
		{"reshape to nothing", []int{1, 1, 1}, []*Node{{Name: "rs", Op: Reshape}},
			`node 0 "rs" (Reshape): shape [] has 1 values`},
		{"reshape with a negative dimension", []int{1, 2, 2}, []*Node{{Name: "rs", Op: Reshape, Shape: []int{-2, -2}}},
			`node 0 "rs" (Reshape): shape [-2 -2]: dimensions must be positive`},
		{"layernorm axis out of range", []int{2, 3, 3}, []*Node{{Name: "ln", Op: LayerNorm, Axes: []int{1, 3}}},
			`node 0 "ln" (LayerNorm): axes [1 3] of a rank-3 input: want increasing axes in range`},
		{"layernorm negative axis", []int{2, 3, 3}, []*Node{{Name: "ln", Op: LayerNorm, Axes: []int{-1}}},
			`node 0 "ln" (LayerNorm): axes [-1] of a rank-3 input`},
		{"layernorm without axes", []int{2, 3, 3}, []*Node{{Name: "ln", Op: LayerNorm}},
			`node 0 "ln" (LayerNorm): no axes`},
		{"softmax axis", []int{2, 3, 3}, []*Node{{Name: "f", Op: Flatten}, {Name: "sm", Op: Softmax, Axis: 1}},
			`node 1 "sm" (Softmax): axis 1 of a rank-1 input`},
		{"per-element affine of the wrong size", []int{2, 3, 3}, []*Node{affineLayer(r, "a", 9)},
			`node 0 "a" (Affine): 2 channels, scale has 9 values and shift 9 (want one per channel or one per element)`},
	}
	for _, tc := range cases {
		m := &Model{InputShape: tc.in, Nodes: tc.nodes}
		if err := m.InferShapes(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// residual returns a small residual block on [2 4 4]: conv, ReLU, conv,
// Add of the block input, ReLU, pooled into a linear classifier.
func residual(r *rand.Rand) *Model {
	return &Model{InputShape: []int{2, 4, 4}, Nodes: []*Node{
		convLayer(r, "c0", 2, 2, 3, 1), {Name: "r0", Op: ReLU}, // 0, 1
		convLayer(r, "c1", 2, 2, 3, 1), {Name: "r1", Op: ReLU}, // 2, 3
		convLayer(r, "c2", 2, 2, 3, 1),                                                     // 4
		with(&Node{Name: "add", Op: Add}, 4, 1),                                            // 5
		{Name: "r2", Op: ReLU}, {Name: "gap", Op: GlobalAvgPool}, {Name: "f", Op: Flatten}, // 6, 7, 8
		linearLayer(r, "fc", 2, 3), // 9
	}}
}

func TestConsumers(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	m := residual(r)
	want := [][]int{{1}, {2, 5}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, nil}
	// Before InferShapes nil Inputs mean the node before; after, the
	// same, explicitly.
	for _, stage := range []string{"nil inputs", "explicit inputs"} {
		if got := m.Consumers(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Consumers = %v, want %v", stage, got, want)
		}
		if got := m.InputsOf(5); !slices.Equal(got, []int{4, 1}) {
			t.Errorf("%s: InputsOf(5) = %v", stage, got)
		}
		if got := m.InputsOf(0); !slices.Equal(got, []int{ModelInput}) {
			t.Errorf("%s: InputsOf(0) = %v", stage, got)
		}
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
	}
	// A node that reads another twice is listed once.
	twice := &Model{InputShape: []int{1, 2, 2}, Nodes: []*Node{{Op: ReLU}, with(&Node{Op: Add}, 0, 0), with(&Node{Op: Concat}, 0, 1, 0)}}
	if got := twice.Consumers(); !reflect.DeepEqual(got, [][]int{{1, 2}, {2}, nil}) {
		t.Errorf("Consumers with repeated inputs = %v", got)
	}
}

func TestCheckChain(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	chain := &Model{InputShape: []int{2, 4, 4}, Nodes: []*Node{convLayer(r, "c", 2, 2, 3, 1), {Name: "r", Op: ReLU}, {Name: "f", Op: Flatten}}}
	for _, stage := range []string{"nil inputs", "explicit inputs"} {
		if err := chain.CheckChain(); err != nil || !chain.IsChain() {
			t.Errorf("%s: chain: %v", stage, err)
		}
		if err := chain.InferShapes(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		m    *Model
		want string
	}{
		{"residual", residual(r), `node 5 "add" (Add) reads "c2" and "r0": branching networks are not supported yet`},
		{"skips a node", &Model{InputShape: []int{1, 2, 2}, Nodes: []*Node{{Name: "a", Op: ReLU}, {Name: "b", Op: ReLU}, with(&Node{Name: "c", Op: ReLU}, 0)}},
			`node 2 "c" (ReLU) reads "a": branching`},
		{"reads the model input", &Model{InputShape: []int{1, 2, 2}, Nodes: []*Node{{Name: "a", Op: ReLU}, with(&Node{Name: "cat", Op: Concat}, 0, ModelInput)}},
			`node 1 "cat" (Concat) reads "a" and the model input: branching`},
	} {
		err := tc.m.CheckChain()
		if !errors.Is(err, ErrBranching) || !strings.Contains(err.Error(), tc.want) || tc.m.IsChain() {
			t.Errorf("%s: %v, want ErrBranching and %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckConvertible(t *testing.T) {
	m := &Model{InputShape: []int{1, 2, 2}, Nodes: []*Node{{Name: "r", Op: ReLU}, {Name: "act", Op: SiLU}, with(&Node{Name: "add", Op: Add}, 0, 1)}}
	if err := m.CheckConvertible(); err == nil || !strings.Contains(err.Error(), `node 1 "act" (SiLU) runs in the ANN only: a Quartz neuron computes only ReLU-like`) {
		t.Errorf("SiLU: %v", err)
	}
	m.Nodes[1].Op = Clip
	if err := m.CheckConvertible(); err != nil {
		t.Errorf("ReLU, Clip, Add: %v", err)
	}
}

func TestCloneDAG(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	m := residual(r)
	m.Nodes = append(m.Nodes[:9], &Node{Name: "rs", Op: Reshape, Shape: []int{2, 1}},
		&Node{Name: "ln", Op: LayerNorm, Axes: []int{0, 1}, Eps: 1e-5})
	pre := m.Clone()
	if pre.Nodes[0].Inputs != nil || !reflect.DeepEqual(pre, m) {
		t.Fatal("Clone of nil Inputs is not nil, or differs")
	}
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	c := m.Clone()
	if !reflect.DeepEqual(c, m) {
		t.Fatal("Clone differs from the original")
	}
	c.Nodes[5].Inputs[1] = 0
	c.Nodes[3].Inputs[0] = 1
	c.Nodes[9].Shape[0] = 7
	c.Nodes[10].Axes[0] = 1
	if !slices.Equal(m.Nodes[5].Inputs, []int{4, 1}) || !slices.Equal(m.Nodes[3].Inputs, []int{2}) ||
		m.Nodes[9].Shape[0] != 2 || m.Nodes[10].Axes[0] != 0 {
		t.Error("Clone shares Inputs, Shape or Axes with the original")
	}
}

func TestRectifiedDAG(t *testing.T) {
	m := &Model{InputShape: []int{2, 4, 4}, Nodes: []*Node{
		{Op: Conv},                      // 0: read by a ReLU only
		{Op: ReLU},                      // 1: read by two nodes
		{Op: Conv},                      // 2: read by a ReLU and the Add
		{Op: ReLU},                      // 3
		with(&Node{Op: Add}, 1, 2, 3),   // 4: then Reshape, then ReLU
		{Op: Reshape},                   // 5
		{Op: ReLU},                      // 6
		with(&Node{Op: Conv}, 1),        // 7: then Affine, then ReLU
		{Op: Affine},                    // 8
		{Op: ReLU},                      // 9
		with(&Node{Op: Concat}, 6, 9),   // 10: then ReLU
		{Op: ReLU},                      // 11
		{Op: Conv},                      // 12: then Concat, then ReLU
		with(&Node{Op: Concat}, 12, 11), // 13
		{Op: ReLU},                      // 14
		{Op: Linear},                    // 15: the output
	}}
	want := map[int]bool{0: true, 1: false, 2: false, 4: true, 7: false, 10: true, 12: false, 15: false}
	for _, stage := range []string{"nil inputs", "explicit inputs"} {
		for i, w := range want {
			if got := m.Rectified(i); got != w {
				t.Errorf("%s: Rectified(%d) (%v) = %v, want %v", stage, i, m.Nodes[i].Op, got, w)
			}
		}
		// Shapes do not matter to Rectified; make the Inputs explicit.
		for i := range m.Nodes {
			m.Nodes[i].Inputs = m.InputsOf(i)
		}
	}
}

// sameFunction checks that s computes what m computes on a few random
// inputs in [-1, 1], to tol·(1 + |y|), and returns the worst relative
// difference.
func sameFunction(t *testing.T, r *rand.Rand, m, s *Model, tol float64) float64 {
	t.Helper()
	worst := 0.0
	for range 3 {
		x := randVec(r, Size(m.InputShape), -1, 1)
		want, got := refForward(t, m, x), refForward(t, s, x)
		if len(got) != len(want) {
			t.Fatalf("%d outputs, want %d", len(got), len(want))
		}
		for i := range want {
			d := math.Abs(got[i]-want[i]) / (1 + math.Abs(want[i]))
			if d > tol {
				t.Fatalf("output %d: simplified %v, original %v", i, got[i], want[i])
			}
			worst = max(worst, d)
		}
	}
	return worst
}

// TestSimplifyDAG checks Simplify on hand-built DAGs: the function is
// unchanged and the expected nodes fold. Tolerance 1e-6·(1 + |y|): every
// fold rounds each weight it touches once to float32 (relative
// 2⁻²⁴ ≈ 6e-8); the oracle accumulates in float64, so the differences are
// these roundings, summed with random signs over at most a few hundred
// terms of O(1) (measured: at most 7e-8). A wrong fold (a wrong channel,
// a lost shift) shows as an O(0.1) difference.
func TestSimplifyDAG(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	cases := []struct {
		name  string
		nodes []*Node
		want  []Op
	}{
		{"BatchNorm after ReLU folds forward into an unpadded conv", []*Node{
			convLayer(r, "c0", 3, 4, 3, 1), bnLayer(r, "bn0", 4), {Name: "r0", Op: ReLU}, // 0, 1, 2
			bnLayer(r, "bn1", 4), unpadded(r, "c1", 4, 4, 1), // 3 (an Affine), 4
			with(&Node{Name: "add", Op: Add}, 4, 2), {Name: "r1", Op: ReLU}, // 5, 6
			{Name: "gap", Op: GlobalAvgPool}, {Name: "f", Op: Flatten}, linearLayer(r, "fc", 4, 3),
		}, []Op{Conv, ReLU, Conv, Add, ReLU, Flatten, Linear}},
		{"BatchNorm after ReLU folds forward into a linear", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU}, bnLayer(r, "bn", 2),
			{Name: "f", Op: Flatten}, linearLayer(r, "fc", 2*6*6, 3),
		}, []Op{Conv, ReLU, Flatten, Linear}},
		{"BatchNorm after ReLU folds forward into a linear through a reshape", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU}, bnLayer(r, "bn", 2),
			{Name: "rs", Op: Reshape, Shape: []int{72}}, linearLayer(r, "fc", 2*6*6, 3),
		}, []Op{Conv, ReLU, Reshape, Linear}},
		{"BatchNorm after ReLU stays before a padded conv", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU}, bnLayer(r, "bn", 2), convLayer(r, "c1", 2, 2, 3, 1),
		}, []Op{Conv, ReLU, Affine, Conv}},
		{"affine with zero shift folds into a padded conv", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU},
			{Name: "scale", Op: Affine, Scale: []float32{2, -0.5}, Shift: []float32{0, 0}}, convLayer(r, "c1", 2, 2, 3, 1),
		}, []Op{Conv, ReLU, Conv}},
		{"affine after a conv with two readers does not fold", []*Node{
			convLayer(r, "c0", 3, 4, 3, 1), affineLayer(r, "aff", 4), convLayer(r, "c1", 4, 4, 3, 1), // 0, 1, 2
			with(&Node{Name: "add", Op: Add}, 0, 2), // 3
		}, []Op{Conv, Affine, Conv, Add}},
		{"affine after a conv it alone reads folds back", []*Node{
			convLayer(r, "c0", 3, 4, 3, 1), affineLayer(r, "aff", 4), convLayer(r, "c1", 4, 4, 3, 1),
			with(&Node{Name: "add", Op: Add}, 1, 2),
		}, []Op{Conv, Conv, Add}},
		{"affine read by two nodes does not fold forward", []*Node{
			{Name: "r0", Op: ReLU}, affineLayer(r, "aff", 3), unpadded(r, "c1", 3, 3, 1),
			with(&Node{Name: "add", Op: Add}, 1, 2),
		}, []Op{ReLU, Affine, Conv, Add}},
		{"per-element affine folds into a linear, not a conv", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), affineLayer(r, "elem0", 2*6*6), unpadded(r, "c1", 2, 2, 1), // 0, 1, 2
			{Name: "r", Op: ReLU}, affineLayer(r, "elem1", 2*6*6), {Name: "f", Op: Flatten}, linearLayer(r, "fc", 72, 3),
		}, []Op{Conv, Affine, Conv, ReLU, Flatten, Linear}},
		{"affine before a reshape that regroups channels stays", []*Node{
			{Name: "r", Op: ReLU}, affineLayer(r, "aff", 3), {Name: "rs", Op: Reshape, Shape: []int{6, 3, 6}}, unpadded(r, "c", 6, 2, 1),
		}, []Op{ReLU, Affine, Reshape, Conv}},
		{"affine before a reshape that keeps channels folds", []*Node{
			{Name: "r", Op: ReLU}, affineLayer(r, "aff", 3), {Name: "rs", Op: Reshape, Shape: []int{3, 2, 18}}, unpadded(r, "c", 3, 2, 1),
		}, []Op{ReLU, Reshape, Conv}},
		{"dropout in a branch", []*Node{
			convLayer(r, "c0", 3, 3, 3, 1), {Name: "d", Op: Dropout, Ratio: 0.5}, with(&Node{Name: "add", Op: Add}, 1, ModelInput),
		}, []Op{Conv, Add}},
		{"average pooling of an add folds into a linear", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU}, with(unpadded(r, "c1", 3, 2, 1), ModelInput), // 0, 1, 2
			with(&Node{Name: "add", Op: Add}, 1, 2), // 3
			{Name: "ap", Op: AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}, {Name: "f", Op: Flatten},
			linearLayer(r, "fc", 18, 3),
		}, []Op{Conv, ReLU, Conv, Add, Flatten, Linear}},
		{"global pooling of a concat folds into a linear without flatten", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU}, with(unpadded(r, "c1", 3, 4, 1), ModelInput),
			with(&Node{Name: "cat", Op: Concat}, 1, 2, ModelInput), {Name: "gap", Op: GlobalAvgPool}, linearLayer(r, "fc", 9, 3),
		}, []Op{Conv, ReLU, Conv, Concat, Flatten, Linear}},
		{"pooling read by two nodes stays", []*Node{
			convLayer(r, "c0", 3, 2, 3, 1), {Name: "gap", Op: GlobalAvgPool}, {Name: "f", Op: Flatten}, linearLayer(r, "fc", 2, 2),
			with(&Node{Name: "f2", Op: Flatten}, 1), with(&Node{Name: "add", Op: Add}, 3, 4),
		}, []Op{Conv, GlobalAvgPool, Flatten, Linear, Flatten, Add}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{InputShape: []int{3, 6, 6}, Nodes: tc.nodes}
			orig := m.Clone()
			s, err := Simplify(m)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, orig) {
				t.Error("Simplify changed its argument")
			}
			if got := ops(s); !slices.Equal(got, tc.want) {
				t.Errorf("simplified to %v, want %v", got, tc.want)
			}
			t.Logf("worst |Δ|/(1+|y|) = %.2g", sameFunction(t, r, m, s, 1e-6))
		})
	}
}

// randDAG returns a random DAG on [3 6 6] of convolutions (3×3 padded or
// 1×1 unpadded, so that every value keeps 6×6 and any two can meet in an
// Add or a Concat), BatchNorm, ReLU, Affine per channel and per element,
// Dropout, Add and Concat, each reading one of the last few values; the
// values no node reads are concatenated, pooled and classified by a
// Linear node.
func randDAG(r *rand.Rand) *Model {
	type value struct{ node, c int }
	vals := []value{{ModelInput, 3}}
	var nodes []*Node
	push := func(l *Node, c int, inputs ...int) {
		l.Inputs = inputs
		nodes = append(nodes, l)
		vals = append(vals, value{len(nodes) - 1, c})
	}
	recent := func() value { return vals[len(vals)-1-r.IntN(min(3, len(vals)))] }
	for range 4 + r.IntN(8) {
		name := fmt.Sprintf("n%d", len(nodes))
		v := recent()
		switch r.IntN(8) {
		case 0, 1:
			c := 2 + r.IntN(3)
			if r.IntN(2) == 0 {
				push(convLayer(r, name, v.c, c, 3, 1), c, v.node)
			} else {
				push(unpadded(r, name, v.c, c, 1), c, v.node)
			}
		case 2:
			push(bnLayer(r, name, v.c), v.c, v.node)
		case 3:
			push(&Node{Name: name, Op: ReLU}, v.c, v.node)
		case 4:
			n := v.c
			if r.IntN(3) == 0 {
				n *= 36
			}
			a := affineLayer(r, name, n)
			if r.IntN(3) == 0 {
				clear(a.Shift)
			}
			push(a, v.c, v.node)
		case 5:
			push(&Node{Name: name, Op: Dropout, Ratio: 0.5}, v.c, v.node)
		case 6:
			w := recent()
			if w.node == v.node || w.c != v.c {
				push(&Node{Name: name, Op: ReLU}, v.c, v.node)
				break
			}
			push(&Node{Name: name, Op: Add}, v.c, v.node, w.node)
		case 7:
			w := recent()
			push(&Node{Name: name, Op: Concat}, v.c+w.c, v.node, w.node)
		}
	}
	read := make([]bool, len(nodes))
	for _, l := range nodes {
		for _, j := range l.Inputs {
			if j >= 0 {
				read[j] = true
			}
		}
	}
	var unread []int
	c := 0
	for i, ok := range read {
		if !ok {
			unread = append(unread, i)
			c += vals[i+1].c
		}
	}
	if len(unread) > 1 {
		push(&Node{Name: "cat", Op: Concat}, c, unread...)
	}
	nodes = append(nodes, &Node{Name: "gap", Op: GlobalAvgPool}, &Node{Name: "f", Op: Flatten}, linearLayer(r, "fc", c, 3))
	return &Model{InputShape: []int{3, 6, 6}, Nodes: nodes}
}

// TestSimplifyRandomDAG checks that Simplify preserves the function of
// random DAGs, with the tolerance of TestSimplifyDAG (measured: at most
// 6e-8), and that across them BatchNorms became Affines, some Affines
// folded and some could not.
func TestSimplifyRandomDAG(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	affines, kept, worst := 0, 0, 0.0
	for trial := range 200 {
		m := randDAG(r)
		if err := m.InferShapes(); err != nil {
			t.Fatalf("DAG %d: %v", trial, err)
		}
		inf, err := InferenceForm(m)
		if err != nil {
			t.Fatalf("DAG %d: InferenceForm: %v", trial, err)
		}
		s, err := Simplify(m)
		if err != nil {
			t.Fatalf("DAG %d: %v", trial, err)
		}
		for _, l := range s.Nodes {
			if l.Op == BatchNorm || l.Op == Dropout || l.Op == GlobalAvgPool {
				t.Errorf("DAG %d: node %q (%v) survived Simplify", trial, l.Name, l.Op)
			}
		}
		for _, l := range inf.Nodes {
			if l.Op == Affine {
				affines++
			}
		}
		for _, l := range s.Nodes {
			if l.Op == Affine {
				kept++
			}
		}
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			worst = max(worst, sameFunction(t, r, m, s, 1e-6))
			worst = max(worst, sameFunction(t, r, m, inf, 1e-6))
		})
	}
	t.Logf("%d Affine nodes in inference form, %d kept by Simplify; worst |Δ|/(1+|y|) = %.2g", affines, kept, worst)
	if kept == 0 || kept == affines {
		t.Errorf("%d of %d Affine nodes kept: the random DAGs should exercise folding and not folding", kept, affines)
	}
}

// TestPrependPreprocessDAG: the new node 0 shifts every index up by one,
// ModelInput becomes node 0, and all readers of the model input read the
// transform. Tolerance 1e-5·(1 + |y|), as in TestPrependPreprocess: the
// reference input (x·a + b, rounded once to float32, as a PyTorch model
// sees it) and the Affine node's (a and b rounded to float32 first) differ
// by a few ulps of values up to about 4, and a layer of O(1) weights sums
// a few dozen of them.
func TestPrependPreprocessDAG(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	m := &Model{InputShape: []int{3, 4, 4}, Nodes: []*Node{
		convLayer(r, "c0", 3, 2, 3, 1), {Name: "r0", Op: ReLU}, with(convLayer(r, "c1", 3, 2, 3, 1), ModelInput),
		with(&Node{Name: "add", Op: Add}, 1, 2), with(&Node{Name: "cat", Op: Concat}, 3, ModelInput),
	}}
	p := Preprocess{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}
	pm, err := PrependPreprocess(m, p)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{ModelInput}, {0}, {1}, {0}, {2, 3}, {4, 0}}
	for i, l := range pm.Nodes {
		if !slices.Equal(l.Inputs, want[i]) {
			t.Errorf("node %d %q: inputs %v, want %v", i, l.Name, l.Inputs, want[i])
		}
	}
	if pm.Nodes[0].Op != Affine || !slices.Equal(m.Nodes[3].Inputs, []int{1, 2}) {
		t.Fatalf("first node %v, or the original changed", pm.Nodes[0].Op)
	}
	a, b, _ := p.affine(3)
	for range 3 {
		x := randVec(r, 48, 0, 1)
		xp := make([]float32, len(x))
		for i, v := range x {
			xp[i] = float32(float64(v)*a[i/16] + b[i/16])
		}
		want, got := refForward(t, m, xp), refForward(t, pm, x)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("output %d: prepended %v, standardized %v", i, got[i], want[i])
			}
		}
	}
	// Three nodes read the model input: nothing to fold the transform into.
	if _, err := FoldPreprocess(m, p); err == nil || !strings.Contains(err.Error(), "3 nodes read the model input") {
		t.Errorf("FoldPreprocess with two readers of the input: %v", err)
	}
	// A second transform composes with the first, the graph unchanged.
	q, err := PrependPreprocess(pm, Preprocess{Scale: 255})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range q.Nodes {
		if !slices.Equal(l.Inputs, want[i]) {
			t.Errorf("composed: node %d %q: inputs %v, want %v", i, l.Name, l.Inputs, want[i])
		}
	}
	if q.Nodes[0].Scale[0] != float32(255*float64(pm.Nodes[0].Scale[0])) {
		t.Errorf("composed scale %v, want 255·%v", q.Nodes[0].Scale[0], pm.Nodes[0].Scale[0])
	}
}

// TestPrependPreprocessPerElement: a model whose own input transform has
// one value per element (a mean image) composes with a per-channel
// Preprocess: element i of channel i/(H·W) gets that channel's transform.
// Tolerance as in TestPrependPreprocessDAG.
func TestPrependPreprocessPerElement(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	m := &Model{InputShape: []int{2, 2, 2}, Nodes: []*Node{affineLayer(r, "meanimage", 8), unpadded(r, "c", 2, 2, 1)}}
	p := Preprocess{Scale: 255, Mean: []float32{100, 120}, Std: []float32{50, 60}}
	for name, pass := range map[string]func(*Model, Preprocess) (*Model, error){"prepend": PrependPreprocess, "fold": FoldPreprocess} {
		pm, err := pass(m, p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(pm.Nodes) != 2 || !pm.Nodes[0].PerElement() {
			t.Fatalf("%s: %v, want the per-element Affine composed", name, ops(pm))
		}
		a, b, _ := p.affine(2)
		for range 3 {
			x := randVec(r, 8, 0, 1)
			xp := make([]float32, len(x))
			for i, v := range x {
				xp[i] = float32(float64(v)*a[i/4] + b[i/4])
			}
			want, got := refForward(t, m, xp), refForward(t, pm, x)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("%s: output %d: %v, want %v", name, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSizeLimits: a Conv with no output channels, an output over
// MaxValues per sample, and MAC counts beyond int64 are caught: errors
// name the node, and MACs saturate instead of wrapping.
func TestSizeLimits(t *testing.T) {
	conv := func(cout, h int) *Model {
		return &Model{InputShape: []int{1, h, h}, Nodes: []*Node{
			{Name: "c", Op: Conv, WShape: []int{cout, 1, 1, 1}, W: make([]float32, max(cout, 0)),
				Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		}}
	}
	for _, tc := range []struct {
		name string
		m    *Model
		want string
	}{
		{"zero channels", conv(0, 4), `node 0 "c" (Conv): weight shape [0 1 1 1] has an empty or negative dimension`},
		{"huge output", conv(4, 1<<15), `node 0 "c" (Conv): output shape [4 32768 32768] has more than 2147483648 values per sample`},
		{"huge input", &Model{InputShape: []int{3, 1 << 20, 1 << 20}, Nodes: []*Node{{Name: "r", Op: ReLU}}}, "model input shape [3 1048576 1048576] has more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.InferShapes()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("InferShapes: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	big := &Node{Op: Conv, WShape: []int{1 << 20, 1 << 20, 1 << 10, 1 << 10}, OutShape: []int{1 << 20, 1 << 10, 1 << 10}}
	if got := big.MACs(); got != math.MaxInt64 {
		t.Errorf("MACs of 2^80 = %d, want saturation at MaxInt64", got)
	}
	m := &Model{Nodes: []*Node{big, big}}
	if got := m.MACs(); got != math.MaxInt64 {
		t.Errorf("model MACs = %d, want saturation", got)
	}
}
