package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// Tolerances of the finite-difference checks.
//
// Conv, Linear, the poolings, Flatten and Dropout (fixed mask) are linear in
// each input and each parameter, so the central difference has no truncation
// error and a large step ε = 0.05 keeps the rounding error small: L is a sum
// of a few hundred float32 outputs of size O(1), each rounded to ~6e-8
// relative, so L carries an absolute error of ~1e-5 and the quotient an
// error of ~1e-5/(2ε) = 1e-4. Gradients are O(0.1..10), hence rtol = 2e-3
// with atol = 5e-4.
//
// ReLU, Clip, LeakyReLU and MaxPool are piecewise linear; their inputs are drawn at
// least 0.1 away from every kink and from each other (kinkFree), and ε =
// 0.02 < 0.05 never crosses one, so the same tolerances hold.
//
// BatchNorm (train) is smooth but not linear: the truncation error of the
// central difference is ε²/6·|L”'|, with ε = 1e-2 about 1e-5·|L”'|; rtol
// = 1e-2, atol = 2e-3 covers it with margin.
const (
	linEps, linRtol, linAtol = 0.05, 2e-3, 5e-4
	pwEps                    = 0.02
	bnEps, bnRtol, bnAtol    = 1e-2, 1e-2, 2e-3
)

type convCase struct {
	n, cin, h, w, cout, kh, kw, sh, sw int
	pad                                [4]int
	dh, dw, g                          int
	bias                               bool
}

func (c convCase) String() string {
	return fmt.Sprintf("n%d_c%dx%dx%d_o%d_k%dx%d_s%dx%d_p%v_d%dx%d_g%d_b%v",
		c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw, c.pad, c.dh, c.dw, c.g, c.bias)
}

func (c convCase) layer() *graph.Node {
	return convLayer(c.cin, c.cout, c.kh, c.kw, c.sh, c.sw, c.pad, c.dh, c.dw, c.g, c.bias)
}

var convGradCases = []convCase{
	{2, 3, 7, 6, 4, 3, 2, 2, 1, [4]int{1, 0, 2, 1}, 1, 1, 1, true},
	{3, 4, 9, 8, 6, 3, 3, 1, 1, [4]int{2, 2, 2, 2}, 2, 2, 2, false}, // dilation + groups
	{2, 3, 5, 5, 6, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, 1, 1, 3, true},  // depthwise ×2
	{2, 4, 4, 4, 4, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 4, true},  // depthwise
	{2, 5, 4, 3, 3, 1, 1, 1, 1, [4]int{}, 1, 1, 1, true},            // 1×1
	{3, 1, 8, 8, 2, 5, 5, 1, 1, [4]int{}, 1, 1, 1, true},            // LeNet-like
	{2, 2, 10, 9, 3, 2, 3, 3, 2, [4]int{0, 2, 1, 0}, 3, 2, 1, true}, // stride 3, dilation 3
	{1, 2, 3, 3, 2, 3, 3, 1, 1, [4]int{3, 3, 3, 3}, 1, 1, 1, true},  // pad ≥ kernel
}

func TestConvGrad(t *testing.T) {
	for _, c := range convGradCases {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v/w%d", c, workers), func(t *testing.T) {
				m := model(t, []int{c.cin, c.h, c.w}, c.layer())
				x := randVec(rand.New(rand.NewPCG(1, 2)), c.n*c.cin*c.h*c.w, 1)
				gradCheck(t, m, c.n, workers, true, x, linEps, linRtol, linAtol)
			})
		}
	}
}

func TestLinearGrad(t *testing.T) {
	for _, bias := range []bool{true, false} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("bias%v/w%d", bias, workers), func(t *testing.T) {
				l := &graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{5, 12}}
				if bias {
					l.B = make([]float32, 5)
				}
				m := model(t, []int{3, 2, 2}, l)
				x := randVec(rand.New(rand.NewPCG(1, 2)), 5*12, 1)
				gradCheck(t, m, 5, workers, true, x, linEps, linRtol, linAtol)
			})
		}
	}
}

