package plot_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/plot"
	"github.com/quartz-snn/quartz/sweep"
)

// subset returns the sweep restricted to the given Tmax and percentiles,
// each point passed through edit.
func subset(t *testing.T, tmax []int, pcs []float64, edit func(r *pipeline.Result)) *sweep.Results {
	t.Helper()
	s := fixed(t)
	out := *s
	out.Tmax, out.Percentiles, out.Points, out.Rate, out.Best = tmax, pcs, nil, nil, 0
	for _, tm := range tmax {
		for _, pc := range pcs {
			for _, r := range s.Points {
				if r.Tmax == tm && r.Percentile == pc {
					c := *r
					if edit != nil {
						edit(&c)
					}
					out.Points = append(out.Points, &c)
				}
			}
		}
	}
	if len(out.Points) != len(tmax)*len(pcs) {
		t.Fatalf("fixture lacks points of %v × %v", tmax, pcs)
	}
	return &out
}

// TestDegenerateSweeps: every sweep figure draws a one-point sweep, a single
// series, zero errors (log axes) and NaN values without a panic or error.
func TestDegenerateSweeps(t *testing.T) {
	s := fixed(t)
	t0, t1, p0 := s.Tmax[0], s.Tmax[1], s.Percentiles[0]
	hundred := 100.0
	nan := math.NaN()
	cases := []struct {
		name string
		s    *sweep.Results
	}{
		{"one point", subset(t, []int{t0}, []float64{p0}, nil)},
		{"one series", subset(t, []int{t0, t1}, []float64{p0}, nil)},
		{"one Tmax", subset(t, []int{t0}, s.Percentiles, nil)},
		{"zero errors", subset(t, []int{t0, t1}, []float64{p0}, func(r *pipeline.Result) {
			r.SNNAccuracy, r.ANNAccuracy = 100, &hundred
		})},
		{"one point, zero error", subset(t, []int{t0}, []float64{p0}, func(r *pipeline.Result) {
			r.SNNAccuracy, r.ANNAccuracy = 100, &hundred
		})},
		{"NaN", subset(t, []int{t0, t1}, s.Percentiles, func(r *pipeline.Result) {
			r.SNNAccuracy, r.Omega, r.EarlySpikePct, r.ANNAccuracy = nan, nan, nan, &nan
			for k, e := range r.Energy {
				e.Dynamic, e.ANNDynamic = nan, nan
				r.Energy[k] = e
			}
		})},
		{"zero operations", subset(t, []int{t0}, []float64{p0}, func(r *pipeline.Result) {
			r.Omega, r.ANNMACs = 0, 0
		})},
	}
	figs := []struct {
		name string
		fn   func(*sweep.Results) (*plot.Figure, error)
	}{{"tmax", plot.ErrorVsTmax}, {"ops", plot.ErrorVsOps}, {"percentile", plot.ErrorVsPercentile}, {"energy", plot.ErrorVsEnergy},
		{"layers", func(s *sweep.Results) (*plot.Figure, error) { return plot.LayerCosts(s.Points[s.Best]) }}}
	for _, c := range cases {
		for _, fg := range figs {
			t.Run(c.name+"/"+fg.name, func(t *testing.T) {
				err := func() (err error) {
					defer func() {
						if r := recover(); r != nil {
							err = fmt.Errorf("panic: %v", r)
						}
					}()
					f, err := fg.fn(c.s)
					if err != nil {
						return err
					}
					_, err = f.Save(t.TempDir(), plot.Screen, "png", "svg", "pdf")
					return err
				}()
				if err != nil && err != plot.ErrNoEnergy {
					t.Fatal(err)
				}
			})
		}
	}
}
