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
// per image (log-log), one panel per energy profile of the results
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
	f := &Figure{Name: NameEnergy, Width: vg.Length(len(profiles))*3.3*vg.Inch + 0.3*vg.Inch, Height: 4 * vg.Inch,
		Header: []string{"network", "profile", "unit", "tmax", "percentile", "dynamic_energy", "error_pct"}}
	g := report.Grid(s)
	annErr, hasANN := annError(s)
	var row []*gplot.Plot
	for pi, prof := range profiles {
		unit := s.Points[s.Best].Energy[prof].Unit
		xl := "dynamic energy per image (log scale)"
		if unit != "J" {
			xl = fmt.Sprintf("dynamic energy per image (%s, log scale)", unit)
		}
		p := newPlot(prof, xl, "test error (%, log scale)")
		if pi > 0 {
			p.Y.Label.Text = ""
		}
		setLogX(p)
		p.X.Tick.Marker = logTicks{unit: unit}
		setLogY(p)
		p.Legend.Top = true
		annE, eLo, eHi := 0.0, math.Inf(1), 0.0
		for j, pc := range s.Percentiles {
			var xy plotter.XYs
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
				eLo, eHi = math.Min(eLo, e.Dynamic), math.Max(eHi, e.Dynamic)
				xy = append(xy, plotter.XY{X: e.Dynamic, Y: errPct(r.SNNAccuracy)})
				f.Rows = append(f.Rows, []string{"snn", prof, unit, itoa(t), ftoa(pc), ftoa(e.Dynamic), ftoa(100 - r.SNNAccuracy)})
			}
			name := ""
			if pi == 0 {
				name = pctName(pc)
			}
			if len(xy) > 0 {
				if err := series(p, j, name, xy); err != nil {
					return nil, err
				}
			}
		}
		if annE > 0 && hasANN && eHi > 0 {
			// The ANN as a dashed line across the SNN points, its energy in
			// the legend: as a point it would sit one to two decades to
			// the right and squeeze the SNN curves against the axis.
			lt := logTicks{unit: unit}
			name := "ANN: " + lt.label(annE)
			if err := hline(p, name, math.Max(annErr, minErr), eLo, eHi); err != nil {
				return nil, err
			}
			f.Rows = append(f.Rows, []string{"ann", prof, unit, "", "", ftoa(annE), ftoa(annErr)})
		}
		row = append(row, p)
	}
	f.Draw = grid([][]*gplot.Plot{row}, "Error vs estimated dynamic energy per image")
	return f, nil
}
