package nn

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/gemm"
)

// gemmKey names the GEMM kernel this build and CPU run: the digests below
// depend on it (FMA and blocking change the rounding), and only on it.
func gemmKey() string {
	switch {
	case os.Getenv(gemm.KernelEnv) != "":
		return "override"
	case puregoBuild || runtime.GOARCH != "amd64" || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA:
		return "go/" + runtime.GOARCH
	case cpu.X86.HasAVX512F:
		return "avx512"
	}
	return "avx2"
}

// chainDigest trains a chain model for two steps and returns an FNV-64a
// hash of the bits of its outputs, the input gradient, every parameter
// gradient and the final parameters, in train and eval mode.
func chainDigest(t *testing.T, m *graph.Model, n, workers int) uint64 {
	t.Helper()
	net, err := New(m, workers)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.inputGrad = true
	net.SetSeed(3)
	h := fnv.New64a()
	put := func(v []float32) {
		var b [4]byte
		for _, f := range v {
			u := math.Float32bits(f)
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
			h.Write(b[:])
		}
	}
	rng := rand.New(rand.NewPCG(21, 22))
	x := randVec(rng, n*net.InSize(), 1)
	r := randVec(rng, n*net.OutSize(), 1)
	opt := &SGD{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}
	for step := 0; step < 2; step++ {
		net.ZeroGrad()
		put(net.Forward(x, n, true))
		net.Backward(r)
		put(net.dInput)
		for _, p := range net.Params() {
			put(p.Grad)
		}
		opt.Step(net)
	}
	put(net.Predict(x, n))
	for _, p := range net.Params() {
		put(p.Data)
	}
	return h.Sum64()
}

// TestChainBitIdentical pins the outputs and gradients of chain models to
// the values computed before the layer IR became a DAG: the DAG machinery
// must not change a single bit for chains.
func TestChainBitIdentical(t *testing.T) {
	cases := []struct {
		name    string
		in      []int
		width   float64
		n       int
		workers int
		want    map[string]uint64 // by gemmKey, recorded before the DAG change
	}{
		{"lenet5", []int{1, 28, 28}, 1, 5, 2, map[string]uint64{"avx512": 0x182cec0fb3960216, "go/amd64": 0x7687da81c5f2b7c}},
		{"mobilenet-v1", []int{3, 32, 32}, 0.25, 3, 2, map[string]uint64{"avx512": 0x99158efc0d0fe0c6, "go/amd64": 0x74d738c5765dc247}},
		{"vgg11", []int{3, 32, 32}, 0.125, 3, 1, map[string]uint64{"avx512": 0x420b71fa9616024, "go/amd64": 0x4cd96a7c817cf9db}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Zoo(c.name, c.in, 10, c.width)
			if err != nil {
				t.Fatal(err)
			}
			Init(m, 5)
			got := chainDigest(t, m, c.n, c.workers)
			want, ok := c.want[gemmKey()]
			if !ok {
				t.Skipf("no digest recorded for GEMM kernel %s (got %#x)", gemmKey(), got)
			}
			if got != want {
				t.Errorf("digest %#x, want %#x (GEMM kernel %s)", got, want, gemmKey())
			}
		})
	}
}
