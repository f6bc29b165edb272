package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refForward is a plain evaluator of one sample, the oracle for the passes:
// direct loops, float64 accumulation, every node evaluated from the values
// of the nodes its Inputs name (so it evaluates DAGs, and chains with nil
// Inputs after InferShapes). It returns the last node's output.
func refForward(t *testing.T, m *Model, x []float32) []float64 {
	t.Helper()
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	in := make([]float64, len(x))
	for i, v := range x {
		in[i] = float64(v)
	}
	vals := make([][]float64, len(m.Nodes))
	value := func(j int) []float64 {
		if j == ModelInput {
			return in
		}
		return vals[j]
	}
	for n, l := range m.Nodes {
		a := value(l.Inputs[0])
		out := make([]float64, Size(l.OutShape))
		switch l.Op {
		case Conv, MaxPool, AvgPool:
			c, h, w := l.InShape[0], l.InShape[1], l.InShape[2]
			oc, oh, ow := l.OutShape[0], l.OutShape[1], l.OutShape[2]
			for o := 0; o < oc; o++ {
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						var s float64
						cnt := 0
						if l.Op == MaxPool {
							s = math.Inf(-1)
						}
						chans := []int{o}
						if l.Op == Conv {
							g := o / (oc / l.Group)
							cpg := c / l.Group
							chans = chans[:0]
							for ci := 0; ci < cpg; ci++ {
								chans = append(chans, g*cpg+ci)
							}
						}
						for ci, ch := range chans {
							for ky := 0; ky < l.Kernel[0]; ky++ {
								for kx := 0; kx < l.Kernel[1]; kx++ {
									dy, dx := 1, 1
									if l.Op == Conv {
										dy, dx = l.Dilation[0], l.Dilation[1]
									}
									iy := y*l.Stride[0] - l.Pad[0] + ky*dy
									ix := xx*l.Stride[1] - l.Pad[1] + kx*dx
									if iy < 0 || iy >= h || ix < 0 || ix >= w {
										continue
									}
									v := a[(ch*h+iy)*w+ix]
									switch l.Op {
									case Conv:
										s += v * float64(l.W[((o*len(chans)+ci)*l.Kernel[0]+ky)*l.Kernel[1]+kx])
									case MaxPool:
										s = math.Max(s, v)
									case AvgPool:
										s += v
										cnt++
									}
								}
							}
						}
						if l.Op == Conv && l.B != nil {
							s += float64(l.B[o])
						}
						if l.Op == AvgPool {
							s /= float64(cnt)
						}
						out[(o*oh+y)*ow+xx] = s
					}
				}
			}
		case Linear:
			for o := range out {
				s := 0.0
				if l.B != nil {
					s = float64(l.B[o])
				}
				for j, v := range a {
					s += float64(l.W[o*len(a)+j]) * v
				}
				out[o] = s
			}
		case ReLU:
			for i, v := range a {
				out[i] = math.Max(v, 0)
			}
		case BatchNorm:
			per := len(a) / len(l.Gamma)
			for i, v := range a {
				c := i / per
				out[i] = float64(l.Gamma[c])*(v-float64(l.Mean[c]))/math.Sqrt(float64(l.Var[c])+float64(l.Eps)) + float64(l.Beta[c])
			}
		case GlobalAvgPool:
			per := len(a) / len(out)
			for i := range out {
				for _, v := range a[i*per : (i+1)*per] {
					out[i] += v
				}
				out[i] /= float64(per)
			}
		case Flatten, Dropout, Reshape:
			copy(out, a)
		case Affine:
			// One value per channel or per element: the flat index i
			// belongs to channel i/per, with per = 1 per element.
			per := len(a) / len(l.Scale)
			for i, v := range a {
				out[i] = v*float64(l.Scale[i/per]) + float64(l.Shift[i/per])
			}
		case Add, Mul:
			copy(out, a)
			for _, j := range l.Inputs[1:] {
				for i, v := range value(j) {
					if l.Op == Add {
						out[i] += v
					} else {
						out[i] *= v
					}
				}
			}
		case Concat:
			// Axis 0 of the per-sample shape is the slowest: stacking
			// channels appends the inputs' flat values.
			out = out[:0]
			for _, j := range l.Inputs {
				out = append(out, value(j)...)
			}
		default:
			t.Fatalf("refForward: op %v", l.Op)
		}
		if len(out) != Size(l.OutShape) {
			t.Fatalf("refForward: node %d %q: %d values for shape %v", n, l.Name, len(out), l.OutShape)
		}
		vals[n] = out
	}
	return vals[len(vals)-1]
}

