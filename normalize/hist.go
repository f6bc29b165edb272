package normalize

import (
	"math"
)

// Activation values are counted in histograms over their float32 bit
// pattern. key maps a float32 to a uint32 whose unsigned order is the
// float order (negative values flipped, positive values with the sign bit
// set), so that a bin, a range of keys, is a range of values. Zeros (±0)
// and NaNs are counted apart.
//
// A histogram keeps, for each binade (sign and exponent: key >> 23) between
// the smallest and the largest seen, 2^bits bins on the top bits of the
// mantissa: a bin of normal floats spans a relative width 2^-bits.
const (
	// layerBits is the resolution of a layer's histogram: its percentile,
	// the upper edge of the bin holding the rank, is within 2^-11
	// (0.049 %) above the exact value.
	layerBits = 11
	// chanBits is the resolution of the per-channel histograms: their
	// percentile, a bin's midpoint, is within 2^-6 (1.6 %) of the exact
	// value.
	chanBits = 5
)

func key(x float32) uint32 {
	b := math.Float32bits(x)
	if b>>31 == 0 {
		return b | 1<<31
	}
	return ^b
}

func unkey(k uint32) float32 {
	if k>>31 == 1 {
		return math.Float32frombits(k &^ (1 << 31))
	}
	return math.Float32frombits(^k)
}

// rank returns the nearest rank ⌈p/100·n⌉ clamped to [1, n].
func rank(p float64, n uint64) uint64 {
	r := uint64(math.Ceil(p / 100 * float64(n)))
	return min(max(r, 1), n)
}

// span is a dense range of binades lo…hi, 2^bits bins each.
type span struct {
	lo, hi int32 // lo > hi when empty
	counts []uint64
}

// grow makes room for binade b.
func (s *span) grow(b int32, bits uint) {
	lo, hi := b, b
	if s.lo <= s.hi {
		lo, hi = min(s.lo, b), max(s.hi, b)
	}
	c := make([]uint64, int(hi-lo+1)<<bits)
	if s.lo <= s.hi {
		copy(c[int(s.lo-lo)<<bits:], s.counts)
	}
	s.lo, s.hi, s.counts = lo, hi, c
}

// hist counts values exactly, so that it does not depend on their order or
// batching. Negative and positive values have a span each, so that the
// binades of tiny magnitudes between them take no room.
type hist struct {
	bits   uint
	neg    span
	pos    span
	zeros  uint64
	nans   uint64
	n      uint64  // all values
	mn, mx float32 // extremes, NaNs excluded
}

// histSize is the size of a hist itself (64-bit platforms).
const histSize = 128

func makeHist(bits uint) hist {
	return hist{bits: bits, neg: span{lo: 1}, pos: span{lo: 1}, mn: float32(math.Inf(1)), mx: float32(math.Inf(-1))}
}

func newHist() *hist { h := makeHist(layerBits); return &h }

func (h *hist) add(v []float32) { addPair(h, nil, v) }

// index returns the bin of key k in the span of sign pos, growing the span
// when k is outside.
func (h *hist) index(k uint32, pos bool) (c []uint64, i int) {
	s := &h.neg
	if pos {
		s = &h.pos
	}
	i = int(k>>(23-h.bits)) - int(s.lo)<<h.bits
	if uint(i) >= uint(len(s.counts)) {
		s.grow(int32(k>>23), h.bits)
		i = int(k>>(23-h.bits)) - int(s.lo)<<h.bits
	}
	return s.counts, i
}

