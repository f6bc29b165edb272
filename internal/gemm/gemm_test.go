package gemm_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/quartz-snn/quartz/internal/gemm"
	"golang.org/x/sys/cpu"
)

// naive is the oracle: the textbook triple loop, accumulated in float64. It
// also returns, per element, the magnitude scale
// |alpha|·Σ_p |op(A)(i,p)|·|op(B)(p,j)| + |beta|·|C(i,j)| used by the
// tolerance.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			w := float64(alpha) * s
			sc := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				cv := float64(c[i*ldc+j])
				w += float64(beta) * cv
				sc += math.Abs(float64(beta) * cv)
			}
			want[i*n+j], scale[i*n+j] = w, sc
		}
	}
	return want, scale
}

// tolerance for one element. A float32 dot product of length k, summed in
// any order, has |error| ≤ γ_k·Σ|a_p·b_p| with γ_k ≈ k·u, u = 2⁻²⁴ ≈ 6e-8
// (Higham, Accuracy and Stability, §3.1); scaling by alpha, adding beta·C and
// the final rounding cost about two more units. We allow 1e-6·(k+2)·scale —
// about 16× the worst-case bound, yet far below the O(|a||b|) error of a
// wrong, missing or duplicated term — plus a tiny absolute floor for
// results that cancel to ~0.
func tolerance(k int, scale float64) float64 {
	return 1e-6*float64(k+2)*scale + 1e-30
}

type mat struct {
	data []float32
	ld   int
}

const sentinel = float32(-12345.5)

// newMat returns a rows×cols matrix with stride cols+pad filled with values
// in [-1, 1); the padding holds a sentinel.
func newMat(rng *rand.Rand, rows, cols, pad int) mat {
	ld := cols + pad
	x := make([]float32, max(0, (rows-1)*ld+cols))
	for i := range x {
		if i%ld < cols {
			x[i] = float32(rng.Float64()*2 - 1)
		} else {
			x[i] = sentinel
		}
	}
	return mat{x, ld}
}

type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
}

func (p problem) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%g,beta=%g", p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta)
}

func (p problem) operands(rng *rand.Rand) (a, b, c mat) {
	if p.transA {
		a = newMat(rng, p.k, p.m, 3)
	} else {
		a = newMat(rng, p.m, p.k, 3)
	}
	if p.transB {
		b = newMat(rng, p.n, p.k, 5)
	} else {
		b = newMat(rng, p.k, p.n, 5)
	}
	c = newMat(rng, p.m, p.n, 2)
	return
}

var (
	sizes = []int{1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 64, 65, 127, 257}
	abs   = [][2]float32{{1, 0}, {2, 0.5}, {-1, 1}}
)

// problems: every (m, n, k) from sizes with at most one dimension ≥ 64, plus
// a handful with several large dimensions; × 4 transposes × 3 (alpha, beta).
func problems(short bool) []problem {
	var dims [][3]int
	for _, m := range sizes {
		for _, n := range sizes {
			for _, k := range sizes {
				big := 0
				for _, d := range []int{m, n, k} {
					if d >= 64 {
						big++
					}
				}
				if big <= 1 && (!short || (m+n+k)%3 == 0) {
					dims = append(dims, [3]int{m, n, k})
				}
			}
		}
	}
	dims = append(dims, [3]int{65, 127, 33}, [3]int{127, 65, 257}, [3]int{64, 64, 64},
		[3]int{257, 17, 300}, [3]int{130, 257, 65}, [3]int{257, 257, 257}, [3]int{5, 2100, 3})
	var ps []problem
	for _, d := range dims {
		for t := 0; t < 4; t++ {
			for _, ab := range abs {
				ps = append(ps, problem{t&1 != 0, t&2 != 0, d[0], d[1], d[2], ab[0], ab[1]})
			}
		}
	}
	return ps
}

type variant struct {
	kernel string
	policy int
}

func variants() []variant {
	var vs []variant
	for _, k := range gemm.Kernels() {
		for _, p := range []int{gemm.PackAuto, gemm.PackAlways, gemm.PackNever} {
			vs = append(vs, variant{k, p})
		}
	}
	return vs
}

func (v variant) set() (restore func()) {
	r1 := gemm.UseKernel(v.kernel)
	r2 := gemm.SetPackPolicy(v.policy)
	return func() { r2(); r1() }
}

