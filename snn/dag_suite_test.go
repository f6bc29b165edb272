package snn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// This file extends the conformance suite to branching networks (SPEC §7):
// random dyadic DAGs with residual blocks (identity and projection
// shortcuts, scaled shortcuts, three-input sums), Concat of branches of
// different depth (a Conv or Linear reads the concatenation through sliced
// weights), pooling on branches, a residual sum as the output, and
// MobileNet-V2 inverted residuals whose linear bottleneck (no ReLU) is a
// signed pair.

// dagFeatures counts what a random DAG exercises.
type dagFeatures struct {
	identity, projection, concat, sumOutput, scaled, pool, bottleneck, signedReLU, analog, concatPool int
}

func randomDAG(rng *rand.Rand, f *dagFeatures) randomNet {
	for {
		if rn, ok := tryRandomDAG(rng, f); ok {
			return rn
		}
	}
}

func tryRandomDAG(rng *rand.Rand, f *dagFeatures) (randomNet, bool) {
	c, h, w := 1+rng.IntN(3), 3+rng.IntN(6), 3+rng.IntN(6)
	m := &graph.Model{Name: "dag", InputShape: []int{c, h, w}}
	gain := 0.3 + 2.2*rng.Float64()
	if rng.IntN(3) == 0 {
		gain = 0.3 + 0.4*rng.Float64() // few early spikes
	}
	cfg := Config{Tmax: 1 + rng.IntN(24)}
	if rng.IntN(4) == 0 {
		cfg.Threshold = Truncate
	}
	var feat dagFeatures
	ok := true
	add := func(l *graph.Node, inputs ...int) int {
		l.Name = fmt.Sprintf("N%d", len(m.Nodes))
		l.Inputs = inputs
		m.Nodes = append(m.Nodes, l)
		if err := m.InferNode(len(m.Nodes) - 1); err != nil {
			ok = false
		}
		return len(m.Nodes) - 1
	}
	shape := func(j int) []int {
		if j < 0 {
			return m.InputShape
		}
		return m.Nodes[j].OutShape
	}
	params := func(l *graph.Node, fanin int) {
		sigma := gain / math.Sqrt(float64(fanin))
		l.W = make([]float32, graph.Size(l.WShape))
		for i := range l.W {
			l.W[i] = dyadic(rng, sigma)
		}
		if rng.IntN(5) != 0 {
			l.B = make([]float32, l.WShape[0])
			for i := range l.B {
				l.B[i] = dyadic(rng, 0.15*gain)
			}
		}
	}
	// conv adds a convolution that keeps the size (stride 1) or halves it.
	conv := func(from, cout, stride int, grouped bool) int {
		cin := shape(from)[0]
		k := []int{1, 3}[rng.IntN(2)]
		l := &graph.Node{Op: graph.Conv, Group: 1, Kernel: [2]int{k, k}, Stride: [2]int{stride, stride}, Dilation: [2]int{1, 1}}
		if k == 3 {
			l.Pad = [4]int{1, 1, 1, 1}
			if stride == 1 && rng.IntN(4) == 0 {
				l.Pad, l.Dilation = [4]int{2, 2, 2, 2}, [2]int{2, 2}
			}
		}
		if grouped && cout == cin && rng.IntN(3) == 0 {
			l.Group = cin
		}
		l.WShape = []int{cout, cin / l.Group, k, k}
		params(l, cin/l.Group*k*k)
		return add(l, from)
	}
	relu := func(j int) int {
		if rng.IntN(5) == 0 {
			return add(&graph.Node{Op: graph.Clip, Min: 0, Max: 6}, j)
		}
		return add(&graph.Node{Op: graph.ReLU}, j)
	}
	shortcut := func(x int) int {
		if rng.IntN(4) != 0 {
			return x
		}
		feat.scaled++
		sc := make([]float32, shape(x)[0])
		for i := range sc {
			sc[i] = []float32{0.25, 0.5, 1, 2}[rng.IntN(4)]
		}
		return add(&graph.Node{Op: graph.Affine, Scale: sc, Shift: make([]float32, len(sc))}, x)
	}
	cur := graph.ModelInput
	if rng.IntN(7) == 0 { // an analog first layer: its outputs are the input spikes
		cfg.AnalogFirst = true
		cur = relu(conv(cur, 1+rng.IntN(4), 1, false))
		feat.analog++
	}
	concat := false       // cur is a Concat: only a dense conv or the output may read it
	signed := false       // cur has no ReLU (a signed pair): no pooling on it
	concatSigned := false // cur is a Concat with a signed part
	spiking := 0
	for b := 1 + rng.IntN(4); b > 0 && ok; b-- {
		sh := shape(cur)
		k := rng.IntN(7)
		if signed && k == 5 {
			k = 0
		}
		wasSigned := signed
		signed = false
		switch {
		case concat || k == 0: // plain conv + ReLU, maybe a MaxPool
			if concat && !concatSigned && rng.IntN(2) == 0 && sh[1]%2 == 0 && sh[2]%2 == 0 {
				// Pooling a Concat: one layer per part.
				op := []graph.Op{graph.MaxPool, graph.AvgPool}[rng.IntN(2)]
				cur = add(&graph.Node{Op: op, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}, cur)
				feat.concatPool++
			}
			cur = relu(conv(cur, 1+rng.IntN(4), 1, !concat))
			spiking++
			concat = false
			if rng.IntN(4) == 0 && sh[1] >= 2 && sh[2] >= 2 {
				cur = add(&graph.Node{Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{1 + rng.IntN(2), 1 + rng.IntN(2)}}, cur)
				feat.pool++
			}
		case k == 1 || k == 2: // residual block, identity shortcut
			C := sh[0]
			in := cur
			if wasSigned && rng.IntN(2) == 0 {
				in = relu(cur) // the positive half; the shortcut reads both
				feat.signedReLU++
			}
			a := relu(conv(in, 1+rng.IntN(4), 1, true))
			main := conv(a, C, 1, true)
			ins := []int{main, shortcut(cur)}
			if rng.IntN(4) == 0 { // a third input: another conv of the block input
				ins = append(ins, conv(cur, C, 1, true))
			}
			rng.Shuffle(len(ins), func(i, j int) { ins[i], ins[j] = ins[j], ins[i] })
			cur = relu(add(&graph.Node{Op: graph.Add}, ins...))
			spiking += 2
			feat.identity++
		case k == 3: // residual block, projection shortcut
			s := 1 + rng.IntN(2)
			cout := 1 + rng.IntN(4)
			a := relu(conv(cur, 1+rng.IntN(4), s, false))
			main := conv(a, cout, 1, false)
			l := &graph.Node{Op: graph.Conv, Group: 1, Kernel: [2]int{1, 1}, Stride: [2]int{s, s}, Dilation: [2]int{1, 1}, WShape: []int{cout, sh[0], 1, 1}}
			params(l, sh[0])
			short := add(l, cur)
			cur = relu(add(&graph.Node{Op: graph.Add}, main, short))
			spiking += 2
			feat.projection++
		case k == 4: // Concat of branches of different depth
			var ins []int
			x0 := cur
			for nb := 2 + rng.IntN(2); nb > 0; nb-- {
				switch rng.IntN(4) {
				case 0:
					ins = append(ins, cur) // the input itself
				case 1:
					ins = append(ins, relu(conv(cur, 1+rng.IntN(3), 1, true)))
					spiking++
				case 2:
					x := relu(conv(cur, 1+rng.IntN(3), 1, true))
					ins = append(ins, relu(conv(x, 1+rng.IntN(3), 1, true)))
					spiking += 2
				case 3:
					if wasSigned {
						ins = append(ins, cur)
						continue
					}
					ins = append(ins, add(&graph.Node{Op: graph.MaxPool, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}}, cur))
				}
			}
			cur = add(&graph.Node{Op: graph.Concat}, ins...)
			concat, concatSigned = true, wasSigned && slices.Contains(ins, x0)
			feat.concat++
		case k == 6: // MobileNet-V2 inverted residual: expand, depthwise,
			// linear projection, the input added where the shape allows; no
			// ReLU after: a signed pair
			C, x := sh[0], cur
			e := relu(conv(cur, C*(1+rng.IntN(2)), 1, false))
			d := relu(conv(e, shape(e)[0], 1, true))
			cout := C
			if rng.IntN(3) == 0 {
				cout = 1 + rng.IntN(4)
			}
			cur = conv(d, cout, 1, false)
			if cout == C && rng.IntN(3) != 0 {
				cur = add(&graph.Node{Op: graph.Add}, cur, shortcut(x))
			}
			spiking += 3
			signed = true
			feat.bottleneck++
		case k == 5: // pooling
			if sh[1]%2 == 0 && sh[2]%2 == 0 {
				cur = add(&graph.Node{Op: graph.AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}, cur)
				spiking++
				feat.pool++
			}
		}
	}
	if !ok {
		return randomNet{}, false
	}
	// Output: a Linear (of the flattened value, a Concat too), a Conv, or
	// a residual sum without ReLU.
	switch k := rng.IntN(4); {
	case k == 0 && !concat:
		main := conv(cur, shape(cur)[0], 1, true)
		add(&graph.Node{Op: graph.Add}, main, shortcut(cur))
		feat.sumOutput++
	case k == 1 && len(shape(cur)) == 3:
		l := &graph.Node{Op: graph.Conv, Group: 1, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, WShape: []int{2 + rng.IntN(3), shape(cur)[0], 1, 1}}
		params(l, shape(cur)[0])
		add(l, cur)
	default:
		fl := add(&graph.Node{Op: graph.Flatten}, cur)
		in := graph.Size(shape(fl))
		l := &graph.Node{Op: graph.Linear, WShape: []int{2 + rng.IntN(4), in}}
		params(l, in)
		add(l, fl)
	}
	spiking++
	if rng.IntN(5) == 0 {
		add(&graph.Node{Op: graph.ReLU}, len(m.Nodes)-1)
	}
	if !ok || m.InferShapes() != nil || m.IsChain() {
		return randomNet{}, false
	}
	// Keep every partial sum far inside float32's exact range for 2⁻⁸ steps.
	for _, l := range m.Nodes {
		if l.W == nil {
			continue
		}
		fan := graph.Size(l.WShape) / l.WShape[0]
		for o := 0; o < l.WShape[0]; o++ {
			s := 0.0
			for _, v := range l.W[o*fan : (o+1)*fan] {
				s += math.Abs(float64(v))
			}
			if l.B != nil {
				s += math.Abs(float64(l.B[o]))
			}
			if s*float64((spiking+2)*cfg.Tmax)*8 > 1<<15 {
				return randomNet{}, false
			}
		}
	}
	f.identity += feat.identity
	f.projection += feat.projection
	f.concat += feat.concat
	f.sumOutput += feat.sumOutput
	f.scaled += feat.scaled
	f.pool += feat.pool
	f.bottleneck += feat.bottleneck
	f.signedReLU += feat.signedReLU
	f.analog += feat.analog
	f.concatPool += feat.concatPool
	return randomNet{m, cfg}, true
}