func TestActivationGrad(t *testing.T) {
	for _, l := range []*graph.Node{
		{Name: "relu", Op: graph.ReLU},
		{Name: "relu6", Op: graph.Clip, Min: 0, Max: 6},
		{Name: "clip", Op: graph.Clip, Min: -0.29, Max: 0.41},
		{Name: "leaky", Op: graph.LeakyReLU, Alpha: 0.01},
		{Name: "leaky0.3", Op: graph.LeakyReLU, Alpha: 0.3},
	} {
		t.Run(l.Name, func(t *testing.T) {
			m := model(t, []int{3, 4, 5}, l)
			x := kinkFree(rand.New(rand.NewPCG(1, 2)), 3*60, 0.1)
			for i := range x { // values 0.063+0.1k, ≥ 0.047 from the bounds
				x[i] += 0.013
			}
			x[0], x[1] = 6.5, -1 // saturated beyond ReLU6 and clip bounds
			gradCheck(t, m, 3, 2, true, x, pwEps, linRtol, linAtol)
		})
	}
}

func TestPoolGrad(t *testing.T) {
	type pc struct {
		name           string
		op             graph.Op
		kh, kw, sh, sw int
		pad            [4]int
		ceil, incl     bool
		h, w           int
	}
	cases := []pc{
		{"max2", graph.MaxPool, 2, 2, 2, 2, [4]int{}, false, false, 8, 8},
		{"max3s2pad", graph.MaxPool, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, false, false, 7, 6},
		{"max3s2ceil", graph.MaxPool, 3, 2, 2, 2, [4]int{0, 1, 0, 0}, true, false, 8, 7},
		{"max2x3s1", graph.MaxPool, 2, 3, 1, 2, [4]int{1, 0, 0, 1}, false, false, 5, 7},
		{"avg2", graph.AvgPool, 2, 2, 2, 2, [4]int{}, false, false, 6, 6},
		{"avg3pad_incl", graph.AvgPool, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, false, true, 7, 6},
		{"avg3pad_excl", graph.AvgPool, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, false, false, 7, 6},
		{"avg3ceil_incl", graph.AvgPool, 3, 3, 2, 2, [4]int{1, 0, 1, 1}, true, true, 8, 9},
		{"avg3ceil_excl", graph.AvgPool, 3, 3, 2, 2, [4]int{1, 0, 1, 1}, true, false, 8, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &graph.Node{Name: c.name, Op: c.op, Kernel: [2]int{c.kh, c.kw}, Stride: [2]int{c.sh, c.sw},
				Pad: c.pad, CeilMode: c.ceil, CountIncludePad: c.incl}
			m := model(t, []int{3, c.h, c.w}, l)
			n := 3
			x := kinkFree(rand.New(rand.NewPCG(1, 2)), n*3*c.h*c.w, 0.1)
			gradCheck(t, m, n, 2, true, x, pwEps, linRtol, linAtol)
		})
	}
	t.Run("gap", func(t *testing.T) {
		m := model(t, []int{4, 3, 5}, &graph.Node{Name: "gap", Op: graph.GlobalAvgPool})
		x := randVec(rand.New(rand.NewPCG(1, 2)), 3*60, 1)
		gradCheck(t, m, 3, 2, true, x, linEps, linRtol, linAtol)
	})
}

func TestBatchNormGrad(t *testing.T) {
	for _, train := range []bool{true, false} {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("2d/train%v/w%d", train, workers), func(t *testing.T) {
				m := model(t, []int{3, 4, 5}, bnLayer(3))
				x := randVec(rand.New(rand.NewPCG(1, 2)), 4*60, 1)
				gradCheck(t, m, 4, workers, train, x, bnEps, bnRtol, bnAtol)
			})
			t.Run(fmt.Sprintf("1d/train%v/w%d", train, workers), func(t *testing.T) {
				m := model(t, []int{6, 1, 1}, &graph.Node{Name: "flat", Op: graph.Flatten}, bnLayer(6))
				x := randVec(rand.New(rand.NewPCG(1, 2)), 5*6, 1)
				gradCheck(t, m, 5, workers, train, x, bnEps, bnRtol, bnAtol)
			})
		}
	}
}

