package nir

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/hdf5"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/snn"
)

// dagConv is a 3×3 convolution of cin to cout channels, padded to keep
// the size, with dyadic random weights and biases (rng), or 0.1 and 0.
func dagConv(rng *rand.Rand, name string, cin, cout int) *graph.Node {
	w := make([]float32, cout*cin*9)
	b := make([]float32, cout)
	for i := range w {
		w[i] = 0.1
		if rng != nil {
			w[i] = dyadic(rng, 0.3)
		}
	}
	if rng != nil {
		for i := range b {
			b[i] = dyadic(rng, 0.1)
		}
	}
	return &graph.Node{Name: name, Op: graph.Conv, W: w, B: b, WShape: []int{cout, cin, 3, 3},
		Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
}

func dagLinear(rng *rand.Rand, name string, in, out int, inputs ...int) *graph.Node {
	l := &graph.Node{Name: name, Op: graph.Linear, W: make([]float32, out*in), B: make([]float32, out), WShape: []int{out, in}, Inputs: inputs}
	for i := range l.W {
		l.W[i] = dyadic(rng, 0.3)
	}
	return l
}

func in(l *graph.Node, inputs ...int) *graph.Node { l.Inputs = inputs; return l }

// residualModel: conv1 → relu1 → conv2 → relu2 → conv3, add1 = relu1 +
// conv3 → relu3 → flatten → fc: the shortcut (an Identity group) waits
// one window for conv3 (a group Delay).
func residualModel(rng *rand.Rand) *graph.Model {
	return &graph.Model{Name: "residual", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		dagConv(rng, "conv1", 1, 2),
		{Name: "relu1", Op: graph.ReLU},
		dagConv(rng, "conv2", 2, 2),
		{Name: "relu2", Op: graph.ReLU},
		dagConv(rng, "conv3", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 4}},
		{Name: "relu3", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		dagLinear(rng, "fc", 72, 3),
	}}
}

// concatModel: Concat of a MaxPool, a two-conv branch and the input
// (groups from −1), a conv on it (one Conv group per part), a residual Add
// and a global average pool; then a Concat pooled by AvgPool (AvgPool
// groups) read by a Linear (Linear groups through Flatten).
func concatModel(rng *rand.Rand) *graph.Model {
	return &graph.Model{Name: "concat", InputShape: []int{2, 6, 6}, Nodes: []*graph.Node{
		in(dagConv(rng, "a1", 2, 2), -1), in(&graph.Node{Name: "ra1", Op: graph.ReLU}, 0), // 0 1
		in(dagConv(rng, "b1", 2, 3), -1), in(&graph.Node{Name: "rb1", Op: graph.ReLU}, 2), // 2 3
		in(dagConv(rng, "b2", 3, 2), 3), in(&graph.Node{Name: "rb2", Op: graph.ReLU}, 4), // 4 5
		in(&graph.Node{Name: "mp", Op: graph.MaxPool, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}}, 1), // 6
		in(&graph.Node{Name: "cat", Op: graph.Concat}, 6, 5, -1),                                                               // 7
		in(dagConv(rng, "c", 6, 5), 7), in(&graph.Node{Name: "rc", Op: graph.ReLU}, 8), // 8 9
		in(dagConv(rng, "d", 5, 5), 9),                                                                        // 10
		in(&graph.Node{Name: "add", Op: graph.Add}, 10, 9), in(&graph.Node{Name: "radd", Op: graph.ReLU}, 11), // 11 12
		in(&graph.Node{Name: "cat2", Op: graph.Concat}, 12, 5),                                         // 13
		in(&graph.Node{Name: "ap", Op: graph.AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}, 13), // 14
		in(&graph.Node{Name: "flat", Op: graph.Flatten}, 14),                                           // 15
		dagLinear(rng, "fc", 63, 3, 15),
	}}
}