// quantizedDAG runs the graph model node by node on integer levels, as
// quantizedANN does for chains: every node that is a spiking layer (by
// name) is quantized; a Conv/Linear merged into a sum is not; an Add sums
// its inputs, an Affine scales, a Concat stacks.
func quantizedDAG(n *Network, m *graph.Model, r *SampleResult) map[string][]float64 {
	byName := map[string]*Layer{}
	for _, l := range n.Layers {
		byName[l.Name] = l
	}
	T := n.InputT()
	if n.Layers[0].Analog {
		T = n.Layers[0].TOut
	}
	input := make([]float64, len(r.Input))
	for i, s := range r.Input {
		input[i] = float64(T - int(s))
	}
	vals := make([][]float64, len(m.Nodes))
	in := func(j int) []float64 {
		if j < 0 {
			return input
		}
		return vals[j]
	}
	out := map[string][]float64{}
	analog := -1 // an analog first layer's node: its levels are the input spikes'
	if n.Layers[0].Analog {
		analog = slices.IndexFunc(m.Nodes, func(l *graph.Node) bool { return l.Name == n.Layers[0].Name })
	}
	for i, gl := range m.Nodes {
		if i < analog {
			continue
		}
		if i == analog {
			vals[i] = input
			continue
		}
		x := in(gl.Inputs[0])
		var v []float64
		switch gl.Op {
		case graph.Conv, graph.Linear:
			v = refLinear(gl, x, float64(T))
		case graph.AvgPool, graph.GlobalAvgPool:
			v = refAvgPool(gl, x)
		case graph.MaxPool:
			v = refMaxPool(gl, x)
		case graph.Add:
			v = slices.Clone(x)
			for _, j := range gl.Inputs[1:] {
				for k, y := range in(j) {
					v[k] += y
				}
			}
		case graph.Concat:
			for _, j := range gl.Inputs {
				v = append(v, in(j)...)
			}
		case graph.Affine:
			v = slices.Clone(x)
			per := len(v) / len(gl.Scale)
			for k := range v {
				v[k] *= float64(gl.Scale[k/per])
			}
		case graph.ReLU, graph.Clip:
			v = slices.Clone(x)
			for k := range v {
				v[k] = math.Max(v[k], 0)
			}
		default: // Flatten, …
			v = x
		}
		quant := func(nl *Layer, v []float64) []float64 {
			q := make([]float64, len(v))
			for k, u := range v {
				if n.Threshold == Truncate {
					u = math.Floor(u)
				} else {
					u = math.Floor(u + 0.5)
				}
				u = math.Min(u, float64(nl.TOut))
				if nl.Rectify {
					u = math.Max(u, 0)
				}
				q[k] = u
			}
			return q
		}
		if nl, ok := byName[gl.Name]; ok && nl.Spiking() {
			if neg, ok := byName[gl.Name+NegSuffix]; ok {
				// A signed pair: z⁺ = q(z), z⁻ = q(−z), read as z⁺ − z⁻.
				mv := make([]float64, len(v))
				for k := range v {
					mv[k] = -v[k]
				}
				qp, qn := quant(nl, v), quant(neg, mv)
				out[neg.Name] = qn
				for k := range v {
					v[k] = qp[k] - qn[k]
				}
				out[gl.Name] = qp
			} else {
				v = quant(nl, v)
				out[gl.Name] = slices.Clone(v)
			}
		} else if _, ok := byName[gl.Name]; ok {
			out[gl.Name] = slices.Clone(v)
		} else if _, ok := byName[gl.Name+"[0]"]; ok {
			// Pooling a Concat: one layer per part, node[k].
			off := 0
			for k := 0; ; k++ {
				nl, ok := byName[fmt.Sprintf("%s[%d]", gl.Name, k)]
				if !ok {
					break
				}
				seg := v[off : off+nl.Size()]
				if nl.Spiking() {
					copy(seg, quant(nl, seg))
				}
				out[nl.Name] = slices.Clone(seg)
				off += nl.Size()
			}
		}
		vals[i] = v
	}
	return out
}