// addPair counts v in h and, when c is not nil, in c too: one pass that
// reads every value once.
func addPair(h, c *hist, v []float32) {
	mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
	var z, nan uint64
	hs, cs := 23-h.bits, uint(0)
	hpc, hpb := h.pos.counts, int(h.pos.lo)<<h.bits
	var cpc []uint64
	var cpb int
	if c != nil {
		cs = 23 - c.bits
		cpc, cpb = c.pos.counts, int(c.pos.lo)<<c.bits
	}
	for _, x := range v {
		b := math.Float32bits(x)
		if a := b &^ (1 << 31); a-1 >= 0x7f800000 { // zero or NaN
			if a == 0 {
				z++
			} else {
				nan++
			}
			continue
		}
		if x > mx {
			mx = x
		}
		if x < mn {
			mn = x
		}
		if b>>31 == 0 { // positive: the common case, inlined
			k := b | 1<<31
			i := int(k>>hs) - hpb
			if uint(i) >= uint(len(hpc)) {
				h.pos.grow(int32(k>>23), h.bits)
				hpc, hpb = h.pos.counts, int(h.pos.lo)<<h.bits
				i = int(k>>hs) - hpb
			}
			hpc[i]++
			if c != nil {
				j := int(k>>cs) - cpb
				if uint(j) >= uint(len(cpc)) {
					c.pos.grow(int32(k>>23), c.bits)
					cpc, cpb = c.pos.counts, int(c.pos.lo)<<c.bits
					j = int(k>>cs) - cpb
				}
				cpc[j]++
			}
			continue
		}
		k := ^b
		cc, i := h.index(k, false)
		cc[i]++
		if c != nil {
			cc, i = c.index(k, false)
			cc[i]++
		}
	}
	if z > 0 {
		mn, mx = min(mn, 0), max(mx, 0)
	}
	for _, t := range []*hist{h, c} {
		if t == nil {
			continue
		}
		t.zeros += z
		t.nans += nan
		t.n += uint64(len(v))
		t.mn, t.mx = min(t.mn, mn), max(t.mx, mx)
	}
}

// bins calls f for every bin in value order, with its count and value range,
// and zeros as a bin [0, 0] between the negative and the positive ones,
// until f returns false.
func (h *hist) bins(f func(c uint64, a, b float64) bool) {
	sh := 23 - h.bits
	walk := func(s *span) bool {
		for i, c := range s.counts {
			if c == 0 {
				continue
			}
			k := uint32(int(s.lo)<<h.bits+i) << sh
			a, b := float64(unkey(k)), float64(unkey(k|(1<<sh-1)))
			if a > b || math.IsNaN(a) {
				a, b = b, a
			}
			if !f(c, a, b) {
				return false
			}
		}
		return true
	}
	if !walk(&h.neg) {
		return
	}
	if h.zeros > 0 && !f(h.zeros, 0, 0) {
		return
	}
	walk(&h.pos)
}

// percentile returns the nearest-rank p-th percentile, NaNs ranking above
// everything: 0 or the largest value exactly when the rank falls on them; else, for the bin holding the rank, its upper edge when
// upper (never below the exact value), its midpoint otherwise, clamped to
// the largest value.
func (h *hist) percentile(p float64, upper bool) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	r := rank(p, h.n)
	switch {
	case r > h.n-h.nans:
		return math.NaN()
	case r == h.n-h.nans:
		return float64(h.mx)
	}
	var cum uint64
	v := float64(h.mx)
	h.bins(func(c uint64, a, b float64) bool {
		if cum += c; cum < r {
			return true
		}
		v = b
		if !upper && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
			v = a + (b-a)/2
		}
		v = min(v, float64(h.mx))
		return false
	})
	return v
}

// fractionAbove returns the fraction of the values above s (NaNs count as
// above): exact when s is an upper bin edge (as percentile returns it), at
// or above the largest value, or outside every occupied bin; else the values
// of the bin holding s are taken as spread evenly over its range.
func (h *hist) fractionAbove(s float64) float64 {
	if h.n == 0 {
		return 0
	}
	above := float64(h.nans)
	if s >= float64(h.mx) {
		return above / float64(h.n)
	}
	h.bins(func(c uint64, a, b float64) bool {
		a, b = max(a, float64(h.mn)), min(b, float64(h.mx))
		switch {
		case b <= s:
		case a > s || !(b > a):
			above += float64(c)
		default:
			above += float64(c) * (b - s) / (b - a)
		}
		return true
	})
	return above / float64(h.n)
}

// bytes returns the memory the histogram holds.
func (h *hist) bytes() int64 { return histSize + 8*int64(len(h.neg.counts)+len(h.pos.counts)) }
