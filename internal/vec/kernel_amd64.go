//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// hasAVX reports whether the AVX kernels run: the CPU and OS support AVX.
// (Also read by kernel_amd64.s; tests clear it to run the fallbacks.)
var hasAVX = cpu.X86.HasAVX

// add is in kernel_amd64.s: for i < n it sets dst[i] += src[i]. With hasAVX
// it runs the AVX loop; otherwise it jumps to addGo. n ≥ 0.
//
//go:noescape
func add(dst, src *float32, n int)

// integrateAVX is in kernel_amd64.s: Integrate's loop over whole blocks of
// 8 channels (n ≥ 8 from the pointers on). It stops before the first block
// holding a new crossing, or when fewer than 8 channels are left, and
// returns the number of channels done (a multiple of 8). Only with hasAVX.
//
//go:noescape
func integrateAVX(u, cur, row *float32, e *int32, n int, dt, theta float32) int
