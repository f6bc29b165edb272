package nir

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/hdf5"
	"github.com/quartz-snn/quartz/snn"
)

// dyadic returns a multiple of 2⁻⁸ near N(0, sigma²), |w| ≤ 4: float32 sums
// of such weights are exact, so simulations compare bit for bit.
func dyadic(rng *rand.Rand, sigma float64) float32 {
	return float32(math.Max(-4, math.Min(4, math.Round(rng.NormFloat64()*sigma*256)/256)))
}

// randomNetwork converts a small random chain model: conv (stride, padding,
// dilation, groups), max and average pooling, linear layers, sometimes an
// analog first layer, per-layer windows or truncating thresholds.
func randomNetwork(t testing.TB, rng *rand.Rand) *snn.Network {
	t.Helper()
	for {
		c, h, w := 1+rng.IntN(3), 3+rng.IntN(6), 3+rng.IntN(6)
		m := &graph.Model{Name: "random", InputShape: []int{c, h, w}}
		add := func(l *graph.Node) bool {
			l.Name = fmt.Sprintf("L%d", len(m.Nodes))
			m.Nodes = append(m.Nodes, l)
			if err := m.InferShapes(); err != nil {
				m.Nodes = m.Nodes[:len(m.Nodes)-1]
				return false
			}
			return true
		}
		params := func(l *graph.Node, fanin int) {
			l.W = make([]float32, graph.Size(l.WShape))
			for i := range l.W {
				l.W[i] = dyadic(rng, 1/math.Sqrt(float64(fanin)))
			}
			l.B = make([]float32, l.WShape[0])
			for i := range l.B {
				l.B[i] = dyadic(rng, 0.1)
			}
		}
		conv := func() bool {
			cin := m.OutputShape()[0]
			g := 1
			if rng.IntN(3) == 0 {
				g = cin
			}
			cout := g * (1 + rng.IntN(3))
			l := &graph.Node{Op: graph.Conv, Group: g, Kernel: [2]int{1 + rng.IntN(3), 1 + rng.IntN(3)},
				Stride: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}, Dilation: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}}
			p := [2]int{rng.IntN(l.Kernel[0]), rng.IntN(l.Kernel[1])}
			l.Pad = [4]int{p[0], p[1], p[0], p[1]}
			l.WShape = []int{cout, cin / g, l.Kernel[0], l.Kernel[1]}
			params(l, cin/g*l.Kernel[0]*l.Kernel[1])
			return add(l)
		}
		linear := func(out int) bool {
			if len(m.OutputShape()) != 1 {
				add(&graph.Node{Op: graph.Flatten})
			}
			l := &graph.Node{Op: graph.Linear, WShape: []int{out, m.OutputShape()[0]}}
			params(l, l.WShape[1])
			return add(l)
		}
		spiking := 0
		analog := rng.IntN(5) == 0
		if analog {
			if rng.IntN(2) == 0 { // an input transform in front
				a := &graph.Node{Op: graph.Affine, Scale: make([]float32, c), Shift: make([]float32, c)}
				for i := range a.Scale {
					a.Scale[i], a.Shift[i] = 1+dyadic(rng, 1), dyadic(rng, 1)
				}
				add(a)
			}
			if !conv() {
				continue
			}
			add(&graph.Node{Op: graph.ReLU})
		}
		for b := rng.IntN(4); b > 0; b-- {
			if len(m.OutputShape()) == 1 {
				if linear(2 + rng.IntN(5)) {
					add(&graph.Node{Op: graph.ReLU})
					spiking++
				}
				continue
			}
			switch rng.IntN(4) {
			case 0, 1:
				if conv() {
					add(&graph.Node{Op: graph.ReLU})
					spiking++
				}
			case 2:
				k := 1 + rng.IntN(2)
				add(&graph.Node{Op: graph.MaxPool, Kernel: [2]int{k, k}, Stride: [2]int{k, k}})
			case 3:
				if add(&graph.Node{Op: graph.AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}) {
					spiking++
				}
			}
		}
		if !linear(2 + rng.IntN(4)) {
			continue
		}
		spiking++
		cfg := snn.Config{Tmax: 1 + rng.IntN(12), AnalogFirst: analog}
		if rng.IntN(4) == 0 {
			cfg.Threshold = snn.Truncate
		}
		if rng.IntN(3) == 0 {
			for range spiking {
				cfg.TmaxLayers = append(cfg.TmaxLayers, 1<<(1+rng.IntN(4)))
			}
		}
		n, err := snn.Convert(m, cfg)
		if err != nil {
			continue
		}
		return n
	}
}

