package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// depthwiseCases exercise the direct depthwise path (Cin/G == 1 < G):
// strides 1, 2, 3 and mixed, padding 0/1/2 and asymmetric, dilation 2,
// kernels 3, 5 and 5×3, channel multipliers 1 and 2, odd and even sizes,
// maps whose interior (all taps valid) is empty, with and without bias.
var depthwiseCases = []convCase{
	{3, 4, 7, 9, 4, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 4, true},    // MobileNet s1
	{2, 3, 9, 7, 6, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, 1, 1, 3, true},    // s2, ×2
	{2, 3, 8, 8, 3, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, 1, 1, 3, false},   // MobileNet s2, even
	{3, 2, 6, 5, 2, 3, 3, 1, 1, [4]int{}, 1, 1, 2, false},             // pad 0
	{2, 2, 7, 7, 4, 5, 5, 1, 1, [4]int{2, 2, 2, 2}, 1, 1, 2, true},    // k5 pad 2, ×2
	{2, 3, 9, 8, 3, 3, 3, 1, 1, [4]int{2, 2, 2, 2}, 2, 2, 3, true},    // dilation 2
	{2, 2, 7, 6, 4, 3, 3, 1, 2, [4]int{0, 1, 2, 1}, 1, 1, 2, true},    // asymmetric pads, strides 1×2
	{2, 3, 11, 9, 3, 5, 3, 2, 1, [4]int{2, 0, 1, 2}, 1, 2, 3, false},  // k5×3, dilations 1×2
	{1, 2, 3, 3, 2, 3, 3, 1, 1, [4]int{2, 2, 2, 2}, 1, 1, 2, true},    // no interior
	{2, 2, 5, 5, 4, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, 2, 2, 2, true},    // s2 dilation 2, ×2
	{2, 2, 10, 10, 2, 3, 3, 3, 3, [4]int{1, 2, 0, 1}, 1, 1, 2, true},  // stride 3
	{2, 5, 13, 11, 10, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, 1, 1, 5, true}, // odd, s2, ×2
	{2, 3, 1, 6, 3, 1, 3, 1, 1, [4]int{0, 1, 0, 1}, 1, 1, 3, true},    // one row
}

func TestDepthwiseGrad(t *testing.T) {
	for _, c := range depthwiseCases {
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/w%d", c, workers), func(t *testing.T) {
				m := model(t, []int{c.cin, c.h, c.w}, c.layer())
				x := randVec(rand.New(rand.NewPCG(1, 2)), c.n*c.cin*c.h*c.w, 1)
				gradCheck(t, m, c.n, workers, true, x, linEps, linRtol, linAtol)
			})
		}
	}
}

// dwRun runs a forward and backward pass of a one-conv net and returns y,
// dX, dW and (with bias) db. gemmPath forces the im2col + GEMM path.
func dwRun(t *testing.T, c convCase, workers int, gemmPath bool) (y, dx, dw, db []float32) {
	t.Helper()
	m := model(t, []int{c.cin, c.h, c.w}, c.layer())
	net, err := New(m, workers)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	cv := net.layers[0].(*conv)
	if !cv.depthwise {
		t.Fatalf("%v: direct depthwise path not selected", c)
	}
	if gemmPath {
		cv.fwdFn, cv.bwdFn, cv.wflip = cv.fwdRange, cv.bwdRange, nil
	}
	net.inputGrad = true
	rng := rand.New(rand.NewPCG(21, 22))
	x := randVec(rng, c.n*c.cin*c.h*c.w, 1)
	net.ZeroGrad()
	y = append([]float32(nil), net.Forward(x, c.n, true)...)
	net.Backward(randVec(rng, len(y), 1))
	dx = append([]float32(nil), net.dInput...)
	dw = append([]float32(nil), cv.wp.Grad...)
	if cv.bp != nil {
		db = append([]float32(nil), cv.bp.Grad...)
	}
	return y, dx, dw, db
}

// TestDepthwiseDeterminism: for a given worker count the direct path is
// bit-for-bit reproducible, and it agrees with the GEMM path (which sums
// in another order) to rounding.
func TestDepthwiseDeterminism(t *testing.T) {
	for _, c := range depthwiseCases {
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/w%d", c, workers), func(t *testing.T) {
				a := [4][]float32{}
				b := [4][]float32{}
				g := [4][]float32{}
				a[0], a[1], a[2], a[3] = dwRun(t, c, workers, false)
				b[0], b[1], b[2], b[3] = dwRun(t, c, workers, false)
				g[0], g[1], g[2], g[3] = dwRun(t, c, workers, true)
				for k, name := range []string{"y", "dx", "dw", "db"} {
					for i := range a[k] {
						if math.Float32bits(a[k][i]) != math.Float32bits(b[k][i]) {
							t.Fatalf("%s[%d] differs between runs: %v vs %v", name, i, a[k][i], b[k][i])
						}
						if d := math.Abs(float64(a[k][i] - g[k][i])); d > 1e-4*(1+math.Abs(float64(g[k][i]))) {
							t.Fatalf("%s[%d] = %v, GEMM path %v", name, i, a[k][i], g[k][i])
						}
					}
				}
			})
		}
	}
}
