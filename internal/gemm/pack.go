package gemm

import "unsafe"

// packA copies the mb×kb block of op(A) whose top-left element is at a
// (element (i,p) at a[i*rsA+p*csA]) into dst as ⌈mb/mr⌉ consecutive
// micro-panels. Panel q holds rows q·mr … q·mr+mr-1, stored p-major: element
// (i,p) of the panel at dst[q·mr·kb + p·mr + i]. Rows past mb are zero.
func packA(dst []float32, a *float32, rsA, csA, mb, kb int) {
	for ir := 0; ir < mb; ir += mr {
		mw := min(mr, mb-ir)
		d := dst[ir*kb : ir*kb+mr*kb]
		if csA == 1 && mw == mr { // rows of A are contiguous along p
			r0 := unsafe.Slice(at(a, ir*rsA), kb)
			r1 := unsafe.Slice(at(a, (ir+1)*rsA), kb)
			r2 := unsafe.Slice(at(a, (ir+2)*rsA), kb)
			r3 := unsafe.Slice(at(a, (ir+3)*rsA), kb)
			r4 := unsafe.Slice(at(a, (ir+4)*rsA), kb)
			r5 := unsafe.Slice(at(a, (ir+5)*rsA), kb)
			for p := 0; p < kb; p++ {
				q := (*[mr]float32)(d[p*mr : p*mr+mr])
				q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
		} else if csA == 1 {
			for i := 0; i < mw; i++ {
				src := unsafe.Slice(at(a, (ir+i)*rsA), kb)
				for p, v := range src {
					d[p*mr+i] = v
				}
			}
		} else { // rsA == 1: columns of op(A) are contiguous along i
			for p := 0; p < kb; p++ {
				copy(d[p*mr:p*mr+mw], unsafe.Slice(at(a, ir+p*csA), mw))
			}
		}
		if mw < mr {
			for p := 0; p < kb; p++ {
				clear(d[p*mr+mw : p*mr+mr])
			}
		}
	}
}

// packB copies the kb×nb block of op(B) whose top-left element is at b
// (element (p,j) at b[p*rsB+j*csB]) into dst as ⌈nb/nr⌉ consecutive
// micro-panels. Panel q holds columns q·nr … q·nr+nr-1, stored p-major:
// element (p,j) at dst[q·nr·kb + p·nr + j]. Columns past nb are zero.
func packB(dst []float32, b *float32, rsB, csB, kb, nb int) {
	for jr := 0; jr < nb; jr += nr {
		nw := min(nr, nb-jr)
		d := dst[jr*kb : jr*kb+nr*kb]
		if csB == 1 { // rows of op(B) are contiguous along j
			if nw == nr {
				for p := 0; p < kb; p++ {
					copy(d[p*nr:p*nr+nr], unsafe.Slice(at(b, p*rsB+jr), nr))
				}
			} else {
				for p := 0; p < kb; p++ {
					copy(d[p*nr:p*nr+nw], unsafe.Slice(at(b, p*rsB+jr), nw))
					clear(d[p*nr+nw : p*nr+nr])
				}
			}
		} else { // rsB == 1: columns of op(B) are contiguous along p
			packBTrans(d, at(b, jr*csB), csB, kb, nw)
		}
	}
}

// packBTrans packs one nr-column panel (nw ≤ nr columns, the rest zero) of
// a transposed B: column j of op(B) starts at b[j*csB] and is contiguous
// along p. Four columns at a time keeps each step's stores contiguous.
func packBTrans(d []float32, b *float32, csB, kb, nw int) {
	d = d[:kb*nr]
	j := 0
	if tr := transpose8; tr != nil && kb >= 8 && nw >= 8 {
		// Assembly 8×8 transposes for the first nw&^7 columns and the first
		// kb&^7 steps; Go loops for the remaining steps of those columns and
		// (below) for the remaining columns.
		kb8, nw8 := kb&^7, nw&^7
		for j := 0; j < nw8; j += 8 {
			tr(&d[j], at(b, j*csB), csB, kb8/8)
		}
		if kb8 < kb {
			packBTrans(d[kb8*nr:], at(b, kb8), csB, kb-kb8, nw8)
		}
		j = nw8
	}
	for ; j+4 <= nw; j += 4 {
		s0 := unsafe.Slice(at(b, j*csB), kb)
		s1 := unsafe.Slice(at(b, (j+1)*csB), kb)
		s2 := unsafe.Slice(at(b, (j+2)*csB), kb)
		s3 := unsafe.Slice(at(b, (j+3)*csB), kb)
		for p := 0; p < kb; p++ {
			q := (*[4]float32)(d[p*nr+j : p*nr+j+4])
			q[0], q[1], q[2], q[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; j < nw; j++ {
		src := unsafe.Slice(at(b, j*csB), kb)
		for p, v := range src {
			d[p*nr+j] = v
		}
	}
	if nw < nr {
		for p := 0; p < kb; p++ {
			clear(d[p*nr+nw : p*nr+nr])
		}
	}
}