func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	kinds := map[snn.Kind]int{}
	analog, affine := 0, 0
	for k := 0; k < 40; k++ {
		n := randomNetwork(t, rng)
		for _, l := range n.Layers {
			kinds[l.Kind]++
			if l.Analog {
				analog++
			}
			if l.InScale != nil {
				affine++
			}
		}
		data, _, err := Marshal(n)
		if err != nil {
			t.Fatalf("net %d: %v", k, err)
		}
		back, _, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("net %d: %v", k, err)
		}
		if !reflect.DeepEqual(n, back) {
			t.Fatalf("net %d: round trip differs:\n%+v\n%+v", k, n, back)
		}
		sameSpikes(t, rng, n, back)
	}
	if kinds[snn.Conv] == 0 || kinds[snn.MaxPool] == 0 || kinds[snn.AvgPool] == 0 || analog == 0 || affine == 0 {
		t.Errorf("generator covered too little: %v, %d analog (%d with an input transform)", kinds, analog, affine)
	}
}

// sameSpikes simulates a few random samples on both networks and compares
// every spike time.
func sameSpikes(t *testing.T, rng *rand.Rand, a, b *snn.Network) {
	t.Helper()
	sa, err := snn.NewSim(a, 1)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := snn.NewSim(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	wa, wb := sa.NewWorker(), sb.NewWorker()
	x := make([]float32, a.InShape[0]*a.InShape[1]*a.InShape[2])
	for s := 0; s < 3; s++ {
		for i := range x {
			x[i] = float32(rng.IntN(17)) / 16
		}
		var ra, rb snn.SampleResult
		if err := wa.Simulate(x, &ra); err != nil {
			t.Fatal(err)
		}
		if err := wb.Simulate(x, &rb); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ra.Times, rb.Times) || ra.Class != rb.Class || ra.Steps != rb.Steps || !slices.Equal(ra.Input, rb.Input) {
			t.Fatalf("sample %d: spike times differ", s)
		}
	}
}

// figure1 is the paper's Figure 1: y1 = max(0, x1 − x2), y2 = max(0, x2 − x1),
// followed by a linear output layer.
func figure1(t *testing.T) *snn.Network {
	t.Helper()
	m := &graph.Model{Name: "figure1", InputShape: []int{2, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 2}, W: []float32{1, -1, -1, 1}, B: []float32{0, 0.25}},
		{Name: "relu", Op: graph.ReLU},
		{Name: "out", Op: graph.Linear, WShape: []int{1, 2}, W: []float32{0.5, 0.5}, B: []float32{0}},
	}}
	n, err := snn.Convert(m, snn.Config{Tmax: 4})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStructure pins the graph written for Figure 1: node names and types
// and the edges.
func TestStructure(t *testing.T) {
	root, warnings, err := Export(figure1(t))
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	nodes := root.Lookup("node/nodes").Group
	var got []string
	for _, m := range nodes.Members {
		got = append(got, m.Name+":"+m.Group.Dataset("type").Str[0])
	}
	want := []string{"input:Input", "l0_flatten:Flatten", "l0_linear:Linear", "l0_i:I", "l0_if:IF",
		"l0_sync:Input", "l0_bias:Scale", "l0_readout_delay:Delay", "l0_readout:Scale",
		"l0_rectifier_delay:Delay", "l0_rectifier:Scale",
		"l1_linear:Linear", "l1_i:I", "l1_if:IF", "l1_sync:Input", "l1_bias:Scale",
		"l1_readout_delay:Delay", "l1_readout:Scale", "output:Output"}
	if !slices.Equal(got, want) {
		t.Errorf("nodes:\n got %q\nwant %q", got, want)
	}
	e := root.Lookup("node/edges").Dataset
	var edges []string
	for i := 0; i < len(e.Str); i += 2 {
		edges = append(edges, e.Str[i]+">"+e.Str[i+1])
	}
	wantEdges := []string{"input>l0_flatten", "l0_flatten>l0_linear", "l0_linear>l0_i", "l0_i>l0_if",
		"l0_sync>l0_bias", "l0_bias>l0_i", "l0_sync>l0_readout_delay", "l0_readout_delay>l0_readout", "l0_readout>l0_i",
		"l0_sync>l0_rectifier_delay", "l0_rectifier_delay>l0_rectifier", "l0_rectifier>l0_if",
		"l0_if>l1_linear", "l1_linear>l1_i", "l1_i>l1_if", "l1_sync>l1_bias", "l1_bias>l1_i",
		"l1_sync>l1_readout_delay", "l1_readout_delay>l1_readout", "l1_readout>l1_i", "l1_if>output"}
	if !slices.Equal(edges, wantEdges) {
		t.Errorf("edges:\n got %q\nwant %q", edges, wantEdges)
	}
	// Window starts, delays and control weights of layer 1.
	l1 := nodes.SubGroup("l1_sync").Lookup("metadata/quartz_spike_step").Dataset.I64[0]
	d := nodes.Lookup("l1_readout_delay/delay").Dataset.F32
	if l1 != 4 || d[0] != 4 {
		t.Errorf("layer 1: sync step %d, readout delay %v; want 4, 4", l1, d)
	}
	if r := nodes.Lookup("l0_rectifier_delay/delay").Dataset.F32; r[0] != 8 {
		t.Errorf("layer 0 rectifier delay %v, want 8", r)
	}
}

