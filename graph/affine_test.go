package graph_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// TestAffineLayer checks what every pass sees of an Affine layer: its
// shape rule, 0 MACs and 0 parameters, Clone's deep copy and CheckFinite.
func TestAffineLayer(t *testing.T) {
	aff := func(scale, shift []float32) *graph.Node {
		return &graph.Node{Name: "pre", Op: graph.Affine, Scale: scale, Shift: shift}
	}
	for _, tc := range []struct {
		name string
		in   []int
		l    *graph.Node
		want string // InferShapes error, "" for none
	}{
		{"3 channels", []int{3, 4, 5}, aff([]float32{1, 2, 3}, []float32{0, -1, 1}), ""},
		{"1 channel", []int{1, 2, 2}, aff([]float32{4}, []float32{-2}), ""},
		{"too few scales", []int{3, 4, 5}, aff([]float32{1, 2}, []float32{0, 0, 0}), "3 channels, scale has 2 values and shift 3"},
		{"no shift", []int{2, 4, 5}, aff([]float32{1, 2}, nil), "2 channels, scale has 2 values and shift 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &graph.Model{InputShape: tc.in, Nodes: []*graph.Node{tc.l}}
			err := m.InferShapes()
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `node 0 "pre" (Affine)`) {
					t.Errorf("InferShapes: %v, want an error containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.OutputShape(), tc.in) || m.MACs() != 0 || m.Params() != 0 || graph.Affine.HasParams() {
				t.Errorf("shape %v, %d MACs, %d params: want %v, 0, 0", m.OutputShape(), m.MACs(), m.Params(), tc.in)
			}
			c := m.Clone()
			c.Nodes[0].Scale[0], c.Nodes[0].Shift[0] = 99, 99
			if m.Nodes[0].Scale[0] == 99 || m.Nodes[0].Shift[0] == 99 {
				t.Error("Clone shares Scale or Shift with the original")
			}
			for _, field := range []string{"scale", "shift"} {
				bad := m.Clone()
				v := bad.Nodes[0].Scale
				if field == "shift" {
					v = bad.Nodes[0].Shift
				}
				v[0] = float32(math.Inf(-1))
				if err := bad.CheckFinite(); !errors.Is(err, graph.ErrNonFinite) || !strings.Contains(err.Error(), `node 0 "pre" `+field+"[0] = -Inf") {
					t.Errorf("CheckFinite with %s[0] = -Inf: %v", field, err)
				}
			}
		})
	}
	if s := graph.Affine.String(); s != "Affine" {
		t.Errorf("Affine.String() = %q", s)
	}
	m := &graph.Model{InputShape: []int{6}, Nodes: []*graph.Node{aff([]float32{1}, []float32{0})}}
	if err := m.InferShapes(); err == nil || !strings.Contains(err.Error(), "want [C H W]") {
		t.Errorf("Affine on a flat input: %v", err)
	}
}

// standardize returns (x·scale − mean)/std per channel, computed in float64
// and rounded once: what a PyTorch model trained with Normalize sees.
func standardize(p graph.Preprocess, shape []int, x []float32) []float32 {
	c := shape[0]
	hw := graph.Size(shape) / c
	out := make([]float32, len(x))
	for i, v := range x {
		ch := (i / hw) % c
		mean, std, scale := 0.0, 1.0, 1.0
		if len(p.Mean) > 0 {
			mean = float64(p.Mean[min(ch, len(p.Mean)-1)])
		}
		if len(p.Std) > 0 {
			std = float64(p.Std[min(ch, len(p.Std)-1)])
		}
		if p.Scale != 0 {
			scale = float64(p.Scale)
		}
		out[i] = float32((float64(v)*scale - mean) / std)
	}
	return out
}