func TestDropoutGrad(t *testing.T) {
	m := model(t, []int{4, 3, 3}, &graph.Node{Name: "drop", Op: graph.Dropout, Ratio: 0.4},
		&graph.Node{Name: "flat", Op: graph.Flatten})
	x := randVec(rand.New(rand.NewPCG(1, 2)), 3*36, 1)
	gradCheck(t, m, 3, 2, true, x, linEps, linRtol, linAtol)
}

// TestNetGrad checks a whole small conv net with every kind of layer. The
// ReLUs and max pools make L piecewise smooth; the step ε = 1e-3 is small
// enough that almost no perturbation crosses a kink, and BatchNorm's
// curvature then costs nothing, but the float32 rounding of L (~1e-5
// absolute over ~100 outputs) divided by 2ε leaves ~1e-2 absolute noise, so
// atol = 2e-2, rtol = 2e-2.
func TestNetGrad(t *testing.T) {
	m := model(t, []int{2, 9, 9},
		convLayer(2, 4, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 1, true),
		bnLayer(4),
		&graph.Node{Name: "relu", Op: graph.ReLU},
		&graph.Node{Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, CeilMode: true},
		convLayer(4, 4, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 4, false),
		&graph.Node{Name: "relu6", Op: graph.Clip, Min: 0, Max: 6},
		&graph.Node{Name: "avg", Op: graph.AvgPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, Pad: [4]int{1, 1, 0, 0}},
		&graph.Node{Name: "drop", Op: graph.Dropout, Ratio: 0.3},
		&graph.Node{Name: "flat", Op: graph.Flatten},
		&graph.Node{Name: "fc", Op: graph.Linear, WShape: []int{3, 36}, B: make([]float32, 3)},
	)
	Init(m, 5)
	x := randVec(rand.New(rand.NewPCG(1, 2)), 4*2*81, 1)
	gradCheck(t, m, 4, 2, true, x, 1e-3, 2e-2, 2e-2)
}

// in sets a node's inputs (graph.ModelInput is −1).
func in(l *graph.Node, inputs ...int) *graph.Node {
	l.Inputs = inputs
	return l
}

// Smooth nonlinear ops (Tanh, Sigmoid, SiLU, Softmax, LayerNorm, LRN, Mul
// of two values that depend on one parameter) use BatchNorm's step and
// tolerances: ε = 1e-2 keeps the truncation error ε²/6·|L”'| ≈ 2e-5·|L”'|
// and the rounding error ~1e-5/(2ε) = 5e-4 below atol = 2e-3, rtol = 1e-2.
// HardSigmoid is piecewise linear and HardSwish piecewise quadratic (exact
// under central differences) on kink-free inputs at least 0.05 away from
// their kinks at ±3 (and ±3/Alpha·…), so the linear tolerances hold for
// them with pwEps.
//
// The DAG checks with ReLUs inside follow TestNetGrad: ε = 1e-3, rtol =
// atol = 2e-2.
const dagEps, dagTol = 1e-3, 2e-2

