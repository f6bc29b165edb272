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
		if csA == 1 { // rows of A are contiguous along p
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
			for j := 0; j < nw; j++ {
				src := unsafe.Slice(at(b, (jr+j)*csB), kb)
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
	}
}
