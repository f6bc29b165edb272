package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// TestAffineForward checks graph.Affine against a hand computation: the
// values are exact in float32 (products and sums of small dyadic numbers),
// so the outputs must match bit for bit.
func TestAffineForward(t *testing.T) {
	for _, tc := range []struct {
		name         string
		in           []int
		scale, shift []float32
		x, want      []float32 // one sample, then a second one
	}{
		{"one channel", []int{1, 1, 3}, []float32{2}, []float32{-0.5},
			[]float32{0, 0.25, 1, 0.5, -1, 3}, []float32{-0.5, 0, 1.5, 0.5, -2.5, 5.5}},
		{"three channels 1x2", []int{3, 1, 2}, []float32{4, 0.5, -1}, []float32{-2, 0.25, 1},
			[]float32{0, 1, 0, 1, 0, 1, 0.5, 0.25, 2, 4, -1, 0.75},
			[]float32{-2, 2, 0.25, 0.75, 1, 0, 0, -1, 1.25, 2.25, 2, 0.25}},
		{"two channels 2x1", []int{2, 2, 1}, []float32{1, 8}, []float32{0, -4},
			[]float32{0.125, 0.375, 0.5, 1, 1, 1, 1, 1}, []float32{0.125, 0.375, 0, 4, 1, 1, 4, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &graph.Model{InputShape: tc.in, Nodes: []*graph.Node{{Name: "pre", Op: graph.Affine, Scale: tc.scale, Shift: tc.shift}}}
			for _, workers := range []int{1, 2} {
				net, err := New(m, workers)
				if err != nil {
					t.Fatal(err)
				}
				got := net.Forward(tc.x, 2, false)
				for i := range tc.want {
					if got[i] != tc.want[i] {
						t.Errorf("workers %d: y[%d] = %v, want %v", workers, i, got[i], tc.want[i])
					}
				}
				net.Close()
			}
		})
	}
}

// TestAffineGrad checks the input gradient through an Affine layer (it is
// linear, so linEps and the linear tolerances apply) in front of a padded
// conv, the case it exists for.
func TestAffineGrad(t *testing.T) {
	m := model(t, []int{3, 5, 4},
		&graph.Node{Name: "pre", Op: graph.Affine, Scale: []float32{4.4, 0.5, -2}, Shift: []float32{-2.1, 0.3, 1}},
		convLayer(3, 2, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 1, true))
	x := randVec(rand.New(rand.NewPCG(1, 2)), 2*60, 1)
	gradCheck(t, m, 2, 2, true, x, linEps, linRtol, linAtol)
	if ps := mustNew(t, m).Params(); len(ps) != 2 {
		t.Errorf("%d parameters, want the conv's weight and bias only", len(ps))
	}
}

func mustNew(t *testing.T, m *graph.Model) *Net {
	t.Helper()
	net, err := New(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}
