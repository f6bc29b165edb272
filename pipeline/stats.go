package pipeline

import (
	"math"
)

// Z95 is the standard normal quantile of 0.975, for 95 % intervals.
const Z95 = 1.959963984540054

// AccuracyStats holds the uncertainty of an evaluation's accuracies
// (eval --json "accuracy_stats"). Intervals are in percent, like the
// accuracies, and drops in percentage points.
type AccuracyStats struct {
	// SNNAccuracyCI and ANNAccuracyCI are 95 % Wilson score intervals.
	SNNAccuracyCI [2]float64  `json:"snn_accuracy_ci95"`
	ANNAccuracyCI *[2]float64 `json:"ann_accuracy_ci95,omitempty"`
	// Paired compares ANN and SNN on the same samples; absent without the
	// ANN (eval --snn alone).
	Paired *PairedStats `json:"ann_snn_paired,omitempty"`
}

// PairedStats compares the ANN's and the SNN's errors on the same samples.
type PairedStats struct {
	// ANNOnly (b) counts samples the ANN classifies correctly and the SNN
	// does not; SNNOnly (c) the reverse.
	ANNOnly int `json:"ann_only_correct"`
	SNNOnly int `json:"snn_only_correct"`
	// McNemarP is the exact two-sided McNemar p-value: 2·P(X ≤ min(b, c))
	// for X ~ Binomial(b + c, ½), capped at 1 (1 when b + c = 0).
	McNemarP float64 `json:"mcnemar_p"`
	// DropCI is the 95 % interval of the drop, ANN − SNN accuracy, by
	// Newcombe's hybrid score method for paired proportions (Newcombe
	// 1998, method 10; with the uncorrected φ, as in Fagerland, Lydersen
	// and Laake 2013).
	DropCI [2]float64 `json:"drop_ci95"`
}

// Wilson returns the Wilson score interval for k successes in n trials at
// the normal quantile z, as proportions in [0, 1]. n = 0 gives [0, 1].
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return math.Max(0, center-half), math.Min(1, center+half)
}

// McNemarExact returns the exact two-sided McNemar p-value for the
// discordant counts b and c: 2·P(X ≤ min(b, c)), X ~ Binomial(b+c, ½),
// capped at 1.
func McNemarExact(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	// Sum in log space: n may be large.
	lnf := func(m int) float64 { v, _ := math.Lgamma(float64(m) + 1); return v }
	sum := 0.0
	for i := 0; i <= k; i++ {
		sum += math.Exp(lnf(n) - lnf(i) - lnf(n-i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*sum)
}

// NewcombePaired returns Newcombe's hybrid score interval (method 10)
// for the difference p1 − p2 of two paired proportions, from the 2×2
// counts: a both successes, b first only, c second only, d neither. It
// uses the Wilson intervals of p1 = (a+b)/n and p2 = (a+c)/n at z and the
// correlation φ = (ad − bc)/√((a+b)(c+d)(a+c)(b+d)) (0 when a margin is 0).
func NewcombePaired(a, b, c, d int, z float64) (lo, hi float64) {
	n := a + b + c + d
	if n == 0 {
		return -1, 1
	}
	nf := float64(n)
	p1, p2 := float64(a+b)/nf, float64(a+c)/nf
	l1, u1 := Wilson(a+b, n, z)
	l2, u2 := Wilson(a+c, n, z)
	phi := 0.0
	if den := float64(a+b) * float64(c+d) * float64(a+c) * float64(b+d); den > 0 {
		phi = (float64(a)*float64(d) - float64(b)*float64(c)) / math.Sqrt(den)
	}
	diff := p1 - p2
	dl := math.Sqrt(math.Max(0, (p1-l1)*(p1-l1)-2*phi*(p1-l1)*(u2-p2)+(u2-p2)*(u2-p2)))
	du := math.Sqrt(math.Max(0, (u1-p1)*(u1-p1)-2*phi*(u1-p1)*(p2-l2)+(p2-l2)*(p2-l2)))
	return math.Max(-1, diff-dl), math.Min(1, diff+du)
}

// accuracyStats computes the statistics from the labels and the SNN's
// and (when not nil) the ANN's predictions.
func accuracyStats(labels, snnPred, annPred []int32) *AccuracyStats {
	n := len(labels)
	var a, b, c, d, snnOK int
	for i, l := range labels {
		s := snnPred[i] >= 0 && snnPred[i] == l
		if s {
			snnOK++
		}
		if annPred == nil {
			continue
		}
		switch ann := annPred[i] == l; {
		case ann && s:
			a++
		case ann:
			b++
		case s:
			c++
		default:
			d++
		}
	}
	return statsFromCounts(n, snnOK, annPred != nil, a, b, c, d)
}

// statsFromCounts computes the statistics from the counts: n samples,
// snnOK the SNN's correct ones and, with the ANN, the paired table (a
// both correct, b the ANN only, c the SNN only, d neither).
func statsFromCounts(n, snnOK int, hasANN bool, a, b, c, d int) *AccuracyStats {
	st := &AccuracyStats{}
	lo, hi := Wilson(snnOK, n, Z95)
	st.SNNAccuracyCI = [2]float64{100 * lo, 100 * hi}
	if !hasANN {
		return st
	}
	lo, hi = Wilson(a+b, n, Z95)
	st.ANNAccuracyCI = &[2]float64{100 * lo, 100 * hi}
	lo, hi = NewcombePaired(a, b, c, d, Z95)
	st.Paired = &PairedStats{ANNOnly: b, SNNOnly: c, McNemarP: McNemarExact(b, c), DropCI: [2]float64{100 * lo, 100 * hi}}
	return st
}
