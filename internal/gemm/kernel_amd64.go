//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// kernelAVX2 is the AVX2/FMA 6×16 micro-kernel in kernel_amd64.s; see
// kernelGo for the contract.
//
//go:noescape
func kernelAVX2(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// transpose8AVX2 is in kernel_amd64.s: for q < 8·nblk, j < 8 it sets
// d[q*nr+j] = b[j*csb+q]. nblk ≥ 1.
//
//go:noescape
func transpose8AVX2(d *float32, b *float32, csb int, nblk int)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		defaultKernel = kernelAVX2
		defaultKernelName = "avx2"
		kern = defaultKernel
		defaultTranspose8 = transpose8AVX2
		transpose8 = defaultTranspose8
	}
}