func TestDAGGrad(t *testing.T) {
	conv := func(cin, cout, k int) *graph.Node {
		p := (k - 1) / 2
		return convLayer(cin, cout, k, k, 1, 1, [4]int{p, p, p, p}, 1, 1, 1, true)
	}
	cases := []struct {
		name  string
		in    []int
		nodes func() []*graph.Node
	}{
		// The residual block: x → conv → relu → conv, + x. The input
		// gradient is the sum of the skip's and the branch's.
		{"residual/input", []int{4, 5, 5}, func() []*graph.Node {
			return []*graph.Node{
				in(conv(4, 4, 3), -1),
				{Name: "relu", Op: graph.ReLU},
				conv(4, 4, 3),
				in(&graph.Node{Name: "add", Op: graph.Add}, 2, -1),
			}
		}},
		// A residual block inside a network: conv0's output is read by the
		// branch and by the skip, and the sum feeds a head.
		{"residual/inner", []int{3, 6, 6}, func() []*graph.Node {
			return []*graph.Node{
				conv(3, 4, 3),
				{Name: "relu0", Op: graph.ReLU},
				conv(4, 4, 3),
				{Name: "relu1", Op: graph.ReLU},
				conv(4, 4, 1),
				in(&graph.Node{Name: "add", Op: graph.Add}, 4, 1),
				{Name: "gap", Op: graph.GlobalAvgPool},
				{Name: "flat", Op: graph.Flatten},
				{Name: "fc", Op: graph.Linear, WShape: []int{3, 4}},
			}
		}},
		// Add of three values, one of them read twice.
		{"add3", []int{2, 4, 4}, func() []*graph.Node {
			return []*graph.Node{
				conv(2, 3, 3),
				in(conv(2, 3, 1), -1),
				in(&graph.Node{Name: "add", Op: graph.Add}, 0, 1, 0),
			}
		}},
		// Concat of two branches of different depth (conv → relu → conv,
		// and a 1×1 conv), then a conv over both.
		{"concat", []int{3, 5, 5}, func() []*graph.Node {
			return []*graph.Node{
				in(conv(3, 2, 3), -1),
				{Name: "relu", Op: graph.ReLU},
				conv(2, 3, 3),
				in(conv(3, 2, 1), -1),
				in(&graph.Node{Name: "cat", Op: graph.Concat}, 2, 3),
				conv(5, 2, 3),
			}
		}},
		// Concat with the model input itself, and the same value twice.
		{"concat/input", []int{2, 3, 4}, func() []*graph.Node {
			return []*graph.Node{
				in(conv(2, 3, 3), -1),
				in(&graph.Node{Name: "cat", Op: graph.Concat}, -1, 0, -1),
				conv(7, 2, 1),
			}
		}},
		// Two alias nodes (Flatten, Reshape) of one conv output, summed:
		// both gradients reach the conv through its one buffer.
		{"alias", []int{2, 3, 3}, func() []*graph.Node {
			return []*graph.Node{
				conv(2, 2, 3),
				{Name: "flat", Op: graph.Flatten},
				in(&graph.Node{Name: "reshape", Op: graph.Reshape, Shape: []int{18}}, 0),
				in(&graph.Node{Name: "add", Op: graph.Add}, 1, 2),
				{Name: "fc", Op: graph.Linear, WShape: []int{3, 18}},
			}
		}},
		// Reshape to a new [C H W] between convs.
		{"reshape", []int{2, 4, 6}, func() []*graph.Node {
			return []*graph.Node{
				conv(2, 3, 3),
				{Name: "reshape", Op: graph.Reshape, Shape: []int{6, 4, 3}},
				conv(6, 2, 3),
			}
		}},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/w%d", c.name, workers), func(t *testing.T) {
				m := model(t, c.in, c.nodes()...)
				x := randVec(rand.New(rand.NewPCG(1, 2)), 3*graph.Size(c.in), 1)
				gradCheck(t, m, 3, workers, true, x, dagEps, dagTol, dagTol)
			})
		}
	}
}

// TestMulGrad: Mul of two convs of the input (a bilinear function of each
// weight pair, so the loss is quadratic in the input, exact under central
// differences), and a gated unit x·sigmoid(conv x).
func TestMulGrad(t *testing.T) {
	conv := func() *graph.Node {
		return in(convLayer(3, 3, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 1, true), -1)
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("bilinear/w%d", workers), func(t *testing.T) {
			m := model(t, []int{3, 4, 4}, conv(), conv(), in(&graph.Node{Name: "mul", Op: graph.Mul}, 0, 1))
			x := randVec(rand.New(rand.NewPCG(1, 2)), 2*48, 1)
			gradCheck(t, m, 2, workers, true, x, linEps, linRtol, linAtol)
		})
		t.Run(fmt.Sprintf("square/w%d", workers), func(t *testing.T) {
			m := model(t, []int{3, 4, 4}, conv(), in(&graph.Node{Name: "mul", Op: graph.Mul}, 0, 0))
			x := randVec(rand.New(rand.NewPCG(1, 2)), 2*48, 1)
			gradCheck(t, m, 2, workers, true, x, linEps, linRtol, linAtol)
		})
		t.Run(fmt.Sprintf("gate/w%d", workers), func(t *testing.T) {
			m := model(t, []int{3, 4, 4}, conv(), &graph.Node{Name: "sig", Op: graph.Sigmoid},
				in(&graph.Node{Name: "mul", Op: graph.Mul}, -1, 1))
			x := randVec(rand.New(rand.NewPCG(1, 2)), 2*48, 1)
			gradCheck(t, m, 2, workers, true, x, bnEps, bnRtol, bnAtol)
		})
	}
}

