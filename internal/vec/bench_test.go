package vec_test

import (
	"fmt"
	"testing"

	"github.com/quartz-snn/quartz/internal/vec"
)

// BenchmarkAdd times Add on the row lengths the simulator sees (a layer's
// output channels per group), as built ("Add": AVX where the CPU has it)
// and on the fallback ("noAVX"). Bytes are those read (dst and src).
func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{6, 16, 64, 256} {
		for _, mode := range []string{"Add", "noAVX"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				if mode == "noAVX" {
					defer vec.DisableAVX()()
				}
				dst, src := make([]float32, n), make([]float32, n)
				for i := range src {
					src[i] = float32(i) * 1e-3
				}
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					vec.Add(dst, src)
				}
			})
		}
	}
}

// BenchmarkIntegrate times Integrate on a row with no crossing (the common
// case: the whole row in one call), against the scalar loop.
func BenchmarkIntegrate(b *testing.B) {
	for _, n := range []int{16, 64, 256} {
		for _, im := range []struct {
			name string
			f    func(u, cur, row []float32, e []int32, dt, theta float32) int
		}{{"Integrate", vec.Integrate}, {"scalar", scalarIntegrate}} {
			b.Run(fmt.Sprintf("n=%d/%s", n, im.name), func(b *testing.B) {
				u, cur, row := make([]float32, n), make([]float32, n), make([]float32, n)
				e := make([]int32, n)
				for i := range cur {
					cur[i] = float32(i) * 1e-3
					e[i] = -1
				}
				b.SetBytes(int64(4 * 4 * n))
				for b.Loop() {
					im.f(u, cur, row, e, 1, 1e30)
				}
			})
		}
	}
}
