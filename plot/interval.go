package plot

import (
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/quartz-snn/quartz/pipeline"
)

// accuracyCI returns the 95 % Wilson score interval (pipeline.Wilson) of
// an accuracy acc (%) measured on n samples, in %: the count of correct
// samples is acc·n/100 rounded, which is exact for the accuracies quartz
// writes (correct/n·100).
func accuracyCI(acc float64, n int) (lo, hi float64) {
	k := int(math.Round(acc / 100 * float64(n)))
	k = max(0, min(k, n))
	l, h := pipeline.Wilson(k, n, pipeline.Z95)
	return 100 * l, 100 * h
}

// errorCI returns the 95 % interval of the error 100 − acc (%).
func errorCI(acc float64, n int) (lo, hi float64) {
	l, h := accuracyCI(acc, n)
	return 100 - h, 100 - l
}

// bar is one vertical interval [Lo, Hi] at X.
type bar struct{ X, Lo, Hi float64 }

// errorBars draws vertical intervals with short caps. On a logarithmic y
// axis a lower end at or below 0 is drawn at floor.
type errorBars struct {
	bars  []bar
	color color.Color
	width vg.Length
	cap   vg.Length
	floor float64
}

func newErrorBars(st Style, k int, bars []bar, floor float64) *errorBars {
	return &errorBars{bars: bars, color: seriesColor(k), width: st.Line * 0.7, cap: st.Marker * 1.2, floor: floor}
}

func (e *errorBars) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	ls := draw.LineStyle{Color: e.color, Width: e.width}
	for _, b := range e.bars {
		lo := b.Lo
		if isLog(&p.Y) && lo <= 0 {
			lo = e.floor
		}
		if !drawable(p, b.X, lo) || !drawable(p, b.X, b.Hi) {
			continue
		}
		x, y0, y1 := tx(b.X), ty(lo), ty(b.Hi)
		c.StrokeLines(ls, c.ClipLinesY([]vg.Point{{X: x, Y: y0}, {X: x, Y: y1}})...)
		for _, y := range []vg.Length{y0, y1} {
			c.StrokeLines(ls, c.ClipLinesY([]vg.Point{{X: x - e.cap, Y: y}, {X: x + e.cap, Y: y}})...)
		}
	}
}

// DataRange covers the intervals, so that no bar is cut off.
func (e *errorBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, b := range e.bars {
		lo := b.Lo
		if lo <= 0 {
			lo = math.Min(e.floor, b.Hi)
		}
		xmin, xmax = math.Min(xmin, b.X), math.Max(xmax, b.X)
		ymin, ymax = math.Min(ymin, lo), math.Max(ymax, b.Hi)
	}
	return
}
