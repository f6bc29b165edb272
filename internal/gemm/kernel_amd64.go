//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// kernelAVX2 is the AVX2/FMA 6×16 micro-kernel in kernel_amd64.s; see
// kernelGo for the contract.
//
//go:noescape
func kernelAVX2(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		defaultKernel = kernelAVX2
		defaultKernelName = "avx2"
		kern = defaultKernel
	}
}