// TestDAGConformance: on random dyadic DAGs, the Oracle and Sim give the
// closed-form spike times and counters (expected) and each other's,
// field by field; in samples without early spikes every node decodes to
// the node-by-node quantized ANN.
func TestDAGConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 7))
	var f dagFeatures
	var samples, withEarly, quantChecked, delayedNets int
	for it := 0; it < suiteNets(); it++ {
		rn := randomDAG(rng, &f)
		n, err := Convert(rn.m, rn.cfg)
		if err != nil {
			t.Fatalf("net %d: convert: %v", it, err)
		}
		if !n.Branching() {
			t.Fatalf("net %d: converted to a chain", it)
		}
		for _, l := range n.Layers {
			if l.Analog {
				continue
			}
			if slices.ContainsFunc(l.Groups, func(g Group) bool { return g.Delay > 0 }) {
				delayedNets++
				break
			}
		}
		o, err := NewOracle(n)
		if err != nil {
			t.Fatalf("net %d: %v", it, err)
		}
		s, err := NewSim(n, 1)
		if err != nil {
			t.Fatalf("net %d: %v", it, err)
		}
		w := s.NewWorker()
		var ro, rs SampleResult
		for k := 0; k < 3; k++ {
			x := randomInput(rng, n)
			if err := o.Simulate(x, &ro); err != nil {
				t.Fatal(err)
			}
			if err := w.Simulate(x, &rs); err != nil {
				t.Fatal(err)
			}
			samples++
			want := expected(n, &ro)
			if diff := diffResults(want, &ro); diff != "" {
				t.Fatalf("net %d sample %d (%s): oracle vs closed form: %s", it, k, describe(n), diff)
			}
			if diff := diffResults(&ro, &rs); diff != "" {
				t.Fatalf("net %d sample %d (%s): oracle vs sim: %s", it, k, describe(n), diff)
			}
			if ro.Total().Early > 0 {
				withEarly++
				continue
			}
			quantChecked++
			checkQuantized(t, it, n, &ro, quantizedDAG(n, rn.m, &ro))
		}
	}
	t.Logf("%d DAGs (%d with delays), %d samples, %d with early spikes, %d checked against the quantized ANN; features %+v",
		suiteNets(), delayedNets, samples, withEarly, quantChecked, f)
	if withEarly == 0 || quantChecked == 0 || delayedNets == 0 || f.identity == 0 || f.projection == 0 || f.concat == 0 || f.sumOutput == 0 ||
		f.scaled == 0 || f.pool == 0 || f.bottleneck == 0 || f.signedReLU == 0 || f.analog == 0 || f.concatPool == 0 {
		t.Errorf("the random DAGs do not exercise every feature")
	}
}

