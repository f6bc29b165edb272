package gemm_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/internal/gemm"
)

type benchShape struct {
	family         string
	m, n, k        int
	transA, transB bool
	note           string
}

// LeNet-5-style training shapes (28×28 input, conv 5×5: 6 and 12 maps, fc
// 192→120→10, batch 64), named m×n×k with N/T for op(A), op(B).
var benchShapes = []benchShape{
	{"square", 64, 64, 64, false, false, ""},
	{"square", 256, 256, 256, false, false, ""},
	{"square", 256, 256, 256, true, true, ""},
	{"square", 1024, 1024, 1024, false, false, ""},
	// conv1 forward: Y[6×576] = W[6×25]·col[25×576]
	{"lenet", 6, 576, 25, false, false, "conv1 fwd W·col"},
	// conv1 forward, pixel-major: Y[576×6] = col[576×25]·Wᵀ, or colᵀ·Wᵀ
	{"lenet", 576, 6, 25, false, true, "conv1 fwd col·Wᵀ"},
	{"lenet", 576, 6, 25, true, true, "conv1 fwd colᵀ·Wᵀ"},
	// conv1 backward: dW[6×25] = dY[6×576]·colᵀ, dcol[25×576] = Wᵀ·dY
	{"lenet", 6, 25, 576, false, true, "conv1 dW = dY·colᵀ"},
	{"lenet", 25, 576, 6, true, false, "conv1 dcol = Wᵀ·dY"},
	// conv2 forward/backward: W2[12×150], col2[150×64]
	{"lenet", 12, 64, 150, false, false, "conv2 fwd"},
	{"lenet", 12, 150, 64, false, true, "conv2 dW"},
	{"lenet", 150, 64, 12, true, false, "conv2 dcol"},
	// fc1 192→120 over a batch of 64: W1[120×192]
	{"lenet", 64, 120, 192, false, true, "fc1 fwd X·Wᵀ"},
	{"lenet", 64, 120, 192, false, false, "fc1 fwd X·W (W stored k×n)"},
	{"lenet", 64, 192, 120, false, false, "fc1 dX = dY·W"},
	{"lenet", 120, 192, 64, true, false, "fc1 dW = dYᵀ·X"},
	// fc2 120→10
	{"lenet", 64, 10, 120, false, true, "fc2 fwd"},
}

func tr(t bool) string {
	if t {
		return "T"
	}
	return "N"
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		for _, w := range []int{1, 2} {
			name := fmt.Sprintf("%s/%dx%dx%d_%s%s/w%d", s.family, s.m, s.n, s.k, tr(s.transA), tr(s.transB), w)
			b.Run(name, func(b *testing.B) {
				if s.m*s.n*s.k > 1<<27 && testing.Short() {
					b.Skip("large; skipped with -short")
				}
				rng := rand.New(rand.NewPCG(1, 1))
				p := problem{s.transA, s.transB, s.m, s.n, s.k, 1, 0}
				a, bm, c := p.operands(rng)
				b.ResetTimer()
				for b.Loop() {
					gemm.SgemmParallel(w, s.transA, s.transB, s.m, s.n, s.k, 1, a.data, a.ld, bm.data, bm.ld, 0, c.data, c.ld)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// vggShapes are the GEMMs of one VGG-11 (width 1, CIFAR) conv layer per
// feature-map size in training, as the engine calls them (micro-batch of
// one sample where a sample's im2col exceeds 256 KiB): forward W·col,
// weight gradient dY·colᵀ, input gradient Wᵀ·dY.
var vggShapes = []benchShape{
	{"vgg", 64, 2048, 27, false, false, "conv1 fwd (2 samples)"},
	{"vgg", 128, 256, 576, false, false, "conv2 fwd 16×16"},
	{"vgg", 128, 576, 256, false, true, "conv2 dW"},
	{"vgg", 576, 256, 128, true, false, "conv2 dcol"},
	{"vgg", 256, 64, 2304, false, false, "conv4 fwd 8×8"},
	{"vgg", 256, 2304, 64, false, true, "conv4 dW"},
	{"vgg", 2304, 64, 256, true, false, "conv4 dcol"},
	{"vgg", 512, 16, 4608, false, false, "conv6 fwd 4×4"},
}

// BenchmarkKernels runs the VGG shapes and a square one on every kernel
// this machine has, one worker.
func BenchmarkKernels(b *testing.B) {
	shapes := append([]benchShape{{"square", 256, 256, 256, false, false, ""}}, vggShapes...)
	for _, kname := range gemm.Kernels() {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%s/%dx%dx%d_%s%s", kname, s.family, s.m, s.n, s.k, tr(s.transA), tr(s.transB)), func(b *testing.B) {
				defer gemm.UseKernel(kname)()
				rng := rand.New(rand.NewPCG(1, 1))
				p := problem{s.transA, s.transB, s.m, s.n, s.k, 1, 0}
				a, bm, c := p.operands(rng)
				b.ResetTimer()
				for b.Loop() {
					gemm.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a.data, a.ld, bm.data, bm.ld, 0, c.data, c.ld)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
