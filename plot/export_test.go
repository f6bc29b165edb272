package plot

import (
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// DrawForTest draws f in style st on c and returns its panels as drawn,
// with their final axis ranges.
func DrawForTest(f *Figure, st Style, c vg.CanvasSizer) ([][]*gplot.Plot, error) {
	lay, err := f.layout(st)
	if err != nil {
		return nil, err
	}
	f.draw(lay, draw.New(c))
	return lay.ps, nil
}

// IsNumericMarker tells the package's numeric tick markers from the
// nominal ones (gplot.ConstantTicks: percentiles, layers, raster bands):
// the axes that must have MinTickLabels labels.
func IsNumericMarker(m gplot.Ticker) bool {
	switch m.(type) {
	case logTicks, linTicks, numTicks:
		return true
	}
	return false
}
