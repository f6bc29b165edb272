package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/sweep"
)

// minErr is the floor of error values on log axes (0 % errors would not
// show): 0.01 %, one sample in 10 000.
const minErr = 0.01

func errPct(acc float64) float64 { return math.Max(100-acc, minErr) }

func annError(s *sweep.Results) (float64, bool) {
	for _, r := range s.Points {
		if r.ANNAccuracy != nil {
			return 100 - *r.ANNAccuracy, true
		}
	}
	return 0, false
}

// logTicks returns ticks at 1, 2, 5 × 10^k over [min, max] (only 10^k
// beyond a factor 30), labelled with k/M/G suffixes, or, with unit "J",
// in pJ, nJ, µJ or mJ.
type logTicks struct{ unit string }

func (lt logTicks) Ticks(min, max float64) []gplot.Tick {
	mant := []float64{1, 2, 5}
	if max/min > 30 {
		mant = []float64{1}
	}
	var ts []gplot.Tick
	for e := math.Floor(math.Log10(min)) - 1; e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range mant {
			v := m * math.Pow(10, e)
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			label := siLabel(v)
			if lt.unit == "J" {
				label = joules(v)
			}
			ts = append(ts, gplot.Tick{Value: v, Label: label})
		}
	}
	if len(ts) < 2 {
		// Less than a decade between two marks: label both ends.
		ts = append(ts, gplot.Tick{Value: min, Label: lt.label(min)}, gplot.Tick{Value: max, Label: lt.label(max)})
	}
	return ts
}

func (lt logTicks) label(v float64) string {
	if lt.unit == "J" {
		return joules(v)
	}
	return siLabel(v)
}

