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

func seriesColor(k int) color.Color { return plotutil.Color(k) }

// series adds a line with points, coloured and shaped by index k. Points
// that cannot be drawn (NaN, or not positive on a log axis) are left out;
// a series left empty adds nothing. The CSV keeps them all.
func series(p *gplot.Plot, st Style, k int, name string, xy plotter.XYs) error {
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
	l.Color = seriesColor(k)
	l.Width = st.Line
	pts.Color = seriesColor(k)
	pts.Shape = plotutil.Shape(k)
	pts.Radius = st.Marker
	p.Add(l, pts)
	if name != "" {
		p.Legend.Add(name, l, pts)
	}
	return nil
}

func hline(p *gplot.Plot, st Style, name string, y, x0, x1 float64) error {
	if !drawable(p, x0, y) || !drawable(p, x1, y) {
		return nil
	}
	l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	if err != nil {
		return err
	}
	l.Color = color.Gray{Y: 60}
	l.Width = st.Line
	l.Dashes = []vg.Length{st.Line * 4, st.Line * 2.5}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// bestMark circles the best point (x, y) and names it in the legend with
// where it was chosen.
func bestMark(p *gplot.Plot, st Style, s *sweep.Results, x, y float64) error {
	if !drawable(p, x, y) {
		return nil
	}
	sc, err := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
	if err != nil {
		return err
	}
	sc.Shape = draw.RingGlyph{}
	sc.Radius = st.Marker * 2.4
	sc.Color = color.Black
	p.Add(sc)
	p.Legend.Add("best ("+selectedOn(s)+")", sc)
	return nil
}

// selectedOn says in a few words where the sweep chose its best point.
func selectedOn(s *sweep.Results) string {
	if s.SelectOn == sweep.SelectVal {
		return "on validation"
	}
	return "on test set"
}

// sweepCaption is the caption of a sweep's figures: the model, the data,
// the sample count, the error bars and where the best point was chosen.
func sweepCaption(s *sweep.Results, bars bool) string {
	c := fmt.Sprintf("%s on %s, n = %s test images", s.Model, s.Data, groupInt(s.Samples))
	if bars {
		c += "; bars: 95 % Wilson intervals"
	}
	if s.SelectOn == sweep.SelectVal && s.Validation != nil {
		c += fmt.Sprintf("; best on %s validation images", groupInt(s.Validation.Samples))
	} else {
		c += "; best chosen on the test set"
	}
	return c
}

// groupInt writes n with no-break spaces between thousands: "10 000".
func groupInt(n int) string {
	s := strconv.Itoa(n)
	if n < 10000 && n > -10000 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func pctName(p float64) string { return "p " + strconv.FormatFloat(p, 'g', -1, 64) }

// dodge spreads series j of m along a logarithmic x axis by a small
// factor, so that their error bars do not hide each other.
func dodge(x float64, j, m int) float64 {
	return x * math.Pow(10, 0.012*(float64(j)-float64(m-1)/2))
}

// ErrorVsTmax is Figure 2: SNN error against Tmax (log-x, log-y), one curve
// per percentile with 95 % intervals, the ANN error as a dashed line and
// the best point circled.
func ErrorVsTmax(s *sweep.Results) (*Figure, error) {
	if len(s.Points) == 0 {
		return nil, errors.New("plot: empty sweep")
	}
	f := &Figure{Name: NameTmax, Title: "SNN error vs time steps per layer", Caption: sweepCaption(s, true),
		Header: []string{"tmax", "percentile", "snn_error_pct", "snn_error_ci95_lo", "snn_error_ci95_hi", "samples", "ann_error_pct", "best"}}
	g := report.Grid(s)
	best := s.Points[s.Best]
	for j, pc := range s.Percentiles {
		for i, t := range s.Tmax {
			if r := g[i][j]; r != nil {
				lo, hi := errorCI(r.SNNAccuracy, r.Samples)
				f.Rows = append(f.Rows, []string{itoa(t), ftoa(pc), ftoa(100 - r.SNNAccuracy), ftoa(lo), ftoa(hi), itoa(r.Samples), annCell(r), boolCell(r == best)})
			}
		}
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) {
		p := newPlot(st, "", "Tmax (time steps per layer)", "test error (%)")
		setLogX(p)
		ts, lo, hi := tmaxTicks(s.Tmax)
		p.X.Tick.Marker = numTicks(ts)
		p.X.Min, p.X.Max = lo, hi
		setLogY(p)
		p.Legend.Top = true
		annErr, hasANN := annError(s)
		m := len(s.Percentiles)
		for j := range s.Percentiles {
			var xy plotter.XYs
			var bars []bar
			for i, t := range s.Tmax {
				if r := g[i][j]; r != nil {
					x := dodge(float64(t), j, m)
					xy = append(xy, plotter.XY{X: x, Y: errPct(r.SNNAccuracy)})
					lo, hi := errorCI(r.SNNAccuracy, r.Samples)
					bars = append(bars, bar{x, lo, hi})
				}
			}
			p.Add(newErrorBars(st, j, bars, minErr))
			if err := series(p, st, j, pctName(s.Percentiles[j]), xy); err != nil {
				return nil, err
			}
		}
		if hasANN {
			lo, hi := minMaxInt(s.Tmax)
			if err := hline(p, st, "ANN", math.Max(annErr, minErr), float64(lo), float64(hi)); err != nil {
				return nil, err
			}
		}
		bj := indexOf(s.Percentiles, best.Percentile)
		if err := bestMark(p, st, s, dodge(float64(best.Tmax), bj, m), errPct(best.SNNAccuracy)); err != nil {
			return nil, err
		}
		legendHeadroom(p, st, len(s.Percentiles)+2, st.PanelHeight)
		return [][]*gplot.Plot{{p}}, nil
	}
	return f, nil
}

func indexOf(v []float64, x float64) int {
	for i, y := range v {
		if y == x {
			return i
		}
	}
	return 0
}

func boolCell(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func annCell(r *pipeline.Result) string {
	if r.ANNAccuracy == nil {
		return ""
	}
	return ftoa(100 - *r.ANNAccuracy)
}

// numTicks are fixed ticks on a numeric axis (the windows of Figure 2): an
// axis that must have MinTickLabels labels, unlike the nominal axes of
// percentiles and layers (gplot.ConstantTicks).
type numTicks []gplot.Tick

func (t numTicks) Ticks(min, max float64) []gplot.Tick { return t }

// tmaxTicks labels the windows of a sweep on a logarithmic axis; with
// fewer than MinTickLabels of them it adds the halves of the smallest and
// the doubles of the largest (windows are usually powers of two) and
// returns the range that shows them.
func tmaxTicks(v []int) (ts []gplot.Tick, lo, hi float64) {
	ts = intTicks(v)
	a, b := minMaxInt(v)
	for len(ts) < MinTickLabels {
		if a >= 2 && a%2 == 0 {
			a /= 2
			ts = append([]gplot.Tick{{Value: float64(a), Label: itoa(a)}}, ts...)
		}
		if len(ts) < MinTickLabels {
			b *= 2
			ts = append(ts, gplot.Tick{Value: float64(b), Label: itoa(b)})
		}
	}
	return ts, float64(a), float64(b)
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
// (σ = current updates) for the SNN, one curve per percentile along Tmax
// with 95 % intervals, and the ANN's multiply-accumulates as one marker.
// Both axes are logarithmic; the best percentile's points are labelled
// with their Tmax and the best point is circled.
func ErrorVsOps(s *sweep.Results) (*Figure, error) {
	if len(s.Points) == 0 {
		return nil, errors.New("plot: empty sweep")
	}
	f := &Figure{Name: NameOps, Title: "Error vs operations per image", Caption: sweepCaption(s, true),
		Header: []string{"network", "tmax", "percentile", "operations", "error_pct", "error_ci95_lo", "error_ci95_hi", "samples", "best"}}
	g := report.Grid(s)
	best := s.Points[s.Best]
	for j, pc := range s.Percentiles {
		for i, t := range s.Tmax {
			if r := g[i][j]; r != nil {
				lo, hi := errorCI(r.SNNAccuracy, r.Samples)
				f.Rows = append(f.Rows, []string{"snn", itoa(t), ftoa(pc), ftoa(r.Omega), ftoa(100 - r.SNNAccuracy), ftoa(lo), ftoa(hi), itoa(r.Samples), boolCell(r == best)})
			}
		}
	}
	annErr, hasANN := annError(s)
	if hasANN && best.ANNMACs > 0 {
		lo, hi := errorCI(100-annErr, best.Samples)
		f.Rows = append(f.Rows, []string{"ann", "", "", itoa64(best.ANNMACs), ftoa(annErr), ftoa(lo), ftoa(hi), itoa(best.Samples), "0"})
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) {
		p := newPlot(st, "", "operations per image (SNN: Ω additions; ANN: MACs)", "test error (%)")
		setLogX(p)
		setLogY(p)
		p.Legend.Top = true
		for j, pc := range s.Percentiles {
			var xy plotter.XYs
			var labels []string
			var bars []bar
			for i, t := range s.Tmax {
				if r := g[i][j]; r != nil {
					xy = append(xy, plotter.XY{X: r.Omega, Y: errPct(r.SNNAccuracy)})
					labels = append(labels, "T"+itoa(t))
					lo, hi := errorCI(r.SNNAccuracy, r.Samples)
					bars = append(bars, bar{r.Omega, lo, hi})
				}
			}
			p.Add(newErrorBars(st, j, bars, minErr))
			if err := series(p, st, j, pctName(pc), xy); err != nil {
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
					lb.TextStyle[i].Font.Size = st.Note
					lb.TextStyle[i].XAlign = draw.XLeft
				}
				lb.Offset = vg.Point{X: st.Marker * 1.6, Y: st.Marker * 0.8}
				p.Add(lb)
			}
		}
		if hasANN && best.ANNMACs > 0 && drawable(p, float64(best.ANNMACs), math.Max(annErr, minErr)) {
			sc, err := plotter.NewScatter(plotter.XYs{{X: float64(best.ANNMACs), Y: math.Max(annErr, minErr)}})
			if err != nil {
				return nil, err
			}
			sc.Shape = draw.CrossGlyph{}
			sc.Radius = st.Marker * 2.4
			sc.Color = color.Black
			p.Add(sc)
			p.Legend.Add("ANN (MACs)", sc)
		}
		if err := bestMark(p, st, s, best.Omega, errPct(best.SNNAccuracy)); err != nil {
			return nil, err
		}
		legendHeadroom(p, st, len(s.Percentiles)+2, st.PanelHeight)
		return [][]*gplot.Plot{{p}}, nil
	}
	return f, nil
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

// ErrorVsPercentile is Figure 7: SNN accuracy with 95 % intervals (top)
// and early spikes (bottom, % of hidden neurons) against the normalization
// percentile, one curve per Tmax. Percentiles are evenly spaced on the x
// axis. Windows whose best accuracy is more than 5 pp below the ANN are
// left out of the drawing (not of the CSV) so that the others stay
// readable.
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
	f := &Figure{Name: NamePercentile, Caption: sweepCaption(s, true),
		Header: []string{"tmax", "percentile", "snn_accuracy_pct", "snn_accuracy_ci95_lo", "snn_accuracy_ci95_hi", "samples", "early_spike_pct", "ann_accuracy_pct"}}
	g := report.Grid(s)
	annErr, hasANN := annError(s)
	var omitted []string
	var shown []int
	for i, t := range s.Tmax {
		bestAcc, any := 0.0, false
		for _, j := range order {
			r := g[i][j]
			if r == nil {
				continue
			}
			any = true
			bestAcc = math.Max(bestAcc, r.SNNAccuracy)
			ann := ""
			if r.ANNAccuracy != nil {
				ann = ftoa(*r.ANNAccuracy)
			}
			lo, hi := accuracyCI(r.SNNAccuracy, r.Samples)
			f.Rows = append(f.Rows, []string{itoa(t), ftoa(pcs[j]), ftoa(r.SNNAccuracy), ftoa(lo), ftoa(hi), itoa(r.Samples), ftoa(r.EarlySpikePct), ann})
		}
		if !any {
			continue
		}
		if hasANN && bestAcc < 100-annErr-5 {
			omitted = append(omitted, itoa(t))
			continue
		}
		shown = append(shown, i)
	}
	f.Title = "Accuracy and early spikes vs percentile"
	if len(omitted) > 0 {
		f.Caption += "; Tmax " + strings.Join(omitted, ", ") + " off scale (over 5 pp below the ANN)"
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) {
		top := newPlot(st, "", "", "SNN accuracy (%)")
		bot := newPlot(st, "", "normalization percentile", "early spikes (% of hidden neurons)")
		for _, q := range []*gplot.Plot{top, bot} {
			q.NominalX(names...)
			q.X.Padding = st.Tick / 2
		}
		top.X.Tick.Marker = gplot.ConstantTicks(nominalTicks(len(names)))
		top.Legend.Left = true
		top.Legend.Top = false
		for k, i := range shown {
			var acc, early plotter.XYs
			var bars []bar
			// Series side by side around each percentile, so that their
			// error bars do not hide each other.
			off := 0.035 * (float64(k) - float64(len(shown)-1)/2)
			for x, j := range order {
				r := g[i][j]
				if r == nil {
					continue
				}
				acc = append(acc, plotter.XY{X: float64(x) + off, Y: r.SNNAccuracy})
				early = append(early, plotter.XY{X: float64(x), Y: r.EarlySpikePct})
				lo, hi := accuracyCI(r.SNNAccuracy, r.Samples)
				bars = append(bars, bar{float64(x) + off, lo, hi})
			}
			top.Add(newErrorBars(st, k, bars, 0))
			if err := series(top, st, k, "T "+itoa(s.Tmax[i]), acc); err != nil {
				return nil, err
			}
			if err := series(bot, st, k, "", early); err != nil {
				return nil, err
			}
		}
		if hasANN {
			if err := hline(top, st, "ANN", 100-annErr, 0, float64(len(order)-1)); err != nil {
				return nil, err
			}
		}
		// Room left of the first percentile for the legend, on both
		// panels (their x axes are one).
		labels := []string{"ANN"}
		for _, i := range shown {
			labels = append(labels, "T "+itoa(s.Tmax[i]))
		}
		lo := -legendRoom(top, st, labels, float64(max(len(order)-1, 1)))
		top.X.Min, bot.X.Min = lo, lo
		return [][]*gplot.Plot{{top}, {bot}}, nil
	}
	f.height = func(st Style, rows int) vg.Length { return st.PanelHeight * 1.6 }
	return f, nil
}

// legendHeadroom raises the top of p's logarithmic error axis (not beyond
// 100 %) so that a legend of entries lines at the top stands above the
// data, in a panel of height panelH.
func legendHeadroom(p *gplot.Plot, st Style, entries int, panelH vg.Length) {
	if !isLog(&p.Y) || !(p.Y.Min > 0) || !(p.Y.Max > p.Y.Min) || math.IsInf(p.Y.Max, 0) {
		return
	}
	legend := vg.Length(entries)*st.Legend*1.15 + st.Legend
	data := panelH - 3.5*st.Tick - 2*st.Label
	f := math.Min(0.4, float64(legend/max(data, legend*2)))
	lo, hi := math.Log(p.Y.Min), math.Log(p.Y.Max)
	top := math.Exp(lo + (hi-lo)/(1-f))
	// An error axis ends at 100 %.
	p.Y.Max = math.Max(p.Y.Max, math.Min(top, 100))
}

// legendRoom returns how far below 0 an x axis whose data spans [0, span]
// must begin so that p's legend of labels, on the left, stands clear of
// the data.
func legendRoom(p *gplot.Plot, st Style, labels []string, span float64) float64 {
	w := vg.Length(0)
	for _, e := range labels {
		w = max(w, p.Legend.TextStyle.Width(e))
	}
	w += p.Legend.ThumbnailWidth + 2*p.Legend.Padding + st.Legend
	plotW := st.Width - 6*st.Label // less the y axis, roughly
	f := math.Min(0.45, float64(w/plotW))
	return f*span/(1-f) + 0.1
}

// nominalTicks are unlabelled ticks at 0 … n−1: the shared x axis of an
// upper panel.
func nominalTicks(n int) []gplot.Tick {
	ts := make([]gplot.Tick, n)
	for i := range ts {
		ts[i] = gplot.Tick{Value: float64(i)}
	}
	return ts
}

// LayerCosts is the per-layer bar chart of one result: spikes, synaptic
// events (σ, bias/readout/rectifier included) and early spikes per image,
// one panel each, stacked over a shared axis of layers labelled with
// ShortNames (turned upright when they would not fit side by side).
func LayerCosts(r *pipeline.Result) (*Figure, error) {
	if len(r.Layers) == 0 {
		return nil, errors.New("plot: result has no layers")
	}
	full := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		full[i] = l.Name
	}
	names := ShortNames(full)
	spikes := make(plotter.Values, len(r.Layers))
	events := make(plotter.Values, len(r.Layers))
	early := make(plotter.Values, len(r.Layers))
	f := &Figure{Name: NameLayers,
		Title:   fmt.Sprintf("Per-layer costs at Tmax %d, percentile %g", r.Tmax, r.Percentile),
		Caption: fmt.Sprintf("%s on %s: counts per image, means over n = %s test images", r.Model, r.Data, groupInt(r.Samples)),
		Header:  []string{"layer", "label", "kind", "neurons", "spikes", "synaptic_events", "early_spikes", "early_spike_pct", "samples"}}
	for i, l := range r.Layers {
		spikes[i], events[i] = l.Spikes, l.SynapticEvents
		early[i] = l.EarlyPct / 100 * float64(l.Neurons)
		f.Rows = append(f.Rows, []string{l.Name, names[i], l.Kind, itoa(l.Neurons), ftoa(l.Spikes), ftoa(l.SynapticEvents), ftoa(early[i]), ftoa(l.EarlyPct), itoa(r.Samples)})
	}
	panels := []struct {
		title string
		v     plotter.Values
	}{{"spikes", spikes}, {"synaptic events σ", events}, {"early spikes", early}}
	f.panels = func(st Style) ([][]*gplot.Plot, error) {
		var rows [][]*gplot.Plot
		for k, panel := range panels {
			p := newPlot(st, "", "", panel.title)
			w := st.Width / vg.Length(len(names)+2) * 0.6
			bc, err := plotter.NewBarChart(panel.v, w)
			if err != nil {
				return nil, err
			}
			bc.Color = seriesColor(k)
			bc.LineStyle.Width = 0
			p.Add(bc)
			p.NominalX(names...)
			p.Y.Min = 0
			if k < len(panels)-1 {
				p.X.Tick.Marker = gplot.ConstantTicks(nominalTicks(len(names)))
			} else {
				p.X.Label.Text = "layer"
				if !fitsSideBySide(st, p, names) {
					p.X.Tick.Label.Rotation = math.Pi / 2
					p.X.Tick.Label.XAlign = draw.XRight
					p.X.Tick.Label.YAlign = draw.YCenter
				}
			}
			rows = append(rows, []*gplot.Plot{p})
		}
		return rows, nil
	}
	f.height = func(st Style, rows int) vg.Length {
		return vg.Length(rows)*st.PanelHeight*0.55 + labelDepth(st, names)
	}
	return f, nil
}

// fitsSideBySide reports whether the layer labels fit horizontally in the
// width each layer gets (the panel's width, less the y axis, divided by the
// number of layers), with a gap of half the font size.
func fitsSideBySide(st Style, p *gplot.Plot, names []string) bool {
	slot := (st.Width - 6*st.Label) / vg.Length(len(names))
	for _, n := range names {
		if p.X.Tick.Label.Width(n)+st.Tick/2 > slot {
			return false
		}
	}
	return true
}

// labelDepth is the room the layer axis needs below the bottom panel: one
// line of text, or the longest label when they stand upright.
func labelDepth(st Style, names []string) vg.Length {
	p := newPlot(st, "", "", "")
	if fitsSideBySide(st, p, names) {
		return 3 * st.Tick
	}
	w := vg.Length(0)
	for _, n := range names {
		w = max(w, p.X.Tick.Label.Width(n))
	}
	return w + 2*st.Tick
}
