package normalize_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/graphtest"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/snn"
)

// TestRefusesAnnOnly: an op that is not positively homogeneous (Tanh) is
// refused before the calibration pass runs, naming the node; classic
// normalization refuses a DAG (graph.ErrBranching).
func TestRefusesAnnOnly(t *testing.T) {
	src := func(fn func(int, []float32)) error {
		t.Error("the calibration pass ran")
		return nil
	}
	_, _, err := normalize.NormalizeClassic(graphtest.Residual(), func(*graph.Model) normalize.Source { return src }, normalize.Config{})
	if !errors.Is(err, graph.ErrBranching) {
		t.Errorf("residual, NormalizeClassic: %v, want graph.ErrBranching", err)
	}
	_, _, err = normalize.Normalize(graphtest.Tanh(), src, normalize.Config{})
	if err == nil || !strings.Contains(err.Error(), `node 1 "tanh1" (Tanh)`) || !strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("tanh: %v, want an error naming node 1 \"tanh1\" with the ANN-only reason", err)
	}
}

// concatModel: two branches of different depth (one through a MaxPool)
// concatenated, a conv on the concatenation, a residual sum with a scaled
// identity, global average pooling and a classifier.
func concatModel(r *rand.Rand) *graph.Model {
	conv := func(name string, cin, cout, k int) *graph.Node {
		l := graphtest.Conv(name, cin, cout)
		if k == 1 {
			l.Kernel, l.Pad, l.WShape = [2]int{1, 1}, [4]int{}, []int{cout, cin, 1, 1}
			l.W = l.W[:cout*cin]
		}
		for i := range l.W {
			l.W[i] = 2*r.Float32() - 1
		}
		for i := range l.B {
			l.B[i] = r.Float32() - 0.5
		}
		return l
	}
	fc := &graph.Node{Name: "fc", Op: graph.Linear, W: make([]float32, 3*5), B: make([]float32, 3), WShape: []int{3, 5}, Inputs: []int{14}}
	for i := range fc.W {
		fc.W[i] = 2*r.Float32() - 1
	}
	n := func(l *graph.Node, in ...int) *graph.Node { l.Inputs = in; return l }
	return &graph.Model{Name: "concat", InputShape: []int{2, 6, 6}, Nodes: []*graph.Node{
		n(conv("a1", 2, 2, 3), -1), n(&graph.Node{Name: "ra1", Op: graph.ReLU}, 0), // 0 1
		n(conv("b1", 2, 3, 1), -1), n(&graph.Node{Name: "rb1", Op: graph.ReLU}, 2), // 2 3
		n(conv("b2", 3, 2, 3), 3), n(&graph.Node{Name: "rb2", Op: graph.ReLU}, 4), // 4 5
		n(&graph.Node{Name: "mp", Op: graph.MaxPool, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}}, 1), // 6
		n(&graph.Node{Name: "cat", Op: graph.Concat}, 6, 5, -1),                                                               // 7: 2+2+2 channels
		n(conv("c", 6, 5, 3), 7), n(&graph.Node{Name: "rc", Op: graph.ReLU}, 8), // 8 9
		n(conv("d", 5, 5, 3), 9),                                                                            // 10
		n(&graph.Node{Name: "add", Op: graph.Add}, 10, 9), n(&graph.Node{Name: "radd", Op: graph.ReLU}, 11), // 11 12
		n(&graph.Node{Name: "gap", Op: graph.GlobalAvgPool}, 12), n(&graph.Node{Name: "flat", Op: graph.Flatten}, 13), // 13 14
		fc,
	}}
}

// TestNormalizedActivationsDAG checks SPEC §7's invariance a'_v = a_v/P_v
// for every spiking node of residual and Concat networks (a ResNet-20 of
// width 0.25 with random BatchNorm, folded, concatModel, and a
// MobileNet-V2 whose linear bottlenecks take a symmetric P): the
// normalized model has the shortcut scales inserted as Affine nodes, and
// snn.Convert takes it.
func TestNormalizedActivationsDAG(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	res, err := nn.Zoo("resnet20", []int{2, 8, 8}, 4, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	nn.Init(res, 5)
	for _, l := range res.Nodes {
		if l.Op == graph.BatchNorm {
			for c := range l.Gamma {
				l.Gamma[c], l.Beta[c], l.Mean[c], l.Var[c] = 0.5+r.Float32(), r.Float32()-0.5, r.Float32()-0.5, 0.5+r.Float32()
			}
		}
	}
	res, err = graph.Simplify(res)
	if err != nil {
		t.Fatal(err)
	}
	// MobileNet-V2: linear bottlenecks (signed pairs in the SNN).
	mb, err := nn.Zoo("mobilenet-v2", []int{2, 8, 8}, 4, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	nn.Init(mb, 6)
	for _, l := range mb.Nodes {
		if l.Op == graph.BatchNorm {
			for c := range l.Gamma {
				l.Gamma[c], l.Beta[c], l.Mean[c], l.Var[c] = 0.5+r.Float32(), r.Float32()-0.5, r.Float32()-0.5, 0.5+r.Float32()
			}
		}
	}
	mb, err = graph.Simplify(mb)
	if err != nil {
		t.Fatal(err)
	}
	const n = 32
	for trial, m := range []*graph.Model{res, concatModel(r), concatModel(r), mb} {
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n*graph.Size(m.InputShape))
		for i := range x {
			x[i] = r.Float32()
		}
		net, err := nn.New(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		orig := map[int][]float32{}
		net.Activations(x, n, func(l int, out []float32) { orig[l] = append([]float32(nil), out...) })
		src := func(fn func(int, []float32)) error {
			net.Activations(x, n, fn)
			return nil
		}
		p := []float64{99, 100, 99.9, 99.5}[trial]
		nm, rep, err := normalize.Normalize(m, src, normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		net2, err := nn.New(nm, 1)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]int{}
		for i, l := range nm.Nodes {
			byName[l.Name] = i
		}
		got := map[int][]float32{}
		net2.Activations(x, n, func(l int, out []float32) { got[l] = append([]float32(nil), out...) })
		param, act := normalize.Targets(m)
		if len(rep.Layers) != len(param) {
			t.Fatalf("trial %d: %d layer stats for %d targets", trial, len(rep.Layers), len(param))
		}
		affines := 0
		for _, l := range nm.Nodes {
			if l.Op == graph.Affine {
				affines++
			}
		}
		if affines == 0 {
			t.Errorf("trial %d: no shortcut scale inserted", trial)
		}
		for k, a := range act {
			P := rep.Layers[k].Scale
			ga := got[byName[m.Nodes[a].Name]]
			for i, v := range orig[a] {
				want := float64(v) / P
				if d := math.Abs(float64(ga[i]) - want); d > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("trial %d node %s value %d: normalized %v, original/P = %v", trial, m.Nodes[a].Name, i, ga[i], want)
				}
			}
		}
		sn, err := snn.Convert(nm, snn.Config{Tmax: 8})
		if err != nil {
			t.Fatalf("trial %d: convert the normalized model: %v", trial, err)
		}
		if !sn.Branching() || (trial == 3) != (sn.Signed > 0) {
			t.Errorf("trial %d: converted to a chain, or %d signed-pair neurons", trial, sn.Signed)
		}
	}
}