// joules writes an energy with an SI prefix: "20 nJ".
func joules(v float64) string {
	for _, u := range []struct {
		f float64
		s string
	}{{1, "J"}, {1e-3, "mJ"}, {1e-6, "µJ"}, {1e-9, "nJ"}, {1e-12, "pJ"}, {1e-15, "fJ"}} {
		if v >= u.f*0.999 {
			return strconv.FormatFloat(v/u.f, 'g', 3, 64) + " " + u.s
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " J"
}

func siLabel(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func setLogY(p *gplot.Plot) {
	p.Y.Scale = gplot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
}

func setLogX(p *gplot.Plot) {
	p.X.Scale = gplot.LogScale{}
	p.X.Tick.Marker = logTicks{}
}

// isLog reports whether an axis has a logarithmic scale.
func isLog(a *gplot.Axis) bool {
	_, ok := a.Scale.(gplot.LogScale)
	return ok
}

// drawable reports whether a point can be drawn on p: finite, and positive
// along a logarithmic axis.
func drawable(p *gplot.Plot, x, y float64) bool {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	return finite(x) && finite(y) && (x > 0 || !isLog(&p.X)) && (y > 0 || !isLog(&p.Y))
}

// keep returns the indices of the drawable points of xy.
func keep(p *gplot.Plot, xy plotter.XYs) []int {
	var idx []int
	for i, v := range xy {
		if drawable(p, v.X, v.Y) {
			idx = append(idx, i)
		}
	}
	return idx
}

// series adds a line with points, coloured and shaped by index k. Points
// that cannot be drawn (NaN, or not positive on a log axis) are left out;
// a series left empty adds nothing. The CSV keeps them all.
func series(p *gplot.Plot, k int, name string, xy plotter.XYs) error {
	var ok plotter.XYs
	for _, i := range keep(p, xy) {
		ok = append(ok, xy[i])
	}
	if len(ok) == 0 {
		return nil
	}
	l, pts, err := plotter.NewLinePoints(ok)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(k)
	l.Width = vg.Points(1.2)
	pts.Color = plotutil.Color(k)
	pts.Shape = plotutil.Shape(k)
	pts.Radius = vg.Points(2.5)
	p.Add(l, pts)
	if name != "" {
		p.Legend.Add(name, l, pts)
	}
	return nil
}

func hline(p *gplot.Plot, name string, y, x0, x1 float64) error {
	if !drawable(p, x0, y) || !drawable(p, x1, y) {
		return nil
	}
	l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	if err != nil {
		return err
	}
	l.Color = color.Gray{Y: 60}
	l.Width = vg.Points(1.2)
	l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func pctName(p float64) string { return "p " + strconv.FormatFloat(p, 'g', -1, 64) }

// ErrorVsTmax is Figure 2: SNN error against Tmax (log-x, log-y), one curve
// per percentile, the ANN error as a dashed line.
func ErrorVsTmax(s *sweep.Results) (*Figure, error) {
	if len(s.Points) == 0 {
		return nil, errors.New("plot: empty sweep")
	}
	p := newPlot("SNN error vs time steps per layer", "Tmax (time steps per layer, log scale)", "test error (%, log scale)")
	setLogX(p)
	p.X.Tick.Marker = gplot.ConstantTicks(intTicks(s.Tmax))
	setLogY(p)
	p.Legend.Top = true
	f := &Figure{Name: NameTmax, Width: 6 * vg.Inch, Height: 4 * vg.Inch, Header: []string{"tmax", "percentile", "snn_error_pct", "ann_error_pct"}}
	g := report.Grid(s)
	annErr, hasANN := annError(s)
	for j, pc := range s.Percentiles {
		var xy plotter.XYs
		for i, t := range s.Tmax {
			if r := g[i][j]; r != nil {
				xy = append(xy, plotter.XY{X: float64(t), Y: errPct(r.SNNAccuracy)})
				f.Rows = append(f.Rows, []string{itoa(t), ftoa(pc), ftoa(100 - r.SNNAccuracy), annCell(r)})
			}
		}
		if err := series(p, j, pctName(pc), xy); err != nil {
			return nil, err
		}
	}
	if hasANN {
		lo, hi := minMaxInt(s.Tmax)
		if err := hline(p, "ANN", math.Max(annErr, minErr), float64(lo), float64(hi)); err != nil {
			return nil, err
		}
	}
	f.Draw = single(p)
	return f, nil
}

func annCell(r *pipeline.Result) string {
	if r.ANNAccuracy == nil {
		return ""
	}
	return ftoa(100 - *r.ANNAccuracy)
}

func intTicks(v []int) []gplot.Tick {
	s := append([]int(nil), v...)
	sort.Ints(s)
	ts := make([]gplot.Tick, len(s))
	for i, t := range s {
		ts[i] = gplot.Tick{Value: float64(t), Label: itoa(t)}
	}
	return ts
}

func minMaxInt(v []int) (int, int) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// ErrorVsOps is Figure 3: error against operations per image, Ω = σ + 2νT
// (σ = current updates) for the SNN, one curve per percentile along Tmax,
// and the ANN's multiply-accumulates as one marker. Both axes are
// logarithmic; the best percentile's points are labelled with their Tmax.
func ErrorVsOps(s *sweep.Results) (*Figure, error) {
	if len(s.Points) == 0 {
		return nil, errors.New("plot: empty sweep")
	}
	p := newPlot("Error vs operations per image", "operations per image (SNN: Ω additions; ANN: MACs; log scale)", "test error (%, log scale)")
	setLogX(p)
	setLogY(p)
	p.Legend.Top = true
	f := &Figure{Name: NameOps, Width: 6 * vg.Inch, Height: 4 * vg.Inch, Header: []string{"network", "tmax", "percentile", "operations", "error_pct"}}
	g := report.Grid(s)
	best := s.Points[s.Best]
	for j, pc := range s.Percentiles {
		var xy plotter.XYs
		var labels []string
		for i, t := range s.Tmax {
			if r := g[i][j]; r != nil {
				xy = append(xy, plotter.XY{X: r.Omega, Y: errPct(r.SNNAccuracy)})
				labels = append(labels, "T"+itoa(t))
				f.Rows = append(f.Rows, []string{"snn", itoa(t), ftoa(pc), ftoa(r.Omega), ftoa(100 - r.SNNAccuracy)})
			}
		}
		if err := series(p, j, pctName(pc), xy); err != nil {
			return nil, err
		}
		var okXY plotter.XYs
		var okLabels []string
		for _, i := range keep(p, xy) {
			okXY, okLabels = append(okXY, xy[i]), append(okLabels, labels[i])
		}
		if pc == best.Percentile && len(okXY) > 0 {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: okXY, Labels: okLabels})
			if err != nil {
				return nil, err
			}
			for i := range lb.TextStyle {
				lb.TextStyle[i].Font.Size = vg.Points(8)
				lb.TextStyle[i].XAlign = draw.XLeft
			}
			lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
			p.Add(lb)
		}
	}
	if annErr, ok := annError(s); ok && best.ANNMACs > 0 && drawable(p, float64(best.ANNMACs), math.Max(annErr, minErr)) {
		sc, err := plotter.NewScatter(plotter.XYs{{X: float64(best.ANNMACs), Y: math.Max(annErr, minErr)}})
		if err != nil {
			return nil, err
		}
		sc.Shape = draw.CrossGlyph{}
		sc.Radius = vg.Points(6)
		sc.Color = color.Black
		p.Add(sc)
		p.Legend.Add("ANN (MACs)", sc)
		f.Rows = append(f.Rows, []string{"ann", "", "", itoa64(best.ANNMACs), ftoa(annErr)})
	}
	f.Draw = single(p)
	return f, nil
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

// ErrorVsPercentile is Figure 7: SNN accuracy (top) and early spikes
// (bottom, % of hidden neurons) against the normalization percentile, one
// curve per Tmax. Percentiles are evenly spaced on the x axis. Windows
// whose best accuracy is more than 5 pp below the ANN are left out of the
// drawing (not of the CSV) so that the others stay readable.
func ErrorVsPercentile(s *sweep.Results) (*Figure, error) {
	if len(s.Points) == 0 {
		return nil, errors.New("plot: empty sweep")
	}
	pcs := append([]float64(nil), s.Percentiles...)
	order := make([]int, len(pcs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return pcs[order[a]] < pcs[order[b]] })
	names := make([]string, len(order))
	for k, j := range order {
		names[k] = strconv.FormatFloat(pcs[j], 'g', -1, 64)
	}
	top := newPlot("", "", "SNN accuracy (%)")
	bot := newPlot("", "normalization percentile", "early spikes (% of hidden neurons)")
	for _, q := range []*gplot.Plot{top, bot} {
		q.NominalX(names...)
		q.X.Padding = vg.Points(6)
	}
	top.X.Tick.Label.Color = color.Transparent
	top.Legend.Left = true
	top.Legend.Top = false
	f := &Figure{Name: NamePercentile, Width: 6 * vg.Inch, Height: 5 * vg.Inch, Header: []string{"tmax", "percentile", "snn_accuracy_pct", "early_spike_pct", "ann_accuracy_pct"}}
	g := report.Grid(s)
	annErr, hasANN := annError(s)
	var omitted []string
	k := 0
	for i, t := range s.Tmax {
		var acc, early plotter.XYs
		bestAcc := 0.0
		for x, j := range order {
			r := g[i][j]
			if r == nil {
				continue
			}
			acc = append(acc, plotter.XY{X: float64(x), Y: r.SNNAccuracy})
			early = append(early, plotter.XY{X: float64(x), Y: r.EarlySpikePct})
			bestAcc = math.Max(bestAcc, r.SNNAccuracy)
			ann := ""
			if r.ANNAccuracy != nil {
				ann = ftoa(*r.ANNAccuracy)
			}
			f.Rows = append(f.Rows, []string{itoa(t), ftoa(pcs[j]), ftoa(r.SNNAccuracy), ftoa(r.EarlySpikePct), ann})
		}
		if len(acc) == 0 {
			continue
		}
		if hasANN && bestAcc < 100-annErr-5 {
			omitted = append(omitted, itoa(t))
			continue
		}
		name := "T " + itoa(t)
		if err := series(top, k, name, acc); err != nil {
			return nil, err
		}
		if err := series(bot, k, "", early); err != nil {
			return nil, err
		}
		k++
	}
	if hasANN {
		if err := hline(top, "ANN", 100-annErr, 0, float64(len(order)-1)); err != nil {
			return nil, err
		}
	}
	title := "Accuracy and early spikes vs normalization percentile"
	if len(omitted) > 0 {
		title += " (Tmax " + strings.Join(omitted, ", ") + " off scale)"
	}
	f.Draw = grid([][]*gplot.Plot{{top}, {bot}}, title)
	return f, nil
}

// LayerCosts is the per-layer bar chart of one result: spikes, synaptic
// events (σ, bias/readout/rectifier included) and early spikes per image,
// each in its own panel.
func LayerCosts(r *pipeline.Result) (*Figure, error) {
	if len(r.Layers) == 0 {
		return nil, errors.New("plot: result has no layers")
	}
	names := make([]string, len(r.Layers))
	spikes := make(plotter.Values, len(r.Layers))
	events := make(plotter.Values, len(r.Layers))
	early := make(plotter.Values, len(r.Layers))
	f := &Figure{Name: NameLayers, Width: 9 * vg.Inch, Height: 3.6 * vg.Inch,
		Header: []string{"layer", "kind", "neurons", "spikes", "synaptic_events", "early_spikes", "early_spike_pct"}}
	for i, l := range r.Layers {
		names[i] = l.Name
		spikes[i], events[i] = l.Spikes, l.SynapticEvents
		early[i] = l.EarlyPct / 100 * float64(l.Neurons)
		f.Rows = append(f.Rows, []string{l.Name, l.Kind, itoa(l.Neurons), ftoa(l.Spikes), ftoa(l.SynapticEvents), ftoa(early[i]), ftoa(l.EarlyPct)})
	}
	var ps []*gplot.Plot
	for k, panel := range []struct {
		title string
		v     plotter.Values
	}{{"spikes", spikes}, {"synaptic events σ", events}, {"early spikes", early}} {
		p := newPlot(panel.title, "layer", "count per image")
		if k > 0 {
			p.Y.Label.Text = ""
		}
		bc, err := plotter.NewBarChart(panel.v, vg.Points(16))
		if err != nil {
			return nil, err
		}
		bc.Color = plotutil.Color(k)
		bc.LineStyle.Width = 0
		p.Add(bc)
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = math.Pi / 5
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
		p.Y.Tick.Marker = siTicks{}
		p.Y.Min = 0
		ps = append(ps, p)
	}
	f.Draw = grid([][]*gplot.Plot{ps}, fmt.Sprintf("Per-layer costs at Tmax %d, percentile %g (means per image)", r.Tmax, r.Percentile))
	return f, nil
}

// siTicks is the default tick placement with k/M labels.
type siTicks struct{}

func (siTicks) Ticks(min, max float64) []gplot.Tick {
	ts := gplot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = siLabel(ts[i].Value)
		}
	}
	return ts
}
