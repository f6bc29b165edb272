package graph_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
)

func randModel(r *rand.Rand, in []int, layers ...*graph.Node) *graph.Model {
	m := &graph.Model{InputShape: in, Nodes: layers}
	for _, l := range layers {
		if l.Op == graph.Conv && l.Stride == [2]int{} {
			l.Stride, l.Dilation = [2]int{1, 1}, [2]int{1, 1}
		}
	}
	if err := m.InferShapes(); err != nil {
		panic(err)
	}
	for _, l := range layers {
		for i := range l.W {
			l.W[i] = float32(r.NormFloat64())
		}
		for i := range l.B {
			l.B[i] = float32(r.NormFloat64())
		}
	}
	return m
}

func conv(cin, cout, k, group int, pad int) *graph.Node {
	return &graph.Node{Name: "conv1", Op: graph.Conv, Kernel: [2]int{k, k}, Group: group, Pad: [4]int{pad, pad, pad, pad},
		W: make([]float32, cout*cin/group*k*k), B: make([]float32, cout), WShape: []int{cout, cin / group, k, k}}
}

func linear(in, out int) *graph.Node {
	return &graph.Node{Name: "fc", Op: graph.Linear, W: make([]float32, in*out), B: make([]float32, out), WShape: []int{out, in}}
}

func TestFoldPreprocess(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	imagenet := graph.Preprocess{Scale: 1, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}
	tests := []struct {
		name string
		m    *graph.Model
		p    graph.Preprocess
	}{
		{"conv unpadded imagenet", randModel(r, []int{3, 6, 5}, conv(3, 4, 3, 1, 0), &graph.Node{Op: graph.ReLU}), imagenet},
		{"grouped conv", randModel(r, []int{4, 5, 5}, conv(4, 8, 3, 2, 0)), graph.Preprocess{Scale: 255, Mean: []float32{1, 2, 3, 4}, Std: []float32{5, 6, 7, 8}}},
		{"depthwise conv", randModel(r, []int{3, 5, 5}, conv(3, 6, 3, 3, 0)), imagenet},
		{"padded conv, scale and std only", randModel(r, []int{3, 5, 5}, conv(3, 4, 3, 1, 1)), graph.Preprocess{Scale: 255, Std: []float32{0.5, 2, 4}}},
		{"flatten linear", randModel(r, []int{3, 2, 2}, &graph.Node{Op: graph.Flatten}, linear(12, 5)), imagenet},
		{"mnist one value", randModel(r, []int{1, 4, 4}, conv(1, 2, 3, 1, 0)), graph.Preprocess{Mean: []float32{0.1307}, Std: []float32{0.3081}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := graph.FoldPreprocess(tc.m, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			const n = 3
			c := tc.m.InputShape[0]
			hw := graph.Size(tc.m.InputShape) / c
			x := make([]float32, n*c*hw)
			xp := make([]float32, len(x))
			for i := range x {
				x[i] = r.Float32()
				ch := (i / hw) % c
				mean, std, scale := 0.0, 1.0, 1.0
				if len(tc.p.Mean) > 0 {
					mean = float64(tc.p.Mean[min(ch, len(tc.p.Mean)-1)])
				}
				if len(tc.p.Std) > 0 {
					std = float64(tc.p.Std[min(ch, len(tc.p.Std)-1)])
				}
				if tc.p.Scale != 0 {
					scale = float64(tc.p.Scale)
				}
				xp[i] = float32((float64(x[i])*scale - mean) / std)
			}
			want := predict(t, tc.m, xp, n)
			got := predict(t, f, x, n)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("output %d: folded %v, preprocessed %v", i, got[i], want[i])
				}
			}
		})
	}
}

func predict(t *testing.T, m *graph.Model, x []float32, n int) []float32 {
	t.Helper()
	net, err := nn.New(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	return append([]float32(nil), net.Predict(x, n)...)
}

func TestFoldPreprocessErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := randModel(r, []int{3, 5, 5}, conv(3, 4, 3, 1, 1))
	_, err := graph.FoldPreprocess(m, graph.Preprocess{Mean: []float32{0.5}})
	if !errors.Is(err, graph.ErrPreprocessPadding) || !strings.Contains(err.Error(), `"conv1"`) {
		t.Errorf("padded conv with mean: %v", err)
	}
	for _, tc := range []struct {
		p    graph.Preprocess
		want string
	}{
		{graph.Preprocess{Std: []float32{1, 0, 1}}, "std[1] = 0"},
		{graph.Preprocess{Mean: []float32{1, 2}}, "has 2 values; the model's input has 3 channels"},
		{graph.Preprocess{Scale: -1}, "input scale -1"},
	} {
		m := randModel(r, []int{3, 5, 5}, conv(3, 4, 3, 1, 0))
		if _, err := graph.FoldPreprocess(m, tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.p, err, tc.want)
		}
	}
	relu := randModel(r, []int{1, 2, 2}, &graph.Node{Op: graph.ReLU}, &graph.Node{Op: graph.Flatten}, linear(4, 2))
	if _, err := graph.FoldPreprocess(relu, graph.Preprocess{Scale: 2}); err == nil || !strings.Contains(err.Error(), "comes before the first Conv") {
		t.Errorf("relu first: %v", err)
	}
}
