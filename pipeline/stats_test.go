package pipeline

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestMcNemarExact: the exact two-sided p-value is 2·Σ_{i≤min(b,c)}
// C(b+c, i)/2^(b+c), computed here by hand: b=10, c=2 gives
// 2·(1+12+66)/4096 = 158/4096. Tolerance 1e-12 (log-space sum).
func TestMcNemarExact(t *testing.T) {
	for _, tc := range []struct {
		b, c int
		want float64
	}{
		{10, 2, 158.0 / 4096},
		{2, 10, 158.0 / 4096},
		{0, 0, 1},
		{5, 5, 1},        // 2·P(X ≤ 5 | n = 10) > 1, capped
		{3, 0, 2.0 / 8},  // 2·(1/8)
		{0, 6, 2.0 / 64}, // 2·(1/64)
		{7, 1, 2 * 9.0 / 256},
	} {
		if got := McNemarExact(tc.b, tc.c); !near(got, tc.want, 1e-12) {
			t.Errorf("McNemarExact(%d, %d) = %.15g, want %.15g", tc.b, tc.c, got, tc.want)
		}
	}
	// Large counts stay finite and symmetric: b = c gives 1, a big
	// imbalance a tiny p.
	if p := McNemarExact(5000, 5000); p != 1 {
		t.Errorf("McNemarExact(5000, 5000) = %v, want 1", p)
	}
	if p := McNemarExact(3000, 2000); !(p > 0 && p < 1e-40) {
		t.Errorf("McNemarExact(3000, 2000) = %v, want tiny", p)
	}
}

// TestWilson: 95/100 at z = 1.959963984540054; the reference is the
// closed form (p + z²/2n ± z·√(p(1−p)/n + z²/4n²))/(1 + z²/n) evaluated in
// Python (0.888249530768081, 0.978456320845632; the textbook 0.888–0.978).
// Tolerance 1e-12.
func TestWilson(t *testing.T) {
	lo, hi := Wilson(95, 100, Z95)
	if !near(lo, 0.8882495307680808, 1e-12) || !near(hi, 0.9784563208456319, 1e-12) {
		t.Errorf("Wilson(95, 100) = [%.15g, %.15g]", lo, hi)
	}
	// 0/n and n/n stay inside [0, 1]; 0/n's upper bound is z²/(n+z²).
	lo, hi = Wilson(0, 50, Z95)
	if lo != 0 || !near(hi, Z95*Z95/(50+Z95*Z95), 1e-12) {
		t.Errorf("Wilson(0, 50) = [%v, %v]", lo, hi)
	}
	lo, hi = Wilson(50, 50, Z95)
	if hi != 1 || !near(lo, 50/(50+Z95*Z95), 1e-12) {
		t.Errorf("Wilson(50, 50) = [%v, %v]", lo, hi)
	}
}

// TestNewcombePaired: Newcombe's hybrid score interval (method 10) against
// an independent Python transcription of Fagerland, Lydersen and Laake's
// formulas (tolerance 1e-12), and its basic properties.
func TestNewcombePaired(t *testing.T) {
	for _, tc := range []struct {
		a, b, c, d int
		lo, hi     float64
	}{
		{12, 9, 2, 21, 0.01821022624359192, 0.28915665958827236},
		{1, 1, 7, 12, -0.5016625403015134, -0.036052553488836514},
		{9887, 25, 18, 70, -0.0006215708280431819, 0.00205631552661771},
	} {
		lo, hi := NewcombePaired(tc.a, tc.b, tc.c, tc.d, Z95)
		if !near(lo, tc.lo, 1e-12) || !near(hi, tc.hi, 1e-12) {
			t.Errorf("NewcombePaired(%d, %d, %d, %d) = [%.17g, %.17g], want [%.17g, %.17g]", tc.a, tc.b, tc.c, tc.d, lo, hi, tc.lo, tc.hi)
		}
		diff := float64(tc.b-tc.c) / float64(tc.a+tc.b+tc.c+tc.d)
		if !(lo <= diff && diff <= hi) {
			t.Errorf("interval [%v, %v] does not hold the difference %v", lo, hi, diff)
		}
	}
	// No discordant pairs: the interval holds 0 and is narrow.
	lo, hi := NewcombePaired(90, 0, 0, 10, Z95)
	if !(lo <= 0 && hi >= 0 && hi-lo < 0.1) {
		t.Errorf("no discordant pairs: [%v, %v]", lo, hi)
	}
}

// TestAccuracyStats: counts and intervals from predictions.
func TestAccuracyStats(t *testing.T) {
	labels := []int32{0, 1, 2, 3, 4, 5}
	ann := []int32{0, 1, 2, 3, 9, 9}   // 4 right
	snnP := []int32{0, 1, -1, 9, 4, 9} // 3 right: b = 2 (2, 3), c = 1 (4)
	st := accuracyStats(labels, snnP, ann)
	if st.Paired == nil || st.Paired.ANNOnly != 2 || st.Paired.SNNOnly != 1 {
		t.Fatalf("paired %+v", st.Paired)
	}
	if !near(st.Paired.McNemarP, 1, 1e-12) {
		t.Errorf("McNemar p %v, want 1", st.Paired.McNemarP)
	}
	lo, hi := Wilson(3, 6, Z95)
	if st.SNNAccuracyCI != [2]float64{100 * lo, 100 * hi} {
		t.Errorf("SNN interval %v", st.SNNAccuracyCI)
	}
	if only := accuracyStats(labels, snnP, nil); only.Paired != nil || only.ANNAccuracyCI != nil {
		t.Errorf("without the ANN: %+v", only)
	}
}
