package plot

import (
	"errors"
	"fmt"
	"math"
	"sort"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/sweep"
)

// ErrNoEnergy reports a sweep whose results carry no energy estimates.
var ErrNoEnergy = errors.New("plot: the results have no energy estimates (no \"energy\" fields); Figure 4 skipped")

// ErrorVsEnergy is Figure 4: SNN error against the estimated dynamic energy
// per image (log-log) with 95 % intervals, one panel (row) per energy
// profile of the results
// (pipeline.Result.Energy), one curve per percentile along Tmax, and the
// ANN's error as a dashed line labelled with its dynamic energy in the
// same profile, where the profile models the ANN. It returns ErrNoEnergy when the results have none.
func ErrorVsEnergy(s *sweep.Results) (*Figure, error) {
	if len(s.Points) == 0 {
		return nil, errors.New("plot: empty sweep")
	}
	var profiles []string
	for k, e := range s.Points[s.Best].Energy {
		if e.Dynamic > 0 {
			profiles = append(profiles, k)
		}
	}
	if len(profiles) == 0 {
		return nil, ErrNoEnergy
	}
	sort.Strings(profiles)
	f := &Figure{Name: NameEnergy, Title: "Error vs estimated dynamic energy per image", Caption: sweepCaption(s, true),
		Header: []string{"network", "profile", "unit", "tmax", "percentile", "dynamic_energy", "error_pct", "error_ci95_lo", "error_ci95_hi", "samples"}}
	g := report.Grid(s)
	annErr, hasANN := annError(s)
	for _, prof := range profiles {
		unit := s.Points[s.Best].Energy[prof].Unit
		annE := 0.0
		for j, pc := range s.Percentiles {
			for i, t := range s.Tmax {
				r := g[i][j]
				if r == nil {
					continue
				}
				e, ok := r.Energy[prof]
				if !ok || !(e.Dynamic > 0) {
					continue
				}
				annE = math.Max(annE, e.ANNDynamic)
				lo, hi := errorCI(r.SNNAccuracy, r.Samples)
				f.Rows = append(f.Rows, []string{"snn", prof, unit, itoa(t), ftoa(pc), ftoa(e.Dynamic), ftoa(100 - r.SNNAccuracy), ftoa(lo), ftoa(hi), itoa(r.Samples)})
			}
		}
		if annE > 0 && hasANN {
			lo, hi := errorCI(100-annErr, s.Samples)
			f.Rows = append(f.Rows, []string{"ann", prof, unit, "", "", ftoa(annE), ftoa(annErr), ftoa(lo), ftoa(hi), itoa(s.Samples)})
		}
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) {
		var ps []*gplot.Plot
		for pi, prof := range profiles {
			unit := s.Points[s.Best].Energy[prof].Unit
			xl := "dynamic energy per image"
			if unit != "J" {
				xl = fmt.Sprintf("dynamic energy per image (%s)", unit)
			}
			p := newPlot(st, prof, xl, "test error (%)")
			setLogX(p)
			p.X.Tick.Marker = logTicks{unit: unit}
			setLogY(p)
			p.Legend.Top = true
			annE, eLo, eHi := 0.0, math.Inf(1), 0.0
			for j, pc := range s.Percentiles {
				var xy plotter.XYs
				var bars []bar
				for i := range s.Tmax {
					r := g[i][j]
					if r == nil {
						continue
					}
					e, ok := r.Energy[prof]
					if !ok || !(e.Dynamic > 0) {
						continue
					}
					annE = math.Max(annE, e.ANNDynamic)
					eLo, eHi = math.Min(eLo, e.Dynamic), math.Max(eHi, e.Dynamic)
					xy = append(xy, plotter.XY{X: e.Dynamic, Y: errPct(r.SNNAccuracy)})
					lo, hi := errorCI(r.SNNAccuracy, r.Samples)
					bars = append(bars, bar{e.Dynamic, lo, hi})
				}
				name := ""
				if pi == 0 {
					name = pctName(pc)
				}
				if len(xy) > 0 {
					p.Add(newErrorBars(st, j, bars, minErr))
					if err := series(p, st, j, name, xy); err != nil {
						return nil, err
					}
				}
			}
			if annE > 0 && hasANN && eHi > 0 {
				// The ANN as a dashed line across the SNN points, its energy in
				// the legend: as a point it would sit one to two decades to
				// the right and squeeze the SNN curves against the axis.
				lt := logTicks{unit: unit}
				if err := hline(p, st, "ANN: "+lt.label(annE), math.Max(annErr, minErr), eLo, eHi); err != nil {
					return nil, err
				}
			}
			entries := 1
			if pi == 0 {
				entries += len(s.Percentiles)
			}
			legendHeadroom(p, st, entries, st.PanelHeight*0.85)
			ps = append(ps, p)
		}
		rows := make([][]*gplot.Plot, len(ps))
		for i, p := range ps {
			rows[i] = []*gplot.Plot{p}
		}
		return rows, nil
	}
	// One panel per row: side by side, the energy axes would be too short
	// for four readable labels.
	f.height = func(st Style, rows int) vg.Length { return vg.Length(rows) * st.PanelHeight * 0.85 }
	return f, nil
}
