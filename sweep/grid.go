package sweep

import (
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/pipeline"
	"math"
	"strconv"
	"strings"
)

// Point is one grid point.
type Point struct {
	Tmax       int
	Percentile float64
}

// Key names the point's file: "t16_p99", "t4_p98.5".
func (p Point) Key() string {
	return "t" + strconv.Itoa(p.Tmax) + "_p" + strconv.FormatFloat(p.Percentile, 'f', -1, 64)
}

// RateKey names the file of a percentile's rate-coded baseline: "rate_p99".
func RateKey(percentile float64) string {
	return "rate_p" + strconv.FormatFloat(percentile, 'f', -1, 64)
}

func (p Point) String() string { return fmt.Sprintf("Tmax %d, percentile %g", p.Tmax, p.Percentile) }

// Grid is the set of points of a sweep: every Tmax with every percentile.
type Grid struct {
	Tmax        []int
	Percentiles []float64
}

// Validate reports an empty grid, a T below 1, a percentile outside
// (0, 100] and repeated values.
func (g Grid) Validate() error {
	if len(g.Tmax) == 0 {
		return errors.New("empty grid: no Tmax value")
	}
	if len(g.Percentiles) == 0 {
		return errors.New("empty grid: no percentile")
	}
	seenT := map[int]bool{}
	for _, t := range g.Tmax {
		if t < 1 {
			return fmt.Errorf("Tmax %d: must be ≥ 1", t)
		}
		if t > pipeline.MaxTmax {
			return fmt.Errorf("Tmax %d: at most %d", t, pipeline.MaxTmax)
		}
		if seenT[t] {
			return fmt.Errorf("Tmax %d given twice", t)
		}
		seenT[t] = true
	}
	seenP := map[float64]bool{}
	for _, p := range g.Percentiles {
		if !(p > 0 && p <= 100) || math.IsNaN(p) {
			return fmt.Errorf("percentile %v: must be in (0, 100]", p)
		}
		if seenP[p] {
			return fmt.Errorf("percentile %v given twice", p)
		}
		seenP[p] = true
	}
	return nil
}

// Points lists the grid in its order: percentile-major, then Tmax, as given.
func (g Grid) Points() []Point {
	var ps []Point
	for _, p := range g.Percentiles {
		for _, t := range g.Tmax {
			ps = append(ps, Point{Tmax: t, Percentile: p})
		}
	}
	return ps
}

// ParseInts parses a comma-separated list of integers ("1,2,4").
func ParseInts(s string) ([]int, error) {
	var v []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		v = append(v, n)
	}
	return v, nil
}

// ParseFloats parses a comma-separated list of numbers ("97,98.5").
func ParseFloats(s string) ([]float64, error) {
	var v []float64
	for _, f := range splitList(s) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		v = append(v, x)
	}
	return v, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
