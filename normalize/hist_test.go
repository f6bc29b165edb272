package normalize

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactPercentile is the nearest-rank percentile of all of v, by sorting.
func exactPercentile(v []float32, p float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	r = min(max(r, 1), len(s))
	return float64(s[r-1])
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

// adversarial value sets: many zeros, ties, huge dynamic range, negative
// values (raw logits), a constant, few values.
func adversarial(r *rand.Rand) map[string][]float32 {
	sets := map[string][]float32{}
	gen := func(name string, n int, f func(i int) float32) {
		v := make([]float32, n)
		for i := range v {
			v[i] = f(i)
		}
		sets[name] = v
	}
	gen("relu", 100000, func(int) float32 {
		if r.IntN(10) < 6 {
			return 0
		}
		return float32(r.ExpFloat64())
	})
	gen("mostly zeros", 100000, func(int) float32 {
		if r.IntN(1000) != 0 {
			return 0
		}
		return r.Float32() * 3
	})
	gen("ties", 50000, func(int) float32 { return float32(r.IntN(20)) / 4 })
	gen("relu6 ties at the top", 50000, func(int) float32 { return min(6, float32(r.ExpFloat64()*3)) })
	gen("huge range", 100000, func(int) float32 {
		return float32(math.Pow(2, 240*r.Float64()-120)) * float32(1-2*r.IntN(2))
	})
	gen("logits", 60000, func(int) float32 { return float32(r.NormFloat64()*4 - 3) })
	gen("all negative", 20000, func(int) float32 { return -float32(r.ExpFloat64()) - 1e-3 })
	gen("constant", 1000, func(int) float32 { return 0.7 })
	gen("one", 1, func(int) float32 { return 2.5 })
	gen("three", 3, func(i int) float32 { return []float32{-1, 0, 1e-30}[i] })
	return sets
}

var testPercentiles = []float64{0.001, 1, 10, 50, 60, 90, 97, 99, 99.5, 99.9, 99.99, 99.999, 100}

// TestHistVsExact: the histogram percentiles are within 2^-11 (layer) and
// 2^-6 (channel) of the exact nearest-rank percentile of all values, exact
// at 0, at the maximum and for a bin of equal values; fractionAbove is
// within the count of the bin that holds the scale.
func TestHistVsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for name, v := range adversarial(r) {
		h := newHist()
		c := makeHist(chanBits)
		h.add(v[:len(v)/3])
		h.add(v[len(v)/3:])
		c.add(v)
		for _, p := range testPercentiles {
			want := exactPercentile(v, p)
			got := h.percentile(p, true)
			if got < want {
				t.Errorf("%s p %v: layer histogram %v below the exact %v", name, p, got, want)
			}
			if e := relErr(got, want); e > 1.0/2048 {
				t.Errorf("%s p %v: layer histogram %v, exact %v (relative error %.3g)", name, p, got, want, e)
			}
			cp := c.percentile(p, false)
			if e := relErr(cp, want); e > 1.0/64 {
				t.Errorf("%s p %v: channel histogram %v, exact %v (relative error %.3g)", name, p, cp, want, e)
			}
			if p == 100 && (got != want || cp != want) {
				t.Errorf("%s: maximum %v / %v, want %v exactly", name, got, cp, want)
			}
			// fractionAbove at the layer percentile: exact.
			above := 0
			for _, x := range v {
				if float64(x) > got {
					above++
				}
			}
			if fa := h.fractionAbove(got); fa != float64(above)/float64(len(v)) {
				t.Errorf("%s p %v: fractionAbove %v, exact %v", name, p, fa, float64(above)/float64(len(v)))
			}
		}
		if fa := h.fractionAbove(float64(slices.Max(v))); fa != 0 {
			t.Errorf("%s: fraction above the maximum %v, want 0", name, fa)
		}
	}
}

// TestHistDeterministic: any split and order of the same values gives the
// same histogram, bit for bit.
func TestHistDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for name, v := range adversarial(r) {
		a, ca := newHist(), makeHist(chanBits)
		a.add(v)
		ca.add(v)
		w := slices.Clone(v)
		r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
		b, cb := newHist(), makeHist(chanBits)
		for lo := 0; lo < len(w); {
			hi := min(len(w), lo+1+r.IntN(5000))
			b.add(w[lo:hi])
			cb.add(w[lo:hi])
			lo = hi
		}
		if !slices.Equal(a.pos.counts, b.pos.counts) || !slices.Equal(a.neg.counts, b.neg.counts) || a.zeros != b.zeros || a.n != b.n || a.mn != b.mn || a.mx != b.mx {
			t.Errorf("%s: layer histograms differ with another split and order", name)
		}
		for _, p := range testPercentiles {
			if a.percentile(p, true) != b.percentile(p, true) || ca.percentile(p, false) != cb.percentile(p, false) {
				t.Errorf("%s p %v: percentiles differ with another split and order", name, p)
			}
		}
	}
}

// TestHistSpecial: NaNs rank above everything, ±Inf and -0 are placed
// correctly.
func TestHistSpecial(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	v := []float32{1, 2, float32(math.Copysign(0, -1)), 3, nan, inf}
	h := newHist()
	h.add(v)
	if h.zeros != 1 || h.nans != 1 || h.mx != inf || h.mn != 0 {
		t.Fatalf("zeros %d nans %d max %v min %v", h.zeros, h.nans, h.mx, h.mn)
	}
	if got := h.percentile(100, true); !math.IsNaN(got) {
		t.Errorf("p 100 with a NaN: %v, want NaN", got)
	}
	if got := h.percentile(5.0/6*100, true); !math.IsInf(got, 1) {
		t.Errorf("rank 5 of 6: %v, want +Inf", got)
	}
	if got := h.percentile(1, true); got != 0 {
		t.Errorf("rank 1: %v, want 0", got)
	}
}

func TestKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 100000 {
		a := math.Float32frombits(r.Uint32())
		b := math.Float32frombits(r.Uint32())
		if a != a || b != b || a == 0 || b == 0 {
			continue
		}
		if (a < b) != (key(a) < key(b)) {
			t.Fatalf("key order: %v < %v is %v, keys %x %x", a, b, a < b, key(a), key(b))
		}
		if unkey(key(a)) != a {
			t.Fatalf("unkey(key(%v)) = %v", a, unkey(key(a)))
		}
	}
}

func BenchmarkHistAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, 1<<20)
	for i := range v {
		if r.IntN(2) == 0 {
			v[i] = float32(r.ExpFloat64())
		}
	}
	b.Run("layer", func(b *testing.B) {
		h := newHist()
		b.SetBytes(4 * int64(len(v)))
		for b.Loop() {
			h.add(v)
		}
		b.ReportMetric(float64(b.N)*float64(len(v))/b.Elapsed().Seconds()/1e6, "Mvalues/s")
	})
	b.Run("layer+channels", func(b *testing.B) {
		h := newHist()
		cs := make([]hist, 64)
		for i := range cs {
			cs[i] = makeHist(chanBits)
		}
		b.SetBytes(4 * int64(len(v)))
		for b.Loop() {
			addChannels(h, cs, 1024, v)
		}
		b.ReportMetric(float64(b.N)*float64(len(v))/b.Elapsed().Seconds()/1e6, "Mvalues/s")
	})
}
