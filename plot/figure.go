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
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
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

// Figure is one picture and the numbers it shows. Its drawing is built
// for a Style when it is rendered; its numbers do not depend on the style.
type Figure struct {
	Name string // file stem
	// Title is the figure's heading; Caption the line under it: the sample
	// count, and what the error bars are.
	Title, Caption string
	// Header and Rows are the plotted data, written as NAME.csv.
	Header []string
	Rows   [][]string
	// panels builds the panels in a style, as rows of plots (nil leaves a
	// blank tile; every row as long as the first).
	panels func(st Style) ([][]*gplot.Plot, error)
	// height, if set, is the panels' height in st (default: rows ×
	// st.PanelHeight).
	height func(st Style, rows int) vg.Length
}

// layout is a figure built for one style.
type layout struct {
	st   Style
	ps   [][]*gplot.Plot
	w, h vg.Length
	top  vg.Length // title and caption
	// title and caption are the lines of the title and the caption.
	title, caption []string
}

// textStyle is the style of the figure's title and caption at size.
func textStyle(size vg.Length) draw.TextStyle {
	return draw.TextStyle{Color: color.Black, Font: font.From(gplot.DefaultFont, size), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: gplot.DefaultTextHandler}
}

// wrap breaks s into lines no wider than w in face: at "; " where it can,
// else at spaces.
func wrap(s string, face draw.TextStyle, w vg.Length) []string {
	if face.Width(s) <= w {
		return []string{s}
	}
	for _, sep := range []string{"; ", " "} {
		parts := strings.SplitAfter(s, sep)
		var lines []string
		cur := ""
		for _, p := range parts {
			if cur != "" && face.Width(strings.TrimRight(cur+p, " ;")) > w {
				lines = append(lines, strings.TrimRight(cur, " "))
				cur = ""
			}
			cur += p
		}
		lines = append(lines, strings.TrimRight(cur, " "))
		fits := true
		for _, l := range lines {
			fits = fits && face.Width(l) <= w
		}
		if fits || sep == " " {
			return lines
		}
	}
	return []string{s}
}

func (f *Figure) layout(st Style) (*layout, error) {
	ps, err := f.panels(st)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 || len(ps[0]) == 0 {
		return nil, fmt.Errorf("plot: %s has no panels", f.Name)
	}
	lay := &layout{st: st, ps: ps, w: st.Width, top: vg.Points(6)}
	if f.Title != "" {
		lay.title = wrap(f.Title, textStyle(st.Title), st.Width-vg.Points(8))
		lay.top += vg.Length(len(lay.title)) * st.Title * 1.25
	}
	if f.Caption != "" {
		lay.caption = wrap(f.Caption, textStyle(st.Caption), st.Width-vg.Points(8))
		lay.top += vg.Length(len(lay.caption)) * st.Caption * 1.25
	}
	body := vg.Length(len(ps)) * st.PanelHeight
	if f.height != nil {
		body = f.height(st, len(ps))
	}
	lay.h = lay.top + body
	return lay, nil
}

// Size returns the figure's width and height in style st.
func (f *Figure) Size(st Style) (w, h vg.Length, err error) {
	lay, err := f.layout(st)
	if err != nil {
		return 0, 0, err
	}
	return lay.w, lay.h, nil
}

// Render draws the figure in style st as "png", "svg" or "pdf".
func (f *Figure) Render(st Style, format string) ([]byte, error) {
	lay, err := f.layout(st)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	switch format {
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(lay.w, lay.h), vgimg.UseDPI(st.DPI), vgimg.UseBackgroundColor(color.White))
		f.draw(lay, draw.New(c))
		_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(&b)
	case "svg":
		c := vgsvg.NewWith(vgsvg.UseWH(lay.w, lay.h))
		f.draw(lay, draw.New(c))
		_, err = c.WriteTo(&b)
	case "pdf":
		c := vgpdf.New(lay.w, lay.h)
		c.EmbedFonts(true)
		f.draw(lay, draw.New(c))
		_, err = c.WriteTo(&b)
	default:
		return nil, fmt.Errorf("plot: format %q: want png, svg or pdf", format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s.%s: %w", f.Name, format, err)
	}
	return b.Bytes(), nil
}