// TestDAGMutations: random DAGs with random edits (a ReLU dropped, an
// input rewired to another node of the same shape) either convert to a
// valid network on which both simulators agree with the closed forms, or
// are refused with a *ConvertError naming a node; never a panic or an
// invalid network.
func TestDAGMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 99))
	var f dagFeatures
	converted, refused := 0, 0
	for it := 0; it < suiteNets(); it++ {
		rn := randomDAG(rng, &f)
		m := rn.m
		for k := 1 + rng.IntN(3); k > 0; k-- {
			i := rng.IntN(len(m.Nodes))
			l := m.Nodes[i]
			switch {
			case l.Op == graph.ReLU && rng.IntN(2) == 0:
				l.Op = graph.Dropout
			case len(l.Inputs) > 0:
				for _, j := range rng.Perm(i + 1) {
					j-- // −1 is the model input
					sh := m.InputShape
					if j >= 0 {
						sh = m.Nodes[j].OutShape
					}
					if slices.Equal(sh, l.InShape) {
						l.Inputs[rng.IntN(len(l.Inputs))] = j
						break
					}
				}
			}
		}
		if m.InferShapes() != nil {
			continue
		}
		n, err := Convert(m, rn.cfg)
		if err != nil {
			var ce *ConvertError
			if !errors.As(err, &ce) || strings.Contains(err.Error(), "a bug") {
				t.Fatalf("net %d: %v, want a *ConvertError naming a node", it, err)
			}
			refused++
			if refused <= 3 {
				t.Log(err)
			}
			continue
		}
		converted++
		o, _ := NewOracle(n)
		s, _ := NewSim(n, 1)
		var ro, rs SampleResult
		x := randomInput(rng, n)
		if err := o.Simulate(x, &ro); err != nil {
			t.Fatal(err)
		}
		if err := s.NewWorker().Simulate(x, &rs); err != nil {
			t.Fatal(err)
		}
		if diff := diffResults(expected(n, &ro), &ro); diff != "" {
			t.Fatalf("net %d (%s): oracle vs closed form: %s", it, describe(n), diff)
		}
		if diff := diffResults(&ro, &rs); diff != "" {
			t.Fatalf("net %d (%s): oracle vs sim: %s", it, describe(n), diff)
		}
	}
	t.Logf("%d mutated DAGs converted, %d refused", converted, refused)
	if converted == 0 || refused == 0 {
		t.Errorf("the mutations do not exercise both outcomes")
	}
}
