package plot

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure names: the file stems Save uses, in the order a report shows them.
const (
	NameTmax          = "fig2_error_vs_tmax"
	NameOps           = "fig3_error_vs_ops"
	NameEnergy        = "fig4_error_vs_energy"
	NameNormalization = "fig6_normalization"
	NamePercentile    = "fig7_percentile"
	NameLayers        = "layers"
	NameRaster        = "raster"
	NameMembrane      = "membrane"
)

// Names lists the figure names in report order.
var Names = []string{NameTmax, NameOps, NameEnergy, NameNormalization, NamePercentile, NameLayers, NameRaster, NameMembrane}

var titles = map[string]string{
	NameTmax:          "Figure 2: error vs Tmax",
	NameOps:           "Figure 3: error vs operations per image",
	NameEnergy:        "Figure 4: error vs dynamic energy per image",
	NameNormalization: "Figure 6: normalized vs original activations",
	NamePercentile:    "Figure 7: accuracy and early spikes vs percentile",
	NameLayers:        "Per-layer spikes, synaptic events and early spikes",
	NameRaster:        "Spike raster of one sample",
	NameMembrane:      "Membrane potential of a few neurons (cf. Figure 1)",
}

// Title returns a figure's caption, or its name when it is not one of Names.
func Title(name string) string {
	if t, ok := titles[name]; ok {
		return t
	}
	return name
}

// DPI is the resolution of the PNG files.
const DPI = 100

// Figure is one picture and the numbers it shows.
type Figure struct {
	Name          string // file stem
	Width, Height vg.Length
	// Draw draws the picture on a canvas of Width × Height.
	Draw func(c draw.Canvas)
	// Header and Rows are the plotted data, written as NAME.csv.
	Header []string
	Rows   [][]string
}

// Save writes dir/NAME.png, dir/NAME.svg and dir/NAME.csv and returns their
// paths. Each file is written whole or not at all.
func (f *Figure) Save(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	png, err := f.PNG()
	if err != nil {
		return nil, err
	}
	var svg bytes.Buffer
	sc := vgsvg.NewWith(vgsvg.UseWH(f.Width, f.Height))
	f.Draw(draw.New(sc))
	if _, err := sc.WriteTo(&svg); err != nil {
		return nil, fmt.Errorf("%s.svg: %w", f.Name, err)
	}
	var cs bytes.Buffer
	cw := csv.NewWriter(&cs)
	cw.Write(f.Header)
	cw.WriteAll(f.Rows)
	if err := cw.Error(); err != nil {
		return nil, err
	}
	for _, out := range []struct {
		ext  string
		data []byte
	}{{".png", png}, {".svg", svg.Bytes()}, {".csv", cs.Bytes()}} {
		name := filepath.Join(dir, f.Name+out.ext)
		if err := atomicfile.Write(name, out.data); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

// PNG renders the figure as a PNG image at DPI.
func (f *Figure) PNG() ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	f.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("%s.png: %w", f.Name, err)
	}
	return b.Bytes(), nil
}

// newPlot returns a plot with the package's text sizes and a light grid.
func newPlot(title, xlabel, ylabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(11)
		a.Tick.Label.Font.Size = vg.Points(10)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(1)
	p.Legend.ThumbnailWidth = vg.Points(14)
	return p
}

// single draws one plot on the whole canvas.
func single(p *gplot.Plot) func(draw.Canvas) {
	return func(c draw.Canvas) {
		fixRanges(p)
		p.Draw(c)
	}
}

// fixRanges makes every axis drawable whatever data it got: an axis with
// no data (or only NaN) gets a unit range, and a logarithmic axis whose
// range is one value, or reaches 0, gets a positive range around its data
// (gonum would widen a one-value range by ±1, below 0 on a log axis, and
// panic).
func fixRanges(p *gplot.Plot) {
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		finite := !math.IsNaN(a.Min) && !math.IsNaN(a.Max) && !math.IsInf(a.Min, 0) && !math.IsInf(a.Max, 0) && a.Min <= a.Max
		if !isLog(a) {
			if !finite {
				a.Min, a.Max = 0, 1
			}
			continue
		}
		switch {
		case !finite || a.Max <= 0:
			a.Min, a.Max = 1, 10
		case a.Min <= 0:
			a.Min = a.Max / 1000
		}
		if a.Max < a.Min*1.2 {
			a.Min, a.Max = a.Min/2, a.Max*2
		}
	}
}

// grid draws plots in rows and columns (nil entries leave a blank tile),
// with aligned axes.
func grid(ps [][]*gplot.Plot, title string) func(draw.Canvas) {
	return func(c draw.Canvas) {
		top := vg.Points(4)
		if title != "" {
			top = vg.Points(22)
			sty := draw.TextStyle{Color: color.Black, Font: font.From(gplot.DefaultFont, vg.Points(13)),
				XAlign: draw.XCenter, YAlign: draw.YTop, Handler: gplot.DefaultTextHandler}
			c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - vg.Points(4)}, title)
		}
		rows, cols := len(ps), len(ps[0])
		t := draw.Tiles{Rows: rows, Cols: cols, PadTop: top, PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8),
			PadX: vg.Points(14), PadY: vg.Points(12)}
		// Align needs every tile; blank ones get an empty, hidden plot.
		full := make([][]*gplot.Plot, rows)
		for i := range ps {
			full[i] = make([]*gplot.Plot, cols)
			for j := range ps[i] {
				if full[i][j] = ps[i][j]; full[i][j] == nil {
					e := gplot.New()
					e.HideAxes()
					full[i][j] = e
				}
			}
		}
		for i := range full {
			for j := range full[i] {
				fixRanges(full[i][j])
			}
		}
		canv := gplot.Align(full, t, c)
		for i := range full {
			for j := range full[i] {
				full[i][j].Draw(canv[i][j])
			}
		}
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
func itoa(v int) string     { return strconv.Itoa(v) }