// PNG renders the figure as a PNG image in the Screen style.
func (f *Figure) PNG() ([]byte, error) { return f.Render(Screen, "png") }

// Save writes dir/NAME.EXT for each of formats (default png and svg) in
// style st, and dir/NAME.csv, and returns their paths. Every file is
// rendered before the first is written, and each is written whole or not
// at all.
func (f *Figure) Save(dir string, st Style, formats ...string) ([]string, error) {
	if len(formats) == 0 {
		formats = []string{"png", "svg"}
	}
	type out struct {
		ext  string
		data []byte
	}
	var outs []out
	for _, format := range formats {
		data, err := f.Render(st, format)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out{"." + format, data})
	}
	var cs bytes.Buffer
	cw := csv.NewWriter(&cs)
	cw.Write(f.Header)
	cw.WriteAll(f.Rows)
	if err := cw.Error(); err != nil {
		return nil, err
	}
	outs = append(outs, out{".csv", cs.Bytes()})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, o := range outs {
		name := filepath.Join(dir, f.Name+o.ext)
		if err := atomicfile.Write(name, o.data); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

// draw draws the title, the caption and the panels, axes aligned.
func (f *Figure) draw(lay *layout, c draw.Canvas) {
	st := lay.st
	y := c.Max.Y - vg.Points(3)
	mid := (c.Min.X + c.Max.X) / 2
	for _, l := range lay.title {
		sty := draw.TextStyle{Color: color.Black, Font: font.From(gplot.DefaultFont, st.Title),
			XAlign: draw.XCenter, YAlign: draw.YTop, Handler: gplot.DefaultTextHandler}
		c.FillText(sty, vg.Point{X: mid, Y: y}, l)
		y -= st.Title * 1.25
	}
	for _, l := range lay.caption {
		sty := draw.TextStyle{Color: color.Gray{Y: 60}, Font: font.From(gplot.DefaultFont, st.Caption),
			XAlign: draw.XCenter, YAlign: draw.YTop, Handler: gplot.DefaultTextHandler}
		c.FillText(sty, vg.Point{X: mid, Y: y}, l)
		y -= st.Caption * 1.25
	}
	ps := lay.ps
	rows, cols := len(ps), len(ps[0])
	t := draw.Tiles{Rows: rows, Cols: cols, PadTop: lay.top, PadBottom: vg.Points(3), PadLeft: vg.Points(3), PadRight: st.Tick,
		PadX: st.Tick * 1.5, PadY: st.Tick * 1.2}
	full := make([][]*gplot.Plot, rows)
	for i := range ps {
		full[i] = make([]*gplot.Plot, cols)
		for j := range full[i] {
			if j < len(ps[i]) {
				full[i][j] = ps[i][j]
			}
			if full[i][j] == nil {
				// Align needs every tile; blank ones get an empty, hidden plot.
				e := gplot.New()
				e.HideAxes()
				full[i][j] = e
			}
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

// newPlot returns a plot in style st: its fonts, and linear ticks with at
// least MinTickLabels labels on both axes.
func newPlot(st Style, title, xlabel, ylabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = st.PanelTitle
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = st.Label
		a.Tick.Label.Font.Size = st.Tick
		a.Tick.Marker = linTicks{}
	}
	p.Legend.TextStyle.Font.Size = st.Legend
	p.Legend.Padding = st.Legend * 0.25
	p.Legend.ThumbnailWidth = st.Legend * 1.6
	return p
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
		if a.Max < a.Min*1.6 {
			// Too narrow for four readable labels: a factor 1.6 around
			// the data's geometric middle.
			mid := math.Sqrt(a.Min * a.Max)
			a.Min, a.Max = mid/1.265, mid*1.265
		}
		// A little room at both ends, so that markers and error bars at
		// the extremes are not cut in half.
		a.Min, a.Max = a.Min/1.06, a.Max*1.06
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
func itoa(v int) string     { return strconv.Itoa(v) }
