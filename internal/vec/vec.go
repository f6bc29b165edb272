package vec

import "unsafe"

// Add adds src to dst element-wise: dst[i] += src[i] for i < len(src).
// Elements of dst past len(src) are not touched. It requires
// len(dst) ≥ len(src) and panics otherwise.
//
// Each element is one float32 addition, exactly as the scalar loop, so the
// result does not depend on which implementation runs. (When dst[i] and
// src[i] are both NaN, which NaN's payload survives is unspecified, as it
// is for Go's own + on float32.)
//
// Add is small enough for the compiler to inline (the simulator calls it
// once per arriving spike, on rows of 6 to 512 floats): keep it to the
// check and one call.
func Add(dst, src []float32) {
	n := len(src)
	if len(dst) < n {
		panic("vec.Add: len(dst) < len(src)")
	}
	add(unsafe.SliceData(dst), unsafe.SliceData(src), n)
}

// Integrate is one step of non-leaky integrate-and-fire channels (membrane
// u, current cur) over dt time steps, with new current row arriving at its
// end, up to the first new crossing of the threshold theta. For c = 0, 1, …
// < len(cur), in order, it computes
//
//	un := u[c] + dt·cur[c]   (the product rounded to float32, then the sum: no FMA)
//
// and, if un ≥ theta and e[c] < 0 (a channel not yet marked as crossed), it
// returns c, leaving channel c and all later ones untouched. Otherwise it
// sets u[c] = un, cur[c] += row[c], row[c] = 0 and goes on; it returns
// len(cur) when no channel crosses. The caller handles channel c and calls
// again on the rest. u, row and e must be at least as long as cur (it
// panics otherwise); e is only read.
//
// The results are bit for bit those of the scalar loop, whatever the build.
func Integrate(u, cur, row []float32, e []int32, dt, theta float32) int {
	n := len(cur)
	if len(u) < n || len(row) < n || len(e) < n {
		panic("vec.Integrate: u, row or e shorter than cur")
	}
	u, row, e = u[:n], row[:n], e[:n]
	c := 0
	for {
		end := n
		if hasAVX {
			if n-c >= 8 {
				c += integrateAVX(&u[c], &cur[c], &row[c], &e[c], n-c, dt, theta)
			}
			end = min(c+8, n) // the block with a crossing, or the tail
		}
		for ; c < end; c++ {
			ic := cur[c]
			un := u[c] + float32(dt*ic)
			if un >= theta && e[c] < 0 {
				return c
			}
			u[c] = un
			cur[c] = ic + row[c]
			row[c] = 0
		}
		if c == n {
			return n
		}
	}
}
