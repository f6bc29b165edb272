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
