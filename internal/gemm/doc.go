// Package gemm multiplies float32 matrices: the one kernel that the CNN
// engine's convolutions (via im2col) and linear layers run on.
//
// # Layout
//
// All matrices are row-major with an explicit row stride, BLAS-style:
// element (i, j) of a stored matrix X with stride ldx is x[i*ldx+j], and
// ldx ≥ the number of stored columns. Sgemm computes
//
//	C = alpha·op(A)·op(B) + beta·C,   op(X) = X or Xᵀ,
//
// with op(A) m×k, op(B) k×n and C m×n. transA means A is stored k×m (so
// lda ≥ m); transB means B is stored n×k (ldb ≥ k). With beta = 0 (or -0)
// C is write-only: its old contents, NaN and Inf included, are ignored. With
// alpha = 0 or k = 0, A and B are not read and C becomes beta·C. Slices are
// checked up front ((rows-1)·ld + cols elements) and a bad call panics; the
// assembly does no bounds checks of its own.
//
// # Algorithm
//
// The driver follows the Goto/BLIS scheme: loops over nc-column blocks of
// C, kc-deep slices of k and mc-row blocks, then over mr×nr micro-tiles,
// each computed by a micro-kernel that keeps the whole tile in registers.
// Operands are packed into contiguous micro-panels (A: mr rows, p-major; B:
// nr columns, p-major); the packing routines absorb all four transpose
// combinations, so the micro-kernel only ever sees one layout. Packing is
// skipped where it does not pay: A is read in place (the kernel takes a row
// and a column stride, so either orientation works) unless a panel of A is
// reused by many column tiles, and non-transposed B is read in place (16
// contiguous floats per row) when few row tiles share it. This is what
// makes the skinny im2col shapes of a small CNN (m = 6, k = 25, …) run
// without a packing pass. Partial tiles at the right and bottom edges are
// computed by the same kernel into a scratch tile (with zero-padded panels)
// and copied out. Transposed B is packed with AVX2 8×8 transposes.
// Packing buffers come from a sync.Pool, so steady-state calls do not
// allocate.
//
// # Kernels
//
// On amd64 with AVX2 and FMA (detected at run time with golang.org/x/sys/cpu)
// the micro-kernel is kernelAVX2 in kernel_amd64.s: a 6×16 tile in twelve
// YMM accumulators, two YMM loads of B and six broadcasts of A per step, 12
// VFMADD231PS per step. 6×16 uses 15 of the 16 YMM registers and gives 12
// independent FMA chains, enough to cover FMA latency on two FMA pipes.
// With AVX-512 as well (and an OS that saves ZMM state) kernelAVX512 takes
// over: the same tile with one ZMM register per row, A broadcast from
// memory into each FMA. One tile gives it only six chains, so where two
// full tiles lie one above the other the driver calls kernelAVX512x2,
// which computes both (twelve chains). Both perform per element exactly
// kernelAVX2's rounded operations, so all three give identical bits (a
// test checks it); they are 1.3–1.5× faster than AVX2 on a Zen 5 core
// (docs/benchmarks.md). Everywhere else — other architectures, CPUs
// without AVX2/FMA, and any build with -tags purego — the portable
// kernelGo (2×4 register blocks of plain Go) does the same job; the
// assembly files carry //go:build amd64 && !purego. The environment
// variable QUARTZ_GEMM_KERNEL (avx512, avx2, go) picks a slower kernel,
// for benchmarks.
//
// # Determinism
//
// Every element of C is produced by the micro-kernel: a sequential sum over
// each kc-slice of k, starting from zero, then alpha·sum + beta·C (beta
// replaced by 1 after the first slice). That sequence does not depend on
// where the element's tile lies, whether operands were packed, or how C was
// split, so SgemmParallel — which cuts C into disjoint blocks on micro-tile
// boundaries, one goroutine each — returns exactly the bits Sgemm returns,
// for any worker count. Results do differ (by rounding only) between the
// assembly and pure-Go kernels: the assembly rounds each multiply-add once
// (FMA), while whether Go's a*b+c is fused depends on the compiler and
// target.
package gemm