// TestPrependPreprocess is the exactness property: for models whose first
// conv zero-pads (where FoldPreprocess refuses a mean), package nn's output
// of the prepended model on pixels x equals its output of the original
// model on the standardized input (x·scale − mean)/std. The transformed
// inputs differ only by float32 rounding (x·a + b with a, b rounded, vs
// (x·s − m)/σ rounded once: a few ulps of values O(1..10)); through a few
// layers of O(1) weights that stays below 1e-5·(1 + |y|), the tolerance
// (measured: at most 1.4e-6).
func TestPrependPreprocess(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cifar := graph.Preprocess{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}
	relu := func() *graph.Node { return &graph.Node{Op: graph.ReLU} }
	for _, tc := range []struct {
		name string
		m    *graph.Model
		p    graph.Preprocess
		// folds: Simplify folds the Affine layer into the first conv
		// (it does not zero-pad); otherwise Simplify keeps it as it is.
		folds bool
	}{
		{"cifar padded conv", randModel(r, []int{3, 6, 5}, conv(3, 4, 3, 1, 1), relu()), cifar, false},
		{"grouped padded conv, scale 255", randModel(r, []int{4, 5, 5}, conv(4, 8, 3, 2, 2), relu()),
			graph.Preprocess{Scale: 255, Mean: []float32{120, 110, 100, 90}, Std: []float32{60, 61, 62, 63}}, false},
		{"depthwise padded, one value", randModel(r, []int{3, 4, 4}, conv(3, 6, 3, 3, 1)), graph.Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}}, false},
		{"conv then linear", randModel(r, []int{1, 4, 4}, conv(1, 2, 3, 1, 1), relu(), &graph.Node{Op: graph.Flatten}, linear(32, 3)),
			graph.Preprocess{Mean: []float32{0.1307}, Std: []float32{0.3081}}, false},
		{"unpadded (foldable too)", randModel(r, []int{3, 5, 5}, conv(3, 2, 3, 1, 0)), cifar, true},
		{"flatten linear", randModel(r, []int{3, 2, 2}, &graph.Node{Op: graph.Flatten}, linear(12, 4)), cifar, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := graph.PrependPreprocess(tc.m, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Nodes) != len(tc.m.Nodes)+1 || p.Nodes[0].Op != graph.Affine || p.Nodes[0].Name != graph.PreprocessLayerName {
				t.Fatalf("layers %v: want an Affine %q first", p.Nodes, graph.PreprocessLayerName)
			}
			if p.MACs() != tc.m.MACs() || p.Params() != tc.m.Params() {
				t.Errorf("MACs %d params %d, want the original's %d and %d", p.MACs(), p.Params(), tc.m.MACs(), tc.m.Params())
			}
			const n = 4
			x := make([]float32, n*graph.Size(tc.m.InputShape))
			for i := range x {
				x[i] = r.Float32()
			}
			want := predict(t, tc.m, standardize(tc.p, tc.m.InputShape, x), n)
			got := predict(t, p, x, n)
			worst := 0.0
			for i := range want {
				d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i])))
				if d > 1e-5 {
					t.Fatalf("output %d: prepended %v, standardized %v", i, got[i], want[i])
				}
				worst = max(worst, d)
			}
			t.Logf("worst |Δ|/(1+|y|) = %.2g", worst)
			// InferenceForm keeps the Affine layer first and leaves it
			// alone; so does Simplify where the first conv zero-pads (the
			// shift cannot move into its bias), else it folds the layer
			// into the conv or linear, as FoldPreprocess would.
			for name, pass := range map[string]func(*graph.Model) (*graph.Model, error){"Simplify": graph.Simplify, "InferenceForm": graph.InferenceForm} {
				s, err := pass(p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if name == "Simplify" && tc.folds {
					for _, l := range s.Nodes {
						if l.Op == graph.Affine {
							t.Errorf("Simplify kept the Affine layer %q before an unpadded first layer", l.Name)
						}
					}
					if len(s.Nodes) != len(tc.m.Nodes) {
						t.Errorf("Simplify: %d nodes, want the original's %d", len(s.Nodes), len(tc.m.Nodes))
					}
					// Folding rounds each weight once more: same tolerance.
					got := predict(t, s, x, n)
					for i := range want {
						if d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i]))); d > 1e-5 {
							t.Fatalf("Simplify: output %d: folded %v, standardized %v", i, got[i], want[i])
						}
					}
					continue
				}
				if !reflect.DeepEqual(s.Nodes[0], p.Nodes[0]) {
					t.Errorf("%s changed the Affine layer: %+v", name, s.Nodes[0])
				}
			}
		})
	}
}

func TestPrependPreprocessErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m := randModel(r, []int{3, 5, 5}, conv(3, 4, 3, 1, 1))
	for _, tc := range []struct {
		p    graph.Preprocess
		want string
	}{
		{graph.Preprocess{Std: []float32{1, 0, 1}}, "std[1] = 0"},
		{graph.Preprocess{Mean: []float32{1, 2}}, "has 2 values; the model's input has 3 channels"},
		{graph.Preprocess{Scale: float32(math.Inf(1))}, "input scale +Inf"},
		{graph.Preprocess{Std: []float32{1e-45}}, "non-finite value"}, // 1/1e-45 overflows float32
	} {
		if _, err := graph.PrependPreprocess(m, tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.p, err, tc.want)
		}
	}
	// An identity transform adds nothing.
	if id, err := graph.PrependPreprocess(m, graph.Preprocess{}); err != nil || len(id.Nodes) != 1 {
		t.Errorf("identity: %v, %d layers; want the model unchanged", err, len(id.Nodes))
	}
	// A second transform composes with the first: prepending or folding
	// q into a model that already starts with its input transform p gives
	// one Affine layer computing p(q(x)): x·(a_q·a_p) + (b_q·a_p + b_p),
	// computed in float64 and rounded once.
	p, err := graph.PrependPreprocess(m, graph.Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}})
	if err != nil {
		t.Fatal(err)
	}
	q := graph.Preprocess{Scale: 2, Mean: []float32{0.1, 0.2, 0.3}}
	for name, pass := range map[string]func(*graph.Model, graph.Preprocess) (*graph.Model, error){"prepend": graph.PrependPreprocess, "fold": graph.FoldPreprocess} {
		c, err := pass(p, q)
		if err != nil {
			t.Fatalf("%s after prepend: %v", name, err)
		}
		if len(c.Nodes) != 2 || c.Nodes[0].Op != graph.Affine || c.Nodes[0].Name != graph.PreprocessLayerName {
			t.Fatalf("%s after prepend: %d nodes, first %v; want the one Affine layer, then the conv", name, len(c.Nodes), c.Nodes[0].Op)
		}
		if !reflect.DeepEqual(c.Nodes[1], p.Nodes[1]) {
			t.Errorf("%s after prepend changed the conv", name)
		}
		for ch, mean := range q.Mean {
			scale, shift := 2*4.0, -float64(mean)*4-2
			if a := c.Nodes[0]; a.Scale[ch] != float32(scale) || a.Shift[ch] != float32(shift) {
				t.Errorf("%s after prepend: channel %d: scale %v shift %v, want %v %v", name, ch, a.Scale[ch], a.Shift[ch], float32(scale), float32(shift))
			}
		}
		if p.Nodes[0].Scale[0] != 4 || p.Nodes[0].Shift[0] != -2 {
			t.Errorf("%s after prepend changed its argument: %+v", name, p.Nodes[0])
		}
		// The tolerance of TestPrependPreprocess.
		x := make([]float32, 2*graph.Size(m.InputShape))
		for i := range x {
			x[i] = r.Float32()
		}
		want := predict(t, p, standardize(q, m.InputShape, x), 2)
		got := predict(t, c, x, 2)
		for i := range want {
			if d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i]))); d > 1e-5 {
				t.Fatalf("%s after prepend: output %d: %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	if _, err := graph.PrependPreprocess(p, graph.Preprocess{Mean: []float32{1, 2}}); err == nil || !strings.Contains(err.Error(), "has 2 values; the model's input has 3 channels") {
		t.Errorf("compose with a bad transform: %v", err)
	}
	// A name already taken gets a suffix.
	m.Nodes[0].Name = graph.PreprocessLayerName
	if p, err := graph.PrependPreprocess(m, graph.Preprocess{Mean: []float32{0.5}}); err != nil || p.Nodes[0].Name != "preprocess_2" {
		t.Errorf("name clash: %v, first layer %q; want preprocess_2", err, p.Nodes[0].Name)
	}
	// A BatchNorm right after the transform cannot fold into a Conv or
	// Linear: Simplify turns it into a second Affine layer that stays, and
	// the function is unchanged (tolerance of TestPrependPreprocess).
	bn := &graph.Model{InputShape: []int{1, 2, 2}, Nodes: []*graph.Node{
		{Name: "bn", Op: graph.BatchNorm, Gamma: []float32{3}, Beta: []float32{0.5}, Mean: []float32{0.25}, Var: []float32{4}},
	}}
	pb, err := graph.PrependPreprocess(bn, graph.Preprocess{Mean: []float32{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := graph.Simplify(pb)
	if err != nil {
		t.Fatalf("Simplify with BatchNorm after Affine: %v", err)
	}
	if len(sb.Nodes) != 2 || sb.Nodes[0].Op != graph.Affine || sb.Nodes[1].Op != graph.Affine || sb.Nodes[1].Name != "bn" {
		t.Fatalf("Simplify with BatchNorm after Affine: %d nodes, want two Affine layers", len(sb.Nodes))
	}
	if a := sb.Nodes[1]; a.Scale[0] != 1.5 || a.Shift[0] != 0.125 {
		t.Errorf("BatchNorm as Affine: scale %v shift %v, want 1.5 and 0.125", a.Scale, a.Shift)
	}
	x := []float32{0, 0.25, 0.5, 1}
	want, got := predict(t, pb, x, 1), predict(t, sb, x, 1)
	for i := range want {
		if d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i]))); d > 1e-5 {
			t.Errorf("Simplify with BatchNorm after Affine: output %d: %v, want %v", i, got[i], want[i])
		}
	}
}
