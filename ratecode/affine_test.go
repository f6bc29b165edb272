package ratecode_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/ratecode"
)

// TestAffineInput: with an input transform before the first layer
// (graph.PrependPreprocess, the model's first conv zero-padded), the rate
// simulation of pixels x equals, spike for spike, that of the model without
// the transform on the transformed input, computed as package nn computes
// graph.Affine (float32(x·scale) + shift): the analog current sees the same
// values and pads them with 0.
func TestAffineInput(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	vec := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * s)
		}
		return v
	}
	m := &graph.Model{InputShape: []int{2, 4, 4}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{3, 2, 3, 3}, W: vec(54, 0.3), B: vec(3, 0.1),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{3, 48}, W: vec(144, 0.2), B: vec(3, 0.1)},
	}}
	pre, err := graph.PrependPreprocess(m, graph.Preprocess{Mean: []float32{0.5, 0.4}, Std: []float32{0.25, 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ratecode.New(pre, ratecode.Config{Steps: 50, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	so, err := ratecode.New(m, ratecode.Config{Steps: 50, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := pre.Nodes[0]
	x := make([]float32, 32)
	xt := make([]float32, 32)
	for it := 0; it < 5; it++ {
		for i := range x {
			x[i] = r.Float32()
			c := i / 16
			xt[i] = float32(x[i]*a.Scale[c]) + a.Shift[c]
		}
		got, err := sp.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := so.Run(xt)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(want, got); d != "" {
			t.Fatalf("sample %d: with the transform vs on transformed pixels:\n%s", it, d)
		}
	}
	late := &graph.Model{InputShape: m.InputShape, Nodes: []*graph.Node{m.Nodes[0], m.Nodes[1],
		{Name: "late", Op: graph.Affine, Scale: []float32{1, 1, 1}, Shift: []float32{0, 0, 0}}, m.Nodes[2], m.Nodes[3]}}
	_, err = ratecode.New(late, ratecode.Config{})
	var ce *ratecode.ConvertError
	if !errors.As(err, &ce) || ce.Layer != 2 || !strings.Contains(err.Error(), "an input transform is supported only once, before the first Conv or Linear layer") {
		t.Errorf("Affine after the first layer: %v", err)
	}
}