// zooDAG converts a zoo model (random weights and BatchNorm, folded,
// normalized on random inputs): ResNet-20 (shortcut scales as Identity
// weights, delays) or MobileNet-V2 (signed pairs).
func zooDAG(t *testing.T, name string, seed uint64) *snn.Network {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	m, err := nn.Zoo(name, []int{1, 12, 12}, 4, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	nn.Init(m, seed)
	for _, l := range m.Nodes {
		if l.Op == graph.BatchNorm {
			for c := range l.Gamma {
				l.Gamma[c], l.Beta[c], l.Mean[c], l.Var[c] = 0.5+r.Float32(), r.Float32()-0.5, r.Float32()-0.5, 0.5+r.Float32()
			}
		}
	}
	if m, err = graph.Simplify(m); err != nil {
		t.Fatal(err)
	}
	const batch = 16
	x := make([]float32, batch*graph.Size(m.InputShape))
	for i := range x {
		x[i] = r.Float32()
	}
	net, err := nn.New(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	nm, _, err := normalize.Normalize(m, func(fn func(int, []float32)) error {
		net.Activations(x, batch, fn)
		return nil
	}, normalize.Config{Percentile: 99.9})
	if err != nil {
		t.Fatal(err)
	}
	n, err := snn.Convert(nm, snn.Config{Tmax: 8})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dagNetworks returns converted branching networks covering every group
// kind, delays, groups from the input and from an analog first layer,
// relays with groups and signed pairs.
func dagNetworks(t *testing.T) map[string]*snn.Network {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 9))
	out := map[string]*snn.Network{}
	conv := func(name string, m *graph.Model, cfg snn.Config) {
		n, err := snn.Convert(m, cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !n.Branching() {
			t.Fatalf("%s: not a branching network", name)
		}
		out[name] = n
	}
	conv("residual", residualModel(rng), snn.Config{Tmax: 4})
	conv("residual-analog", residualModel(rng), snn.Config{Tmax: 4, AnalogFirst: true})
	conv("residual-truncate", residualModel(rng), snn.Config{Tmax: 5, Threshold: snn.Truncate})
	conv("concat", concatModel(rng), snn.Config{Tmax: 4})
	out["resnet20"] = zooDAG(t, "resnet20", 1)
	out["mobilenet-v2"] = zooDAG(t, "mobilenet-v2", 2)
	return out
}

// TestDAGRoundTrip: export → import of branching networks gives the same
// network (reflect.DeepEqual: groups, delays, weights, biases, windows,
// thresholds) and the same spike times; the files hold one synapse node
// per group, Delay nodes for the delayed groups, and several edges into
// the Sum layers' I nodes.
func TestDAGRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := map[snn.Kind]int{}
	delays, fromInput, signed := 0, 0, 0
	for name, n := range dagNetworks(t) {
		data, _, err := Marshal(n)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, warnings, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(warnings) > 0 {
			t.Errorf("%s: %v", name, warnings)
		}
		if !reflect.DeepEqual(n, back) {
			t.Fatalf("%s: round trip differs:\n%+v\n%+v", name, n, back)
		}
		sameSpikes(t, rng, n, back)

		root, err := hdf5.Read(data)
		if err != nil {
			t.Fatal(err)
		}
		nodes := root.SubGroup("node").SubGroup("nodes")
		into := map[string]int{}
		e := root.SubGroup("node").Dataset("edges").Str
		for j := 1; j < len(e); j += 2 {
			into[e[j]]++
		}
		signed += n.Signed
		for i, l := range n.Layers {
			for k, g := range l.Groups {
				kinds[g.Kind]++
				if g.From < 0 {
					fromInput++
				}
				q := fmt.Sprintf("l%d_g%d_", i, k)
				if nodes.SubGroup(q+groupSuffixes[g.Kind]) == nil {
					t.Errorf("%s: layer %d group %d: no node %s", name, i, k, q+groupSuffixes[g.Kind])
				}
				d := nodes.SubGroup(q + "delay")
				if (d != nil) != (g.Delay > 0) {
					t.Errorf("%s: layer %d group %d: delay %d, Delay node %v", name, i, k, g.Delay, d != nil)
				}
				if d != nil {
					delays++
					if v := d.Dataset("delay").F32[0]; v != float32(g.Delay) {
						t.Errorf("%s: layer %d group %d: Delay node says %v, want %d", name, i, k, v, g.Delay)
					}
				}
			}
			if l.Kind == snn.Sum {
				// groups + bias + readout edges sum into the I node
				if got := into[fmt.Sprintf("l%d_i", i)]; got != len(l.Groups)+2 {
					t.Errorf("%s: layer %d: %d edges into its I node, want %d", name, i, got, len(l.Groups)+2)
				}
			}
		}
	}
	if kinds[snn.Conv] == 0 || kinds[snn.Linear] == 0 || kinds[snn.AvgPool] == 0 || kinds[snn.MaxPool] == 0 ||
		kinds[snn.Identity] == 0 || delays == 0 || fromInput == 0 || signed == 0 {
		t.Errorf("coverage: group kinds %v, %d delayed groups, %d from the input, %d signed neurons", kinds, delays, fromInput, signed)
	}
}

// TestDAGImportRejects: an edited group delay, a removed group edge or a
// corrupted group weight is refused (the checksum first; unsealed, the
// re-export comparison).
func TestDAGImportRejects(t *testing.T) {
	n := dagNetworks(t)["residual"]
	edits := map[string]func(root *hdf5.Group){
		"delay": func(root *hdf5.Group) {
			for _, m := range root.SubGroup("node").SubGroup("nodes").Members {
				if d := m.Group.SubGroup("metadata"); d != nil && d.Dataset("quartz_delay") != nil && d.Dataset("quartz_delay").I64[0] > 0 {
					d.Dataset("quartz_delay").I64[0]++
					return
				}
			}
			t.Fatal("no delayed group")
		},
		"edge": func(root *hdf5.Group) {
			e := root.SubGroup("node").Dataset("edges")
			for j := 1; j < len(e.Str); j += 2 {
				if e.Str[j] == "l1_i" {
					e.Str[j-1] = "l0_if"
					return
				}
			}
		},
		"weight": func(root *hdf5.Group) {
			for _, m := range root.SubGroup("node").SubGroup("nodes").Members {
				if strings.Contains(m.Name, "_g") && strings.HasSuffix(m.Name, "_conv") {
					m.Group.Dataset("weight").F32[0] += 0.5
					return
				}
			}
			t.Fatal("no Conv group")
		},
	}
	for name, edit := range edits {
		root, _, err := Export(n)
		if err != nil {
			t.Fatal(err)
		}
		Seal(root)
		edit(root)
		data, err := hdf5.Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Unmarshal(data); err == nil {
			t.Errorf("%s: sealed edit accepted", name)
		}
		if _, err := Import(root); err == nil {
			t.Errorf("%s: edit accepted", name)
		}
	}
}

// TestRefusesANNOnly: snn.Convert refuses an ANN-only op naming the node,
// so that no such model reaches the export.
func TestRefusesANNOnly(t *testing.T) {
	m := &graph.Model{Name: "tanh", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		dagConv(nil, "conv1", 1, 2),
		{Name: "tanh1", Op: graph.Tanh},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 3*72), B: make([]float32, 3), WShape: []int{3, 72}},
	}}
	_, err := snn.Convert(m, snn.Config{Tmax: 4})
	var ce *snn.ConvertError
	if !errors.As(err, &ce) || ce.Name != "tanh1" || !strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("tanh: %v, want a *snn.ConvertError naming \"tanh1\"", err)
	}
}

