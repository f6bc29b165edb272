package normalize

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 3, 10, 101, 1000} {
		for trial := 0; trial < 20; trial++ {
			v := make([]float32, n)
			for i := range v {
				// Many ties and zeros, like post-ReLU activations.
				if r.IntN(3) == 0 {
					v[i] = 0
				} else {
					v[i] = float32(r.IntN(20)) / 4
				}
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			k := r.IntN(n)
			if got := selectK(slices.Clone(v), k); got != sorted[k] {
				t.Fatalf("n=%d k=%d: selectK = %v, sorted[k] = %v", n, k, got, sorted[k])
			}
		}
	}
}

func TestSamplerPercentile(t *testing.T) {
	cases := []struct {
		name string
		max  int
		n    int
		p    float64
		want float64
	}{
		{"exact median", 1000, 100, 50, 49},
		{"exact max", 1000, 100, 100, 99},
		{"exact 99", 1000, 100, 99, 98},
		// 1000 values through a buffer of 64: stride grows to 16, keeping
		// 0, 16, …, 992 (63 values); nearest rank ⌈0.5·63⌉ = 32 → 496.
		{"strided", 64, 1000, 50, 496},
	}
	for _, tc := range cases {
		s := &sampler{max: tc.max}
		v := make([]float32, tc.n)
		for i := range v {
			v[i] = float32(i)
		}
		// Feed in uneven chunks: the result must not depend on batching.
		s.add(v[:7])
		s.add(v[7:])
		if got := s.percentile(tc.p); got != tc.want {
			t.Errorf("%s: percentile = %v, want %v (kept %d, stride %d)", tc.name, got, tc.want, len(s.vals), s.stride)
		}
		if s.seen != tc.n {
			t.Errorf("%s: seen %d, want %d", tc.name, s.seen, tc.n)
		}
	}
}
