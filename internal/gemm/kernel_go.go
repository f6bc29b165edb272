package gemm

import (
	"os"
	"unsafe"
)

// Micro-tile shape shared by every kernel and by the packing routines.
const (
	mr = 6  // rows of C per micro-kernel call
	nr = 16 // columns of C per micro-kernel call
)

// microKernel computes the full mr×nr tile
//
//	C(i,j) = alpha·Σ_p A(i,p)·B(p,j) + beta·C(i,j),  0 ≤ i < mr, 0 ≤ j < nr,
//
// with A(i,p) at a[i*rsa+p*csa], B(p,j) at b[p*rsb+j] and C(i,j) at
// c[i*ldc+j] (all strides in elements). The sum runs over p = 0..k-1 in
// order, one multiply-add per step, starting from zero. When beta is ±0, C is
// only written. k ≥ 1. All mr×nr elements must be addressable: callers route
// partial tiles through a scratch tile.
type microKernel func(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// pairKernel computes two vertically adjacent full tiles at once: rows
// 0..mr-1 of A at a0 and mr..2mr-1 at a1 (same strides), C rows 0..2mr-1
// from c. Per element it performs exactly microKernel's operations; it
// exists for kernels that need more independent accumulators than one
// tile has.
type pairKernel func(k int, a0, a1 *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// namedKernel is a micro-kernel with its optional pair form and the
// packing transpose it goes with.
type namedKernel struct {
	name       string
	kernel     microKernel
	pair       pairKernel // nil: the driver calls kernel per tile
	transpose8 func(d *float32, b *float32, csb int, nblk int)
}

// kernels lists the micro-kernels this CPU and build can run, the default
// first; kernelGo is always there, last. kernel_amd64.go adds the
// assembly kernels.
var kernels = []namedKernel{{"go", kernelGo, nil, nil}}

var (
	// defaultKernel is the fastest kernel this CPU and build support;
	// kernel_amd64.go replaces it with an assembly kernel when available.
	defaultKernel     microKernel = kernelGo
	defaultKernelName             = "go"
	// kern is the kernel in use (tests swap it to exercise kernelGo).
	kern = defaultKernel
	// pair is kern's pair form, or nil.
	defaultPair pairKernel
	pair        = defaultPair

	// transpose8, when not nil, packs eight columns of a transposed B eight
	// rows at a time (see transpose8AVX2); nil means use Go loops.
	defaultTranspose8 func(d *float32, b *float32, csb int, nblk int)
	transpose8        = defaultTranspose8
)

// KernelEnv names the environment variable that picks a micro-kernel other
// than the fastest one (avx512, avx2 or go), for benchmarks and for
// checking a result across kernels. Unknown or unavailable names are
// ignored.
const KernelEnv = "QUARTZ_GEMM_KERNEL"

// overrideIndex returns the index in kernels of the kernel KernelEnv
// names, or -1.
func overrideIndex() int {
	name := os.Getenv(KernelEnv)
	for i, k := range kernels {
		if name != "" && k.name == name {
			return i
		}
	}
	return -1
}

func at(p *float32, i int) *float32 {
	return (*float32)(unsafe.Add(unsafe.Pointer(p), uintptr(i)*4))
}

// kernelGo is the portable micro-kernel. It works on 2×4 sub-blocks so the
// accumulators stay in registers; per element it performs exactly the
// sequence of operations described on microKernel.
func kernelGo(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	betaZero := beta == 0
	for i := 0; i < mr; i += 2 {
		a0 := at(a, i*rsa)
		a1 := at(a, (i+1)*rsa)
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			pb := at(b, j)
			// Offsets, not advancing pointers: a pointer one step past the
			// operand would be invalid (checkptr rejects it).
			for p := 0; p < k; p++ {
				bb := (*[4]float32)(unsafe.Pointer(at(pb, p*rsb)))
				x0, x1 := *at(a0, p*csa), *at(a1, p*csa)
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				c00 += x0 * b0
				c01 += x0 * b1
				c02 += x0 * b2
				c03 += x0 * b3
				c10 += x1 * b0
				c11 += x1 * b1
				c12 += x1 * b2
				c13 += x1 * b3
			}
			r0 := (*[4]float32)(unsafe.Pointer(at(c, i*ldc+j)))
			r1 := (*[4]float32)(unsafe.Pointer(at(c, (i+1)*ldc+j)))
			if betaZero {
				r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
				r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
			} else {
				r0[0] = alpha*c00 + beta*r0[0]
				r0[1] = alpha*c01 + beta*r0[1]
				r0[2] = alpha*c02 + beta*r0[2]
				r0[3] = alpha*c03 + beta*r0[3]
				r1[0] = alpha*c10 + beta*r1[0]
				r1[1] = alpha*c11 + beta*r1[1]
				r1[2] = alpha*c12 + beta*r1[2]
				r1[3] = alpha*c13 + beta*r1[3]
			}
		}
	}
}