// TestUnaryGrad checks the input gradient of every ANN-only unary op, and
// of a per-element Affine, on a [3 4 5] input.
func TestUnaryGrad(t *testing.T) {
	shape := []int{3, 4, 5}
	size := graph.Size(shape)
	scale, shift := randVec(rand.New(rand.NewPCG(5, 6)), size, 1), randVec(rand.New(rand.NewPCG(7, 8)), size, 1)
	cases := []struct {
		l               *graph.Node
		eps, rtol, atol float64
		kinkFree        bool // piecewise: kink-free inputs
		scale           float64
	}{
		{&graph.Node{Name: "tanh", Op: graph.Tanh}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "sigmoid", Op: graph.Sigmoid}, bnEps, bnRtol, bnAtol, false, 2},
		{&graph.Node{Name: "silu", Op: graph.SiLU}, bnEps, bnRtol, bnAtol, false, 2},
		// Kinks at Alpha·x + Bias ∈ {0, 1}: x = −2.5 and 2.5 for the ONNX
		// defaults Alpha 0.2, Bias 0.5; the inputs 0.05 + 0.1k stay 0.05
		// away. Scaled ×30 below, x reaches ±9: all three pieces.
		{&graph.Node{Name: "hardsigmoid", Op: graph.HardSigmoid, Alpha: 0.2, Bias: 0.5}, pwEps, linRtol, linAtol, true, 1},
		{&graph.Node{Name: "hardswish", Op: graph.HardSwish}, pwEps, linRtol, linAtol, true, 1},
		{&graph.Node{Name: "softmax0", Op: graph.Softmax, Axis: 0}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "softmax1", Op: graph.Softmax, Axis: 1}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "softmax2", Op: graph.Softmax, Axis: 2}, bnEps, bnRtol, bnAtol, false, 2},
		{&graph.Node{Name: "layernorm012", Op: graph.LayerNorm, Axes: []int{0, 1, 2}, Eps: 1e-9}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "layernorm12", Op: graph.LayerNorm, Axes: []int{1, 2}, Eps: 1e-5}, bnEps, bnRtol, bnAtol, false, 1},
		// Groups of 3 values (one per channel) can have a small spread σ,
		// and L”' grows as 1/σ³: inputs ×4 shrink the truncation error
		// relative to the gradient by 16.
		{&graph.Node{Name: "layernorm0", Op: graph.LayerNorm, Axes: []int{0}, Eps: 1e-5}, bnEps, bnRtol, bnAtol, false, 4},
		{&graph.Node{Name: "layernorm02", Op: graph.LayerNorm, Axes: []int{0, 2}, Eps: 1e-9}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "lrn3", Op: graph.LRN, Size: 3, Alpha: 0.5, Power: 0.75, Bias: 1}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "lrn2", Op: graph.LRN, Size: 2, Alpha: 1, Power: 0.5, Bias: 2}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "lrn5", Op: graph.LRN, Size: 5, Alpha: 1e-1, Power: 0.75, Bias: 1}, bnEps, bnRtol, bnAtol, false, 1},
		{&graph.Node{Name: "affine/element", Op: graph.Affine, Scale: scale, Shift: shift}, linEps, linRtol, linAtol, false, 1},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/w%d", c.l.Name, workers), func(t *testing.T) {
				l := *c.l
				m := model(t, shape, &l)
				n := 3
				var x []float32
				if c.kinkFree {
					x = kinkFree(rand.New(rand.NewPCG(1, 2)), n*size, 0.1) // ±0.05 … ±9
				} else {
					x = randVec(rand.New(rand.NewPCG(1, 2)), n*size, c.scale)
				}
				gradCheck(t, m, n, workers, true, x, c.eps, c.rtol, c.atol)
			})
		}
	}
}
