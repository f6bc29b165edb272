package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// directConv is the oracle: a naive direct convolution accumulated in
// float64. It also returns Σ|w·x| per output, the scale of the float32
// rounding error.
func directConv(c convCase, x, w, b []float32) (y, mag []float64) {
	oh := (c.h+c.pad[0]+c.pad[2]-c.dh*(c.kh-1)-1)/c.sh + 1
	ow := (c.w+c.pad[1]+c.pad[3]-c.dw*(c.kw-1)-1)/c.sw + 1
	cing, coutg := c.cin/c.g, c.cout/c.g
	y = make([]float64, c.n*c.cout*oh*ow)
	mag = make([]float64, len(y))
	for s := 0; s < c.n; s++ {
		for co := 0; co < c.cout; co++ {
			g := co / coutg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var sum, m float64
					if b != nil {
						sum, m = float64(b[co]), math.Abs(float64(b[co]))
					}
					for ci := 0; ci < cing; ci++ {
						for ky := 0; ky < c.kh; ky++ {
							for kx := 0; kx < c.kw; kx++ {
								iy := oy*c.sh - c.pad[0] + ky*c.dh
								ix := ox*c.sw - c.pad[1] + kx*c.dw
								if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
									continue
								}
								xv := float64(x[((s*c.cin+g*cing+ci)*c.h+iy)*c.w+ix])
								wv := float64(w[((co*cing+ci)*c.kh+ky)*c.kw+kx])
								sum += xv * wv
								m += math.Abs(xv * wv)
							}
						}
					}
					o := ((s*c.cout+co)*oh+oy)*ow + ox
					y[o], mag[o] = sum, m
				}
			}
		}
	}
	return y, mag
}

// randomConvCases draws geometries: odd sizes, strides 1–3, asymmetric pads
// up to 3, dilations 1–3, groups (dense, grouped, depthwise with channel
// multiplier), with and without bias.
func randomConvCases(k int) []convCase {
	rng := rand.New(rand.NewPCG(99, 1))
	var cs []convCase
	for len(cs) < k {
		var c convCase
		c.n = 1 + rng.IntN(4)
		c.g = []int{1, 1, 2, 3}[rng.IntN(4)]
		c.cin = c.g * (1 + rng.IntN(3))
		c.cout = c.g * (1 + rng.IntN(3))
		if rng.IntN(4) == 0 { // depthwise
			c.cin, c.g = 1+rng.IntN(5), 0
			c.g = c.cin
			c.cout = c.cin * (1 + rng.IntN(2))
		}
		c.h, c.w = 1+rng.IntN(12), 1+rng.IntN(12)
		c.kh, c.kw = 1+rng.IntN(5), 1+rng.IntN(5)
		c.sh, c.sw = 1+rng.IntN(3), 1+rng.IntN(3)
		c.dh, c.dw = 1+rng.IntN(3), 1+rng.IntN(3)
		for i := range c.pad {
			c.pad[i] = rng.IntN(4)
		}
		c.bias = rng.IntN(3) > 0
		if c.h+c.pad[0]+c.pad[2] < c.dh*(c.kh-1)+1 || c.w+c.pad[1]+c.pad[3] < c.dw*(c.kw-1)+1 {
			continue
		}
		cs = append(cs, c)
	}
	return cs
}

// TestConvOracle compares the im2col+GEMM convolution with the direct one.
// Both compute the same sums of products; float32 accumulation of K terms
// errs by at most about K·2⁻²⁴·Σ|w·x| (first-order bound), so the tolerance
// is 2·K·2⁻²⁴·Σ|w·x| + 1e-7 per output.
func TestConvOracle(t *testing.T) {
	cases := append(randomConvCases(60), convGradCases...)
	cases = append(cases, depthwiseCases...)
	cases = append(cases,
		convCase{4, 1, 28, 28, 6, 5, 5, 1, 1, [4]int{}, 1, 1, 1, true},  // LeNet conv1
		convCase{3, 6, 12, 12, 12, 5, 5, 1, 1, [4]int{}, 1, 1, 1, true}, // LeNet conv2
		convCase{5, 12, 4, 4, 120, 4, 4, 1, 1, [4]int{}, 1, 1, 1, true}, // LeNet conv3
	)
	for _, c := range cases {
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/w%d", c, workers), func(t *testing.T) {
				m := model(t, []int{c.cin, c.h, c.w}, c.layer())
				l := m.Nodes[0]
				x := randVec(rand.New(rand.NewPCG(5, 6)), c.n*c.cin*c.h*c.w, 1)
				want, mag := directConv(c, x, l.W, l.B)
				net, err := New(m, workers)
				if err != nil {
					t.Fatal(err)
				}
				defer net.Close()
				got := net.Forward(x, c.n, false)
				if len(got) != len(want) {
					t.Fatalf("output %d values, want %d", len(got), len(want))
				}
				k := float64(c.cin / c.g * c.kh * c.kw)
				for i := range want {
					tol := 2*k*math.Ldexp(1, -24)*mag[i] + 1e-7
					if d := math.Abs(float64(got[i]) - want[i]); d > tol {
						t.Fatalf("y[%d] = %v, want %v (tolerance %g)", i, got[i], want[i], tol)
					}
				}
			})
		}
	}
}