func checkResult(t *testing.T, label string, p problem, got mat, want, scale []float64) bool {
	t.Helper()
	for i := 0; i < p.m; i++ {
		for j := 0; j < got.ld; j++ {
			idx := i*got.ld + j
			if idx >= len(got.data) {
				break
			}
			g := got.data[idx]
			if j >= p.n {
				if g != sentinel {
					t.Errorf("%s %v: padding C[%d][%d] overwritten: %v", label, p, i, j, g)
					return false
				}
				continue
			}
			w := want[i*p.n+j]
			if d := math.Abs(float64(g) - w); !(d <= tolerance(p.k, scale[i*p.n+j])) {
				t.Errorf("%s %v: C[%d][%d] = %v, want %v (diff %g, tol %g)", label, p, i, j, g, w, d, tolerance(p.k, scale[i*p.n+j]))
				return false
			}
		}
	}
	return true
}

func TestSgemm(t *testing.T) {
	t.Logf("default kernel: %s", gemm.DefaultKernelName())
	all, some := problems(testing.Short()), problems(true)
	for _, v := range variants() {
		t.Run(fmt.Sprintf("%s/policy%d", v.kernel, v.policy), func(t *testing.T) {
			defer v.set()()
			ps := all
			if v.policy != gemm.PackAuto {
				ps = some // forced policies: a third of the table
			}
			rng := rand.New(rand.NewPCG(1, 2))
			fails := 0
			for _, p := range ps {
				a, b, c := p.operands(rng)
				want, scale := naive(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, c.data, c.ld)
				gemm.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, c.data, c.ld)
				if !checkResult(t, "Sgemm", p, c, want, scale) {
					if fails++; fails > 5 {
						t.Fatal("too many failures")
					}
				}
			}
		})
	}
}

// TestPureGoSelected checks which kernel the build picked, so a build where
// the assembly silently went missing (or leaked into purego) fails.
func TestPureGoSelected(t *testing.T) {
	if v := os.Getenv(gemm.KernelEnv); v != "" {
		t.Skipf("%s=%s picks the kernel", gemm.KernelEnv, v)
	}
	asm := runtime.GOARCH == "amd64" && !puregoBuild && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	want := "go"
	switch {
	case asm && cpu.X86.HasAVX512F:
		want = "avx512"
	case asm:
		want = "avx2"
	}
	if got := gemm.DefaultKernelName(); got != want {
		t.Fatalf("default kernel %q, want %q", got, want)
	}
	if ks := gemm.Kernels(); ks[len(ks)-1] != "go" {
		t.Fatalf("pure-Go kernel not available: %v", ks)
	}
}

// TestAssemblyKernelsAgree: the AVX-512 and AVX2 kernels perform the same
// rounded operations per element, so every problem of the oracle table
// gives identical bits with either (the Go kernel may differ: whether its
// a*b+c fuses is up to the compiler).
func TestAssemblyKernelsAgree(t *testing.T) {
	ks := gemm.Kernels()
	if len(ks) < 3 {
		t.Skipf("kernels here: %v; this compares avx512 with avx2", ks)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, p := range problems(testing.Short()) {
		a, b, c0 := p.operands(rng)
		var ref []float32
		for _, k := range ks[:2] {
			restore := gemm.UseKernel(k)
			got := append([]float32(nil), c0.data...)
			gemm.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, got, c0.ld)
			restore()
			if ref == nil {
				ref = got
				continue
			}
			if i := bitsEqual(got, ref); i >= 0 {
				t.Fatalf("%v: element %d: %s gives %v, %s %v", p, i, k, got[i], ks[0], ref[i])
			}
		}
	}
}

func bitsEqual(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

// TestDeterministic checks that SgemmParallel is bit-identical to Sgemm for
// any number of workers, and that the packing policy does not change a bit
// either (every element goes through the same kernel arithmetic).
func TestDeterministic(t *testing.T) {
	shapes := []problem{
		{false, false, 257, 257, 300, 1, 0},
		{true, false, 130, 33, 513, 2, 0.5},
		{false, true, 6, 576, 25, -1, 1},
		{true, true, 577, 6, 25, 1, 0},
		{false, true, 6, 25, 576, 1, 0},
		{true, false, 25, 576, 6, 1, 1},
		{false, false, 64, 2100, 70, 1, 0},
		{false, false, 1, 1, 1000, 1, 0},
	}
	for _, kname := range gemm.Kernels() {
		restore := gemm.UseKernel(kname)
		rng := rand.New(rand.NewPCG(3, 4))
		for _, p := range shapes {
			a, b, c0 := p.operands(rng)
			ref := append([]float32(nil), c0.data...)
			gemm.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, ref, c0.ld)
			for _, pol := range []int{gemm.PackAlways, gemm.PackNever} {
				r := gemm.SetPackPolicy(pol)
				got := append([]float32(nil), c0.data...)
				gemm.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, got, c0.ld)
				r()
				if i := bitsEqual(got, ref); i >= 0 {
					t.Errorf("%s %v policy %d: element %d differs: %v vs %v", kname, p, pol, i, got[i], ref[i])
				}
			}
			for _, w := range []int{0, 1, 2, 3, 4, 7, 16} {
				got := append([]float32(nil), c0.data...)
				gemm.SgemmParallel(w, p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, got, c0.ld)
				if i := bitsEqual(got, ref); i >= 0 {
					t.Errorf("%s %v workers %d: element %d differs: %v vs %v", kname, p, w, i, got[i], ref[i])
				}
			}
		}
		restore()
	}
}

