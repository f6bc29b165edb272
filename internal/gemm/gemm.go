package gemm

import (
	"fmt"
	"sync"
	"unsafe"
)

// Cache-blocking parameters (in elements). A kc×nr panel of B (16 KiB) stays
// in L1 while the micro-kernel sweeps an mc×kc block of packed A (~120 KiB,
// L2); a kc×nc block of packed B (2 MiB) is shared by all row blocks.
const (
	kc = 256
	mc = 120 // multiple of mr
	nc = 2048
)

// Packing policy (tests force the two extremes to cover every code path).
const (
	packAuto = iota
	packAlways
	packNever
)

var packPolicy = packAuto

// minFlopsPerWorker is the least work (2·m·n·k) SgemmParallel hands to a
// goroutine.
const minFlopsPerWorker = 1 << 20

type workspace struct {
	ap []float32        // packed A block
	bp []float32        // packed B block
	ae [mr * kc]float32 // packed edge panel of A when A is used in place
	be [kc * nr]float32 // packed edge panel of B when B is used in place
	ct [mr * nr]float32 // scratch tile for partial micro-tiles
}

var pool = sync.Pool{New: func() any { return new(workspace) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb and
// ldc are the row strides of A, B and C as stored. With beta = 0, C is
// overwritten (its old values, even NaN, are ignored).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !prepare(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	rsA, csA, rsB, csB := strides(transA, transB, lda, ldb)
	ws := pool.Get().(*workspace)
	block(ws, rsA, csA, rsB, csB, m, n, k, alpha, &a[0], &b[0], beta, &c[0], ldc)
	pool.Put(ws)
}

// SgemmParallel is Sgemm spread over up to workers goroutines. C is cut into
// disjoint blocks along micro-tile boundaries and every element is computed
// by exactly one goroutine with the same operations as Sgemm, so the result
// is bit-identical to Sgemm for any workers. workers ≤ 1 runs Sgemm.
func SgemmParallel(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if workers <= 1 {
		Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if !prepare(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	rsA, csA, rsB, csB := strides(transA, transB, lda, ldb)
	tm, tn := (m+mr-1)/mr, (n+nr-1)/nr
	// A goroutine hand-off costs microseconds; give each worker ≥ 1 MFLOP.
	workers = min(workers, tm*tn, max(1, 2*m*n*k/minFlopsPerWorker))
	wm, wn := grid(workers, tm, tn)
	if wm*wn <= 1 {
		ws := pool.Get().(*workspace)
		block(ws, rsA, csA, rsB, csB, m, n, k, alpha, &a[0], &b[0], beta, &c[0], ldc)
		pool.Put(ws)
		return
	}
	var wg sync.WaitGroup
	var first func() // run by the calling goroutine
	for bi := 0; bi < wm; bi++ {
		i0, i1 := tm*bi/wm*mr, min(m, tm*(bi+1)/wm*mr)
		for bj := 0; bj < wn; bj++ {
			j0, j1 := tn*bj/wn*nr, min(n, tn*(bj+1)/wn*nr)
			if i0 >= i1 || j0 >= j1 {
				continue
			}
			pa, pb, pc := at(&a[0], i0*rsA), at(&b[0], j0*csB), at(&c[0], i0*ldc+j0)
			f := func() {
				ws := pool.Get().(*workspace)
				block(ws, rsA, csA, rsB, csB, i1-i0, j1-j0, k, alpha, pa, pb, beta, pc, ldc)
				pool.Put(ws)
			}
			if first == nil {
				first = f
			} else {
				wg.Go(f)
			}
		}
	}
	first()
	wg.Wait()
}

// grid picks wm×wn ≤ workers blocks over a tm×tn grid of micro-tiles,
// minimising the tiles of the largest block (ties: fewer blocks, then more
// splitting along n, which keeps each block's B panel small).
func grid(workers, tm, tn int) (wm, wn int) {
	best := -1
	for i := 1; i <= workers && i <= tm; i++ {
		j := min(workers/i, tn)
		cost := ((tm + i - 1) / i) * ((tn + j - 1) / j)
		if best < 0 || cost < best || (cost == best && i*j < wm*wn) {
			best, wm, wn = cost, i, j
		}
	}
	return wm, wn
}

func strides(transA, transB bool, lda, ldb int) (rsA, csA, rsB, csB int) {
	rsA, csA = lda, 1
	if transA {
		rsA, csA = 1, lda
	}
	rsB, csB = ldb, 1
	if transB {
		rsB, csB = 1, ldb
	}
	return
}

// prepare validates the arguments (the kernels do no bounds checks) and
// handles the degenerate cases. It reports whether a product remains to be
// computed.
func prepare(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("A", a, ar, ac, lda)
	checkMat("B", b, br, bc, ldb)
	checkMat("C", c, m, n, ldc)
	if m == 0 || n == 0 {
		return false
	}
	if k == 0 || alpha == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else if beta != 1 {
				for j := range row {
					row[j] *= beta
				}
			}
		}
		return false
	}
	return true
}

func checkMat(name string, x []float32, rows, cols, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s=%d < %d", name, ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: len(%s)=%d < %d for %d×%d with stride %d", name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// block runs the blocked algorithm on one m×n block of C (m, n, k ≥ 1):
// A(i,p) at a[i*rsA+p*csA], B(p,j) at b[p*rsB+j*csB], C(i,j) at c[i*ldc+j].
//
// Every element of C is produced by the micro-kernel, one call per kc-slice
// of k (beta for the first slice, 1 after), whatever the blocking, packing or
// position of its tile; that is what makes SgemmParallel bit-identical.
func block(ws *workspace, rsA, csA, rsB, csB, m, n, k int, alpha float32, a, b *float32, beta float32, c *float32, ldc int) {
	kern, pair := kern, pair
	// B can be read in place when its rows are contiguous, and A always (the
	// kernel takes both of A's strides). On current x86 cores in-place reads
	// are as fast as packed panels while the operands sit in L2, and
	// skipping the packing pass is what makes small and skinny products fast.
	// Packing wins once an operand outgrows L2 and its long stride starts to
	// cost cache-set conflicts and TLB misses — and it must be amortised over
	// enough tiles of the other operand.
	doPackB := csB != 1 || (m > 4*mr && (k*n > 1<<18 || rsB%256 == 0))
	doPackA := n > 4*nr && m > mr && m*k > 1<<18
	switch packPolicy {
	case packAlways:
		doPackA, doPackB = true, true
	case packNever:
		doPackA, doPackB = false, csB != 1
	}
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			betaEff := beta
			if pc > 0 {
				betaEff = 1
			}
			if doPackB {
				ws.bp = grow(ws.bp, (nb+nr-1)/nr*nr*kb)
				packB(ws.bp, at(b, pc*rsB+jc*csB), rsB, csB, kb, nb)
			}
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				aBlk := at(a, ic*rsA+pc*csA)
				if doPackA {
					ws.ap = grow(ws.ap, (mb+mr-1)/mr*mr*kb)
					packA(ws.ap, aBlk, rsA, csA, mb, kb)
				} else if mb%mr != 0 {
					ir := mb - mb%mr
					packA(ws.ae[:], at(aBlk, ir*rsA), rsA, csA, mb-ir, kb)
				}
				for jr := 0; jr < nb; jr += nr {
					nw := min(nr, nb-jr)
					var bp *float32
					rsb := nr
					switch {
					case doPackB:
						bp = &ws.bp[jr*kb]
					case nw == nr:
						bp, rsb = at(b, pc*rsB+jc+jr), rsB
					default:
						packB(ws.be[:], at(b, pc*rsB+jc+jr), rsB, csB, kb, nw)
						bp = &ws.be[0]
					}
					cp := at(c, ic*ldc+jc+jr)
					for ir := 0; ir < mb; ir += mr {
						mw := min(mr, mb-ir)
						var ap *float32
						rsa, csa := 1, mr
						switch {
						case doPackA:
							ap = &ws.ap[ir*kb]
						case mw == mr:
							ap, rsa, csa = at(aBlk, ir*rsA), rsA, csA
						default:
							ap = &ws.ae[0]
						}
						ct := at(cp, ir*ldc)
						if pair != nil && nw == nr && ir+2*mr <= mb {
							// Two full tiles; the second's A panel is
							// the next packed panel or the next mr rows.
							ap1 := at(aBlk, (ir+mr)*rsA)
							if doPackA {
								ap1 = &ws.ap[(ir+mr)*kb]
							}
							pair(kb, ap, ap1, rsa, csa, bp, rsb, ct, ldc, alpha, betaEff)
							ir += mr
							continue
						}
						if mw == mr && nw == nr {
							kern(kb, ap, rsa, csa, bp, rsb, ct, ldc, alpha, betaEff)
							continue
						}
						// Partial tile: run the same kernel on a scratch tile.
						t := &ws.ct
						if betaEff != 0 {
							for i := 0; i < mw; i++ {
								copy(t[i*nr:i*nr+nw], unsafe.Slice(at(ct, i*ldc), nw))
							}
						}
						kern(kb, ap, rsa, csa, bp, rsb, &t[0], nr, alpha, betaEff)
						for i := 0; i < mw; i++ {
							copy(unsafe.Slice(at(ct, i*ldc), nw), t[i*nr:i*nr+nw])
						}
					}
				}
			}
		}
	}
}