func TestImportRejects(t *testing.T) {
	n := figure1(t)
	root, _, err := Export(n)
	if err != nil {
		t.Fatal(err)
	}
	// Any edit of a parameter that the metadata does not explain is caught.
	root.Lookup("node/nodes/l0_readout_delay/delay").Dataset.F32[1] = 3
	if _, err := Import(root); err == nil {
		t.Fatal("edited delay accepted")
	} else {
		t.Log(err)
	}
	for _, c := range []struct {
		name string
		edit func(g *hdf5.Group)
	}{
		{"no node", func(g *hdf5.Group) { g.Members = g.Members[:1] }},
		{"profile", func(g *hdf5.Group) { g.Lookup("node/metadata/quartz_profile").Dataset.Str[0] = "x" }},
		{"weight", func(g *hdf5.Group) { g.Lookup("node/nodes/l1_linear/weight").Dataset.F32[0] = 2 }},
		{"edge", func(g *hdf5.Group) { g.Lookup("node/edges").Dataset.Str[0] = "l0_sync" }},
		{"layers", func(g *hdf5.Group) { g.Lookup("node/metadata/quartz_layers").Dataset.I64[0] = 1 << 40 }},
		{"kind", func(g *hdf5.Group) { g.Lookup("node/nodes/l1_if/metadata/quartz_kind").Dataset.Str[0] = "Conv" }},
	} {
		root, _, _ := Export(n)
		c.edit(root)
		if _, err := Import(root); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// TestInputAffine pins how an analog layer's input transform is written: a
// depthwise 1×1 Conv2d between the image and the analog conv.
func TestInputAffine(t *testing.T) {
	m := &graph.Model{Name: "affine", InputShape: []int{2, 3, 3}, Nodes: []*graph.Node{
		{Name: "pre", Op: graph.Affine, Scale: []float32{4, 2}, Shift: []float32{-2, -0.5}},
		{Name: "conv", Op: graph.Conv, WShape: []int{1, 2, 3, 3}, W: make([]float32, 18), B: []float32{0.5},
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 9}, W: make([]float32, 18), B: []float32{0, 0}},
	}}
	n, err := snn.Convert(m, snn.Config{Tmax: 4, AnalogFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := Export(n)
	if err != nil {
		t.Fatal(err)
	}
	a := root.Lookup("node/nodes/l0_input_affine").Group
	if a == nil || a.Dataset("type").Str[0] != "Conv2d" {
		t.Fatal("no Conv2d l0_input_affine")
	}
	if w, b, g := a.Dataset("weight"), a.Dataset("bias").F32, a.Dataset("groups").I64[0]; !slices.Equal(w.Shape, []int{2, 1, 1, 1}) ||
		!slices.Equal(w.F32, []float32{4, 2}) || !slices.Equal(b, []float32{-2, -0.5}) || g != 2 {
		t.Errorf("l0_input_affine: weight %v %v, bias %v, groups %d", w.Shape, w.F32, b, g)
	}
	e := root.Lookup("node/edges").Dataset.Str
	if e[0] != "input" || e[1] != "l0_input_affine" || e[2] != "l0_input_affine" || e[3] != "l0_conv" {
		t.Errorf("first edges %q, want input>l0_input_affine>l0_conv", e[:4])
	}
	data, _, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n, back) {
		t.Errorf("round trip differs:\n%+v\n%+v", n.Layers[0], back.Layers[0])
	}
}