// TestParallelCorrect runs part of the oracle table through SgemmParallel.
func TestParallelCorrect(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i, p := range problems(true) {
		if i%7 != 0 {
			continue
		}
		a, b, c := p.operands(rng)
		want, scale := naive(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, c.data, c.ld)
		gemm.SgemmParallel(3, p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, c.data, c.ld)
		if !checkResult(t, "SgemmParallel", p, c, want, scale) {
			return
		}
	}
}

// TestBetaZeroIgnoresNaN: with beta = 0, C's old contents (NaN, Inf) must not
// leak into the result — in full tiles, partial tiles, and the alpha = 0 and
// k = 0 shortcuts.
func TestBetaZeroIgnoresNaN(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, v := range variants() {
		restore := v.set()
		for _, d := range [][3]int{{6, 16, 4}, {13, 35, 300}, {1, 1, 1}, {64, 64, 64}} {
			for _, alpha := range []float32{1, 0} {
				for _, k := range []int{d[2], 0} {
					m, n := d[0], d[1]
					rng := rand.New(rand.NewPCG(7, 8))
					a := newMat(rng, m, max(k, 1), 0)
					b := newMat(rng, max(k, 1), n, 0)
					c := make([]float32, m*n)
					for i := range c {
						c[i] = []float32{nan, inf, -inf}[i%3]
					}
					gemm.Sgemm(false, false, m, n, k, alpha, a.data, a.ld, b.data, b.ld, 0, c, n)
					want, _ := naive(false, false, m, n, k, alpha, a.data, a.ld, b.data, b.ld, 0, c, n)
					for i, g := range c {
						if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) || math.Abs(float64(g)-want[i]) > tolerance(k, float64(k)) {
							t.Fatalf("%s policy %d m=%d n=%d k=%d alpha=%v: C[%d] = %v, want %v", v.kernel, v.policy, m, n, k, alpha, i, g, want[i])
						}
					}
					// beta = -0 must behave like 0.
					for i := range c {
						c[i] = nan
					}
					gemm.SgemmParallel(2, false, false, m, n, k, alpha, a.data, a.ld, b.data, b.ld, float32(math.Copysign(0, -1)), c, n)
					for i, g := range c {
						if math.IsNaN(float64(g)) {
							t.Fatalf("beta=-0: C[%d] = NaN", i)
						}
					}
				}
			}
		}
		restore()
	}
}

func TestNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumented build")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, p := range []problem{
		{false, false, 64, 64, 64, 1, 0},
		{true, true, 300, 200, 300, 1, 1},
		{false, false, 6, 576, 25, 1, 0},
		{false, true, 6, 25, 576, 1, 0},
	} {
		a, b, c := p.operands(rng)
		f := func() {
			gemm.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a.data, a.ld, b.data, b.ld, p.beta, c.data, c.ld)
		}
		f()
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%v: %v allocs per call", p, n)
		}
	}
}

func TestPanics(t *testing.T) {
	a := make([]float32, 6)
	cases := []struct {
		name string
		f    func()
	}{
		{"short A", func() { gemm.Sgemm(false, false, 3, 2, 3, 1, a[:8-3], 3, a, 2, 0, a, 2) }},
		{"short C", func() { gemm.Sgemm(false, false, 2, 3, 2, 1, a[:4], 2, a, 3, 0, a[:5], 3) }},
		{"small lda", func() { gemm.Sgemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }},
		{"small ldb trans", func() { gemm.Sgemm(false, true, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }},
		{"negative", func() { gemm.Sgemm(false, false, -1, 2, 3, 1, a, 3, a, 2, 0, a, 2) }},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
	// Empty problems touch nothing.
	gemm.Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	gemm.SgemmParallel(4, true, true, 0, 5, 3, 1, nil, 1, make([]float32, 15), 3, 0, nil, 5)
}
