package nn

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// TestInferMatchesForward: Predict and Activations, on liveness buffers,
// give Forward(x, n, false)'s values bit for bit, on chains and a DAG, and
// a chain runs on two slots.
func TestInferMatchesForward(t *testing.T) {
	vgg, err := Zoo("vgg11", []int{3, 32, 32}, 10, 0.125)
	if err != nil {
		t.Fatal(err)
	}
	lenet, err := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*graph.Model{vgg, lenet, resNet(t)} {
		Init(m, 3)
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		const n = 5
		x := randVec(r, n*graph.Size(m.InputShape), 1)
		for _, workers := range []int{1, 3} {
			ref, _ := New(m, workers)
			want := map[int][]float32{}
			ref.Forward(x, n, false)
			for i := range m.Nodes {
				want[i] = slices.Clone(ref.acts[i])
			}
			net, _ := New(m, workers)
			got := 0
			net.Activations(x, n, func(i int, out []float32) {
				if !slices.Equal(out, want[i]) {
					t.Errorf("%s: Activations node %d differs from Forward", m.Name, i)
				}
				got++
			})
			if got != len(m.Nodes) {
				t.Errorf("%s: %d callbacks for %d nodes", m.Name, got, len(m.Nodes))
			}
			if y := net.Predict(x, n); !slices.Equal(y, want[len(m.Nodes)-1]) {
				t.Errorf("%s: Predict differs from Forward", m.Name)
			}
			if m.CheckChain() == nil && len(net.live.size) != 2 {
				t.Errorf("%s: chain on %d slots, want 2", m.Name, len(net.live.size))
			}
			ref.Close()
			net.Close()
		}
	}
}

// TestEstimateInference: the estimate against the heap the first Predict
// allocates (TotalAlloc delta, New included), which must lie within
// [estimate/2, 1.5·estimate]: LeNet and VGG-11 shapes.
func TestEstimateInference(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, tc := range []struct {
		name  string
		in    []int
		width float64
	}{{"lenet5", []int{1, 28, 28}, 1}, {"vgg11", []int{3, 32, 32}, 0.25}} {
		m, err := Zoo(tc.name, tc.in, 10, tc.width)
		if err != nil {
			t.Fatal(err)
		}
		Init(m, 1)
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		const n, workers = 64, 2
		x := make([]float32, n*graph.Size(m.InputShape))
		for i := range x {
			x[i] = float32(i%7) / 7
		}
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		net, _ := New(m, workers)
		net.Predict(x, n)
		runtime.ReadMemStats(&b)
		net.Close()
		// The parameters exist before New: add them as the estimate does.
		params := int64(0)
		for _, l := range m.Nodes {
			params += 4 * int64(len(l.W)+len(l.B))
		}
		measured := int64(b.TotalAlloc-a.TotalAlloc) + params
		est := EstimateInference(m, n, workers)
		t.Logf("%s: estimate %d B, measured %d B (%.2f×)", tc.name, est, measured, float64(measured)/float64(est))
		if measured < est/2 || measured > est*3/2 {
			t.Errorf("%s: estimate %d B, measured %d B", tc.name, est, measured)
		}
	}
}