// TestDAGImportMutations: Import of a branching network's tree with any
// integer of the group metadata (or a layer's quartz_groups) set to odd
// values, or a group node removed, returns a value or an error, never
// panics, and what it accepts re-exports to the same tree.
func TestDAGImportMutations(t *testing.T) {
	n := dagNetworks(t)["concat"]
	fresh := func() *hdf5.Group {
		root, _, err := Export(n)
		if err != nil {
			t.Fatal(err)
		}
		return root
	}
	try := func(what string, root *hdf5.Group) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: panic: %v", what, r)
			}
		}()
		if back, err := Import(root); err == nil {
			if _, _, err := Marshal(back); err != nil {
				t.Errorf("%s: accepted network does not export: %v", what, err)
			}
		}
	}
	root := fresh()
	mutated := 0
	for _, m := range root.SubGroup("node").SubGroup("nodes").Members {
		md := m.Group.SubGroup("metadata")
		if md == nil || (md.Dataset("quartz_from") == nil && md.Dataset("quartz_groups") == nil) {
			continue
		}
		for _, key := range md.Members {
			d := key.Dataset
			if d == nil || d.Type != hdf5.Int64 {
				continue
			}
			for j := range d.I64 {
				for _, v := range []int64{-3, -1, 0, 1, 2, 7, 1 << 20} {
					r := fresh()
					r.SubGroup("node").SubGroup("nodes").SubGroup(m.Name).SubGroup("metadata").Dataset(key.Name).I64[j] = v
					try(fmt.Sprintf("%s/%s[%d] = %d", m.Name, key.Name, j, v), r)
				}
			}
		}
		r := fresh()
		nodes := r.SubGroup("node").SubGroup("nodes")
		for k, x := range nodes.Members {
			if x.Name == m.Name {
				nodes.Members = append(nodes.Members[:k], nodes.Members[k+1:]...)
				break
			}
		}
		try("without "+m.Name, r)
		mutated++
	}
	if mutated == 0 {
		t.Fatal("no group nodes found")
	}
}
