//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// kernelAVX2 is the AVX2/FMA 6×16 micro-kernel in kernel_amd64.s; see
// kernelGo for the contract.
//
//go:noescape
func kernelAVX2(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// kernelAVX512 is the AVX-512 6×16 micro-kernel in kernel_amd64.s: the
// same tile and the same bits as kernelAVX2, one ZMM register per row.
//
//go:noescape
func kernelAVX512(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// kernelAVX512x2 is kernelAVX512 on two vertically adjacent tiles, rows
// 0..5 of A at a0 and 6..11 at a1, C rows 0..11 from c: twelve FMA chains.
//
//go:noescape
func kernelAVX512x2(k int, a0, a1 *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// transpose8AVX2 is in kernel_amd64.s: for q < 8·nblk, j < 8 it sets
// d[q*nr+j] = b[j*csb+q]. nblk ≥ 1.
//
//go:noescape
func transpose8AVX2(d *float32, b *float32, csb int, nblk int)

func init() {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	asm := []namedKernel{{"avx2", kernelAVX2, nil, transpose8AVX2}}
	if cpu.X86.HasAVX512F { // x/sys/cpu also checks that the OS saves ZMM state
		asm = append([]namedKernel{{"avx512", kernelAVX512, kernelAVX512x2, transpose8AVX2}}, asm...)
	}
	kernels = append(asm, kernels...)
	if i := overrideIndex(); i > 0 {
		kernels[0], kernels[i] = kernels[i], kernels[0]
	}
	defaultKernel, defaultKernelName = kernels[0].kernel, kernels[0].name
	defaultPair, defaultTranspose8 = kernels[0].pair, kernels[0].transpose8
	kern, pair, transpose8 = defaultKernel, defaultPair, defaultTranspose8
}
