package plot

import (
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
)

// MinTickLabels is the fewest labelled ticks the markers below give an
// axis with a positive, finite range.
const MinTickLabels = 4

// logMantissas are the mantissa sets logTicks tries, sparsest first: the
// decades, then 1-2-5 steps, then finer steps for ranges under a decade.
var logMantissas = [][]float64{
	{1},
	{1, 2, 5},
	{1, 1.5, 2, 3, 5, 7},
	{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8},
}

// logTicks labels a logarithmic axis at m × 10^k for the sparsest mantissa
// set of logMantissas that gives at least MinTickLabels labels over
// [min, max], with unlabelled minor ticks at the other integers × 10^k;
// a range too narrow for any (under about a factor 1.5) gets linear
// ticks. Labels carry k/M/G suffixes or, with unit "J", pJ … mJ.
type logTicks struct{ unit string }

func (lt logTicks) Ticks(min, max float64) []gplot.Tick {
	if !(min > 0) || !(max > min) || math.IsInf(max, 0) {
		return linTicks{unit: lt.unit}.Ticks(min, max)
	}
	lo, hi := math.Floor(math.Log10(min)), math.Ceil(math.Log10(max))
	in := func(v float64) bool { return v >= min*(1-1e-9) && v <= max*(1+1e-9) }
	for _, mant := range logMantissas {
		var vals []float64
		for e := lo; e <= hi; e++ {
			for _, m := range mant {
				if v := m * math.Pow(10, e); in(v) {
					vals = append(vals, v)
				}
			}
		}
		if len(vals) < MinTickLabels {
			continue
		}
		var ts []gplot.Tick
		for _, v := range vals {
			ts = append(ts, gplot.Tick{Value: v, Label: lt.label(v)})
		}
		// Minor ticks at the integers × 10^k not labelled (every decade
		// when only decades are; none between the finest steps).
		if len(mant) <= 3 {
			for e := lo; e <= hi; e++ {
				for m := 2.0; m <= 9; m++ {
					v := m * math.Pow(10, e)
					if in(v) && !contains(mant, m) {
						ts = append(ts, gplot.Tick{Value: v})
					}
				}
			}
		}
		return ts
	}
	return linTicks{unit: lt.unit}.Ticks(min, max)
}

func contains(v []float64, x float64) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}

func (lt logTicks) label(v float64) string {
	if lt.unit == "J" {
		return joules(v)
	}
	return siLabel(v)
}

// linSteps are the tick steps of a linear axis, per decade, largest first.
var linSteps = []float64{5, 2, 1}

// linTicks labels a linear axis at multiples of 1, 2 or 5 × 10^k: the
// largest step that gives at least MinTickLabels labels over [min, max],
// with an unlabelled minor tick between two labels. All labels of an axis
// have the same number of decimals (or the same SI suffix rule); unit "J"
// writes energies.
type linTicks struct{ unit string }

func (lt linTicks) Ticks(min, max float64) []gplot.Tick {
	if math.IsNaN(min) || math.IsNaN(max) || math.IsInf(min, 0) || math.IsInf(max, 0) {
		return nil
	}
	if !(max > min) {
		return []gplot.Tick{{Value: min, Label: lt.label(min, 0)}}
	}
	e := math.Floor(math.Log10(max-min)) + 1
	for ; ; e-- {
		for _, s := range linSteps {
			step := s * math.Pow(10, e)
			first := math.Ceil(min/step - 1e-9)
			last := math.Floor(max/step + 1e-9)
			if int(last-first)+1 < MinTickLabels {
				continue
			}
			dec := decimals(step)
			var ts []gplot.Tick
			for k := first; k <= last; k++ {
				v := k * step
				if v == 0 {
					v = 0 // no "-0"
				}
				ts = append(ts, gplot.Tick{Value: v, Label: lt.label(v, dec)})
				if mid := v + step/2; k < last && mid <= max {
					ts = append(ts, gplot.Tick{Value: mid})
				}
			}
			return ts
		}
		if e < -30 {
			return []gplot.Tick{{Value: min, Label: lt.label(min, 3)}, {Value: max, Label: lt.label(max, 3)}}
		}
	}
}

// decimals returns the decimals that write every multiple of step exactly
// (step = m × 10^k with m in linSteps).
func decimals(step float64) int {
	d := 0
	for d < 12 && math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) > 1e-6 {
		d++
	}
	return d
}

func (lt linTicks) label(v float64, dec int) string {
	switch {
	case lt.unit == "J":
		return joules(v)
	case math.Abs(v) >= 1e3:
		return siLabel(v)
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// joules writes an energy with an SI prefix: "20 nJ".
func joules(v float64) string {
	if v == 0 {
		return "0"
	}
	for _, u := range []struct {
		f float64
		s string
	}{{1, "J"}, {1e-3, "mJ"}, {1e-6, "µJ"}, {1e-9, "nJ"}, {1e-12, "pJ"}, {1e-15, "fJ"}} {
		if math.Abs(v) >= u.f*0.999 {
			return strconv.FormatFloat(v/u.f, 'g', 3, 64) + " " + u.s
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " J"
}

// siLabel writes a count with a k, M or G suffix: "50k", "1.5M".
func siLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// labelled counts the labelled ticks of ts.
func labelled(ts []gplot.Tick) int {
	n := 0
	for _, t := range ts {
		if t.Label != "" {
			n++
		}
	}
	return n
}