// TestPoolOracle checks pooling forward values against a literal
// transcription of PyTorch's max_pool2d / avg_pool2d CPU kernels, and a few
// values computed by hand.
func TestPoolOracle(t *testing.T) {
	ref := func(l *graph.Node, x []float32, c, h, w, oh, ow int) []float32 {
		y := make([]float32, c*oh*ow)
		for ch := 0; ch < c; ch++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					hs, ws := oy*l.Stride[0]-l.Pad[0], ox*l.Stride[1]-l.Pad[1]
					he, we := min(hs+l.Kernel[0], h+l.Pad[2]), min(ws+l.Kernel[1], w+l.Pad[3])
					size := (he - hs) * (we - ws)
					hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
					var v float64
					if l.Op == graph.MaxPool {
						v = math.Inf(-1)
					}
					for iy := hs; iy < he; iy++ {
						for ix := ws; ix < we; ix++ {
							xv := float64(x[(ch*h+iy)*w+ix])
							if l.Op == graph.MaxPool {
								v = math.Max(v, xv)
							} else {
								v += xv
							}
						}
					}
					if l.Op == graph.AvgPool {
						if !l.CountIncludePad {
							size = (he - hs) * (we - ws)
						}
						v /= float64(size)
					}
					y[(ch*oh+oy)*ow+ox] = float32(v)
				}
			}
		}
		return y
	}
	rng := rand.New(rand.NewPCG(8, 9))
	for i := 0; i < 200; i++ {
		l := &graph.Node{Name: "p", Op: graph.MaxPool, Kernel: [2]int{1 + rng.IntN(4), 1 + rng.IntN(4)},
			Stride: [2]int{1 + rng.IntN(3), 1 + rng.IntN(3)}, CeilMode: rng.IntN(2) == 0, CountIncludePad: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			l.Op = graph.AvgPool
		}
		for j := range l.Pad { // PyTorch requires pad ≤ kernel/2
			l.Pad[j] = rng.IntN(l.Kernel[j%2]/2 + 1)
		}
		c, h, w := 1+rng.IntN(3), 1+rng.IntN(9), 1+rng.IntN(9)
		m := &graph.Model{InputShape: []int{c, h, w}, Nodes: []*graph.Node{l}}
		if m.InferShapes() != nil {
			continue
		}
		x := randVec(rng, c*h*w, 1)
		net, err := New(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := net.Forward(x, 1, false)
		want := ref(l, x, c, h, w, l.OutShape[1], l.OutShape[2])
		for j := range want {
			if math.Abs(float64(got[j]-want[j])) > 1e-6*(1+math.Abs(float64(want[j]))) {
				t.Fatalf("%v k%v s%v p%v ceil %v incl %v on %dx%dx%d: y[%d] = %v, want %v",
					l.Op, l.Kernel, l.Stride, l.Pad, l.CeilMode, l.CountIncludePad, c, h, w, j, got[j], want[j])
			}
		}
		net.Close()
	}
	// Hand-computed: 4×4 ones, k3 s2 p1 ceil_mode → 3×3. Row (and column)
	// windows are [−1,2), [1,4), [3,5) after clipping to the padded extent
	// [−1,5): sizes 3, 3, 2, holding 2, 3, 1 inputs.
	ones := make([]float32, 16)
	for i := range ones {
		ones[i] = 1
	}
	sz, in := []float32{3, 3, 2}, []float32{2, 3, 1}
	for _, incl := range []bool{true, false} {
		m := &graph.Model{InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{{Op: graph.AvgPool,
			Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Pad: [4]int{1, 1, 1, 1}, CeilMode: true, CountIncludePad: incl}}}
		net, err := New(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := net.Forward(ones, 1, false)
		for j, v := range got {
			want := float32(1)
			if incl {
				want = in[j/3] * in[j%3] / (sz[j/3] * sz[j%3])
			}
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Errorf("incl %v: y = %v; y[%d] want %v", incl, got, j, want)
			}
		}
	}
}
