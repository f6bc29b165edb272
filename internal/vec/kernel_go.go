package vec

import "unsafe"

// addGo is the pure-Go add: dst[i] += src[i] for i < n. It is the fallback
// everywhere the assembly does not run (on amd64 without AVX,
// kernel_amd64.s jumps here), and the assembly is tested against it.
func addGo(dst, src *float32, n int) {
	d, s := unsafe.Slice(dst, n), unsafe.Slice(src, n)
	for i, v := range s {
		d[i] += v
	}
}
