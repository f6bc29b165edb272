package nn

import (
	"math"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// TestQuant checks the fake quantization's forward values (levels of
// ⌊T·x + ½⌋/T, clipped) and its straight-through gradient mask. Finite
// differences do not apply (the forward is piecewise constant), so the
// mask is checked value by value.
func TestQuant(t *testing.T) {
	x := []float32{-0.3, -0.1, 0, 0.1, 0.124, 0.125, 0.3, 0.5, 0.874, 0.875, 0.99, 1, 1.2, 1.2}
	dy := []float32{1, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, -1}
	for _, tc := range []struct {
		name   string
		min    float32
		levels int
		y      []float32
		dx     []float32
	}{
		{"rectified T4", 0, 4,
			[]float32{0, 0, 0, 0, 0, 0.25, 0.25, 0.5, 0.75, 1, 1, 1, 1, 1},
			// (0, 1) passes; at 1 and above only dy > 0; at 0 and below none.
			[]float32{0, 0, 0, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 0}},
		{"output T2", -math.MaxFloat32, 2,
			[]float32{-0.5, 0, 0, 0, 0, 0, 0.5, 0.5, 1, 1, 1, 1, 1, 1},
			[]float32{1, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := model(t, []int{len(x), 1, 1}, &graph.Node{Op: graph.Quant, Levels: tc.levels, Min: tc.min, Max: 1})
			net, err := New(m, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			net.inputGrad = true
			y := net.Forward(x, 1, true)
			for i := range x {
				if y[i] != tc.y[i] {
					t.Errorf("y(%v) = %v, want %v", x[i], y[i], tc.y[i])
				}
			}
			net.Backward(dy)
			for i := range x {
				if net.dInput[i] != tc.dx[i] {
					t.Errorf("x %v, dy %v: dx %v, want %v", x[i], dy[i], net.dInput[i], tc.dx[i])
				}
			}
			// Eval mode computes the same values.
			p := net.Predict(x, 1)
			for i := range x {
				if p[i] != tc.y[i] {
					t.Errorf("Predict: y(%v) = %v, want %v", x[i], p[i], tc.y[i])
				}
			}
		})
	}
}

// TestQuantRefusesBadLevels: a Quant node without levels is an error.
func TestQuantRefusesBadLevels(t *testing.T) {
	m := &graph.Model{InputShape: []int{2, 1, 1}, Nodes: []*graph.Node{{Op: graph.Quant, Levels: 0, Max: 1}}}
	if _, err := New(m, 1); err == nil {
		t.Error("0 levels: no error")
	}
}
