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
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `layer 0 "pre" (Affine)`) {
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
				if err := bad.CheckFinite(); !errors.Is(err, graph.ErrNonFinite) || !strings.Contains(err.Error(), `layer 0 "pre" `+field+"[0] = -Inf") {
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
	}{
		{"cifar padded conv", randModel(r, []int{3, 6, 5}, conv(3, 4, 3, 1, 1), relu()), cifar},
		{"grouped padded conv, scale 255", randModel(r, []int{4, 5, 5}, conv(4, 8, 3, 2, 2), relu()),
			graph.Preprocess{Scale: 255, Mean: []float32{120, 110, 100, 90}, Std: []float32{60, 61, 62, 63}}},
		{"depthwise padded, one value", randModel(r, []int{3, 4, 4}, conv(3, 6, 3, 3, 1)), graph.Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}}},
		{"conv then linear", randModel(r, []int{1, 4, 4}, conv(1, 2, 3, 1, 1), relu(), &graph.Node{Op: graph.Flatten}, linear(32, 3)),
			graph.Preprocess{Mean: []float32{0.1307}, Std: []float32{0.3081}}},
		{"unpadded (foldable too)", randModel(r, []int{3, 5, 5}, conv(3, 2, 3, 1, 0)), cifar},
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
			// The passes keep the Affine layer first and leave it alone.
			for name, pass := range map[string]func(*graph.Model) (*graph.Model, error){"Simplify": graph.Simplify, "InferenceForm": graph.InferenceForm} {
				s, err := pass(p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
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
	// One transform only: neither prepend nor fold a second one.
	p, err := graph.PrependPreprocess(m, graph.Preprocess{Mean: []float32{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.PrependPreprocess(p, graph.Preprocess{Scale: 2}); err == nil || !strings.Contains(err.Error(), `layer 0 "preprocess" already applies an input transform`) {
		t.Errorf("prepend twice: %v", err)
	}
	if _, err := graph.FoldPreprocess(p, graph.Preprocess{Scale: 2}); err == nil || !strings.Contains(err.Error(), `layer 0 "preprocess" already applies an input transform`) {
		t.Errorf("fold after prepend: %v", err)
	}
	// A name already taken gets a suffix.
	m.Nodes[0].Name = graph.PreprocessLayerName
	if p, err := graph.PrependPreprocess(m, graph.Preprocess{Mean: []float32{0.5}}); err != nil || p.Nodes[0].Name != "preprocess_2" {
		t.Errorf("name clash: %v, first layer %q; want preprocess_2", err, p.Nodes[0].Name)
	}
	// A BatchNorm right after the transform cannot be folded.
	bn := &graph.Model{InputShape: []int{1, 2, 2}, Nodes: []*graph.Node{
		{Name: "bn", Op: graph.BatchNorm, Gamma: []float32{1}, Beta: []float32{0}, Mean: []float32{0}, Var: []float32{1}},
	}}
	pb, err := graph.PrependPreprocess(bn, graph.Preprocess{Mean: []float32{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.Simplify(pb); err == nil || !strings.Contains(err.Error(), "does not follow a Conv or Linear") {
		t.Errorf("Simplify with BatchNorm after Affine: %v", err)
	}
}