func randVec(r *rand.Rand, n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	return v
}

func convLayer(r *rand.Rand, name string, cin, cout, k, group int) *Node {
	return &Node{Name: name, Op: Conv, W: randVec(r, cout*cin/group*k*k, -0.5, 0.5), B: randVec(r, cout, -0.2, 0.2),
		WShape: []int{cout, cin / group, k, k}, Kernel: [2]int{k, k}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1},
		Dilation: [2]int{1, 1}, Group: group}
}

func bnLayer(r *rand.Rand, name string, c int) *Node {
	return &Node{Name: name, Op: BatchNorm, Gamma: randVec(r, c, 0.5, 1.5), Beta: randVec(r, c, -0.3, 0.3),
		Mean: randVec(r, c, -0.2, 0.2), Var: randVec(r, c, 0.1, 2), Eps: 1e-5}
}

// TestSimplifyPreservesFunction checks that folding BatchNorm, dropping
// Dropout and folding average pooling into Linear leave the network's
// function unchanged. Tolerance 1e-5 relative to the output scale: folding
// rounds each weight once to float32 (relative error 2⁻²⁴), and outputs sum
// a few hundred such terms.
func TestSimplifyPreservesFunction(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		layers []*Node
		folds  int // layers removed by Simplify
	}{
		{"bn+gap", []*Node{
			convLayer(r, "c1", 3, 4, 3, 1), bnLayer(r, "bn1", 4), {Name: "r1", Op: ReLU},
			{Name: "d", Op: Dropout, Ratio: 0.5},
			convLayer(r, "c2", 4, 4, 3, 4), bnLayer(r, "bn2", 4), {Name: "r2", Op: ReLU},
			{Name: "gap", Op: GlobalAvgPool}, {Name: "f", Op: Flatten},
			{Name: "fc", Op: Linear, W: randVec(r, 5*4, -1, 1), B: randVec(r, 5, -1, 1), WShape: []int{5, 4}},
		}, 4},
		{"avgpool-tiling", []*Node{
			convLayer(r, "c1", 3, 2, 3, 1), {Name: "r1", Op: ReLU},
			{Name: "ap", Op: AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
			{Name: "f", Op: Flatten},
			{Name: "fc", Op: Linear, W: randVec(r, 3*2*3*3, -1, 1), B: randVec(r, 3, -1, 1), WShape: []int{3, 18}},
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{InputShape: []int{3, 6, 6}, Nodes: tc.layers}
			s, err := Simplify(m)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(s.Nodes), len(m.Nodes)-tc.folds; got != want {
				t.Errorf("simplified to %d layers, want %d", got, want)
			}
			for _, l := range s.Nodes {
				if l.Op == BatchNorm || l.Op == Dropout || l.Op == GlobalAvgPool {
					t.Errorf("layer %q (%v) survived Simplify", l.Name, l.Op)
				}
			}
			for trial := 0; trial < 5; trial++ {
				x := randVec(r, 3*6*6, 0, 1)
				want := refForward(t, m, x)
				got := refForward(t, s, x)
				for i := range want {
					if d := math.Abs(got[i] - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
						t.Fatalf("output %d: simplified %v, original %v", i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestFoldPoolFanIn: a global average pooling folds into the Linear that
// reads it up to MaxFoldFanIn inputs per neuron, and stays a node of its
// own beyond (the function is the same either way).
func TestFoldPoolFanIn(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		c, hw  int
		folded bool
	}{
		{64, 8, true},   // 4096 inputs: ResNet-20's head
		{65, 8, false},  // 4160
		{512, 7, false}, // ResNet-18 at 224×224: 25,088
	} {
		m := &Model{InputShape: []int{tc.c, tc.hw, tc.hw}, Nodes: []*Node{
			{Name: "gap", Op: GlobalAvgPool}, {Name: "f", Op: Flatten},
			{Name: "fc", Op: Linear, W: randVec(r, 3*tc.c, -1, 1), B: randVec(r, 3, -1, 1), WShape: []int{3, tc.c}},
		}}
		s, err := Simplify(m)
		if err != nil {
			t.Fatal(err)
		}
		gap := slices.ContainsFunc(s.Nodes, func(l *Node) bool { return l.Op == GlobalAvgPool })
		if gap == tc.folded {
			t.Errorf("%d×%d×%d: pooling kept %v, want folded %v", tc.c, tc.hw, tc.hw, gap, tc.folded)
		}
		x := randVec(r, tc.c*tc.hw*tc.hw, 0, 1)
		want, got := refForward(t, m, x), refForward(t, s, x)
		for i := range want {
			if d := math.Abs(got[i] - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("%d×%d×%d: output %d: simplified %v, original %v", tc.c, tc.hw, tc.hw, i, got[i], want[i])
			}
		}
	}
}

// TestSimplifyBatchNormAfterReLU: a BatchNorm that does not directly follow
// a Conv or Linear becomes the per-channel Affine γ/√(var+ε),
// β − mean·γ/√(var+ε) (computed in float64, rounded once), and stays
// where nothing can absorb it. Tolerance as in TestSimplifyPreservesFunction.
func TestSimplifyBatchNormAfterReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := &Model{InputShape: []int{2, 4, 4}, Nodes: []*Node{{Name: "r", Op: ReLU}, bnLayer(r, "bn", 2)}}
	for name, pass := range map[string]func(*Model) (*Model, error){"Simplify": Simplify, "InferenceForm": InferenceForm} {
		s, err := pass(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(s.Nodes) != 2 || s.Nodes[1].Op != Affine || s.Nodes[1].Name != "bn" || s.Nodes[1].PerElement() {
			t.Fatalf("%s: nodes %v %v, want ReLU then a per-channel Affine \"bn\"", name, s.Nodes[0].Op, s.Nodes[len(s.Nodes)-1].Op)
		}
		bn, a := m.Nodes[1], s.Nodes[1]
		for c := range 2 {
			scale := float64(bn.Gamma[c]) / math.Sqrt(float64(bn.Var[c])+float64(bn.Eps))
			shift := float64(bn.Beta[c]) - float64(bn.Mean[c])*scale
			if a.Scale[c] != float32(scale) || a.Shift[c] != float32(shift) {
				t.Errorf("%s: channel %d: scale %v shift %v, want %v %v", name, c, a.Scale[c], a.Shift[c], float32(scale), float32(shift))
			}
		}
		if a.Gamma != nil || a.Mean != nil || s.Params() != 0 {
			t.Errorf("%s: the Affine keeps BatchNorm parameters: %+v", name, a)
		}
		x := randVec(r, 2*4*4, -1, 1)
		want, got := refForward(t, m, x), refForward(t, s, x)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("%s: output %d: %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}

func TestSimplifyErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name  string
		nodes []*Node
		want  string
	}{
		{"variance after a conv", []*Node{convLayer(r, "c", 2, 2, 3, 1), bnLayer(r, "bn", 2)}, `node 1 "bn" (BatchNorm): variance -1 + eps 0 of channel 1 is not positive`},
		{"variance after a ReLU", []*Node{{Name: "r", Op: ReLU}, bnLayer(r, "bn", 2)}, `node 1 "bn" (BatchNorm): variance -1 + eps 0 of channel 1`},
		{"shape", []*Node{{Name: "r", Op: ReLU}, bnLayer(r, "bn", 3)}, `node 1 "bn" (BatchNorm): 2 channels, parameters have 3`},
	} {
		m := &Model{InputShape: []int{2, 4, 4}, Nodes: tc.nodes}
		if bn := tc.nodes[1]; len(bn.Var) == 2 {
			bn.Var[1], bn.Eps = -1, 0
		}
		for name, pass := range map[string]func(*Model) (*Model, error){"Simplify": Simplify, "InferenceForm": InferenceForm} {
			if _, err := pass(m); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %s: %v, want an error containing %q", tc.name, name, err, tc.want)
			}
		}
	}
}

func TestInferShapesErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		name string
		m    *Model
	}{
		{"rank", &Model{InputShape: []int{4, 4}}},
		{"kernel too big", &Model{InputShape: []int{1, 3, 3}, Nodes: []*Node{convLayer(r, "c", 1, 1, 7, 1)}}},
		{"group", &Model{InputShape: []int{3, 8, 8}, Nodes: []*Node{convLayer(r, "c", 4, 4, 3, 2)}}},
		{"linear features", &Model{InputShape: []int{1, 2, 2}, Nodes: []*Node{{Name: "f", Op: Flatten},
			{Name: "fc", Op: Linear, W: make([]float32, 10), WShape: []int{2, 5}}}}},
		{"weight length", &Model{InputShape: []int{1, 4, 1}, Nodes: []*Node{{Name: "f", Op: Flatten},
			{Name: "fc", Op: Linear, W: make([]float32, 7), WShape: []int{2, 4}}}}},
	}
	for _, tc := range cases {
		if err := tc.m.InferShapes(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestMACsAndParams(t *testing.T) {
	// The paper's LeNet-5 on 28×28: 26,338 parameters.
	z := func(n int) []float32 { return make([]float32, n) }
	conv := func(name string, cin, cout, k int) *Node {
		return &Node{Name: name, Op: Conv, W: z(cout * cin * k * k), B: z(cout), WShape: []int{cout, cin, k, k},
			Kernel: [2]int{k, k}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	}
	pool := func(name string) *Node {
		return &Node{Name: name, Op: MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}
	}
	m := &Model{InputShape: []int{1, 28, 28}, Nodes: []*Node{
		conv("c1", 1, 6, 5), {Op: ReLU}, pool("p1"), conv("c2", 6, 12, 5), {Op: ReLU}, pool("p2"),
		conv("c3", 12, 120, 4), {Op: ReLU}, {Op: Flatten},
		{Name: "fc", Op: Linear, W: z(1200), B: z(10), WShape: []int{10, 120}},
	}}
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if got := m.Params(); got != 26338 {
		t.Errorf("params = %d, want 26338", got)
	}
	// 6·24·24·25 + 12·8·8·150 + 120·1·1·192 + 1200
	if got, want := m.MACs(), int64(86400+115200+23040+1200); got != want {
		t.Errorf("MACs = %d, want %d", got, want)
	}
}

func TestCheckFinite(t *testing.T) {
	m := &Model{InputShape: []int{4, 1, 1}, Nodes: []*Node{{Name: "f", Op: Flatten},
		{Name: "fc", Op: Linear, W: []float32{1, 2, float32(math.NaN()), 4}, WShape: []int{1, 4}}}}
	if err := m.CheckFinite(); err == nil {
		t.Fatal("NaN weight not reported")
	}
}

func TestRectified(t *testing.T) {
	m := &Model{Nodes: []*Node{
		{Op: Conv}, {Op: MaxPool}, {Op: ReLU}, // 0: ReLU after a max-pool
		{Op: Conv}, {Op: Clip, Min: 0, Max: 6}, // 3: ReLU6
		{Op: Conv}, {Op: Clip, Min: -1, Max: 1}, // 5: not a rectifier
		{Op: Linear}, {Op: Dropout}, {Op: Flatten}, {Op: ReLU}, // 7
		{Op: Conv}, {Op: AvgPool}, {Op: ReLU}, // 11: AvgPool computes first
		{Op: Linear}, // 14: output
	}}
	want := map[int]bool{0: true, 3: true, 5: false, 7: true, 11: false, 14: false}
	for i, w := range want {
		if got := m.Rectified(i); got != w {
			t.Errorf("Rectified(%d) = %v, want %v", i, got, w)
		}
	}
}
