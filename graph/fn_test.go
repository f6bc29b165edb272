package graph

import (
	"slices"
	"strings"
	"testing"
)

// TestFnShapes checks the shape inference of Unary, Reduce and Binary
// nodes and their errors, by name.
func TestFnShapes(t *testing.T) {
	in := []int{2, 3, 4}
	tests := []struct {
		name string
		l    Node
		b    []int // second input's shape (Binary)
		want []int
		err  string
	}{
		{"unary exp", Node{Op: Unary, Fn: "Exp"}, nil, []int{2, 3, 4}, ""},
		{"unary unknown", Node{Op: Unary, Fn: "Frob"}, nil, nil, `unary function "Frob"`},
		{"prelu one slope", Node{Op: Unary, Fn: "PRelu", Scale: []float32{0.1}}, nil, []int{2, 3, 4}, ""},
		{"prelu per channel", Node{Op: Unary, Fn: "PRelu", Scale: []float32{0.1, 0.2}}, nil, []int{2, 3, 4}, ""},
		{"prelu per element", Node{Op: Unary, Fn: "PRelu", Scale: make([]float32, 24)}, nil, []int{2, 3, 4}, ""},
		{"prelu bad slope", Node{Op: Unary, Fn: "PRelu", Scale: make([]float32, 3)}, nil, nil, "PRelu slope has 3 values"},
		{"reduce keep", Node{Op: Reduce, Fn: "Sum", Axes: []int{1, 2}, Keep: true}, nil, []int{2, 1, 1}, ""},
		{"reduce drop", Node{Op: Reduce, Fn: "Max", Axes: []int{0, 2}}, nil, []int{3}, ""},
		{"reduce all drop", Node{Op: Reduce, Fn: "Min", Axes: []int{0, 1, 2}}, nil, []int{1}, ""},
		{"reduce no axes", Node{Op: Reduce, Fn: "Sum"}, nil, nil, "no axes"},
		{"reduce axes order", Node{Op: Reduce, Fn: "Sum", Axes: []int{2, 1}}, nil, nil, "want increasing axes"},
		{"reduce axis range", Node{Op: Reduce, Fn: "Sum", Axes: []int{3}}, nil, nil, "want increasing axes"},
		{"reduce unknown", Node{Op: Reduce, Fn: "Median", Axes: []int{0}}, nil, nil, `reduce function "Median"`},
		{"binary same", Node{Op: Binary, Fn: "Sub"}, []int{2, 3, 4}, []int{2, 3, 4}, ""},
		{"binary ones", Node{Op: Binary, Fn: "Div"}, []int{1, 1, 1}, []int{2, 3, 4}, ""},
		{"binary both ways", Node{Op: Binary, Fn: "Max"}, []int{2, 1, 4}, []int{2, 3, 4}, ""},
		{"binary mismatch", Node{Op: Binary, Fn: "Min"}, []int{4, 3, 2}, nil, "do not broadcast (axis 0)"},
		{"binary rank", Node{Op: Binary, Fn: "Pow"}, []int{3, 4}, nil, "ranks differ"},
		{"binary unknown", Node{Op: Binary, Fn: "Hypot"}, []int{2, 3, 4}, nil, `binary function "Hypot"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{InputShape: in}
			l := tc.l
			if tc.b != nil {
				// The second input: a Reshape (same size) or a Reduce of the input.
				var first *Node
				if Size(tc.b) == Size(in) {
					first = &Node{Op: Reshape, Shape: tc.b, Inputs: []int{ModelInput}}
				} else {
					first = &Node{Op: Reduce, Fn: "Sum", Axes: diffAxes(in, tc.b), Keep: len(tc.b) == len(in), Inputs: []int{ModelInput}}
				}
				m.Nodes = append(m.Nodes, first)
				l.Inputs = []int{ModelInput, 0}
			}
			m.Nodes = append(m.Nodes, &l)
			err := m.InferShapes()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.OutputShape(); !slices.Equal(got, tc.want) {
				t.Errorf("shape %v, want %v", got, tc.want)
			}
			if why := l.Op.AnnOnly(); why == "" {
				t.Errorf("%v is not ANN only", l.Op)
			}
		})
	}
}

// diffAxes returns the axes where b is 1 and a is not (for building a
// reduced second input), or the trailing axes a has and b lacks.
func diffAxes(a, b []int) []int {
	var ax []int
	if len(b) < len(a) {
		for k := 0; k < len(a)-len(b); k++ {
			ax = append(ax, k)
		}
		return ax
	}
	for k := range a {
		if b[k] == 1 && a[k] != 1 {
			ax = append(ax, k)
		}
	}
	return ax
}

func TestBinaryArity(t *testing.T) {
	m := &Model{InputShape: []int{1, 2, 2}, Nodes: []*Node{{Op: Binary, Fn: "Sub"}}}
	if err := m.InferShapes(); err == nil || !strings.Contains(err.Error(), "want two") {
		t.Fatalf("err %v, want an arity error", err)
	}
}
