package plot

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot/vg"
)

// Style sets a figure's size, fonts, strokes and raster resolution. A
// figure's numbers do not depend on it.
type Style struct {
	Name string
	// Width is the width of every figure; PanelHeight the height of one
	// panel (a figure of k panels in a column is about k × PanelHeight
	// tall, plus its title and caption).
	Width, PanelHeight vg.Length
	// Font sizes: the figure's title, its caption (sample count,
	// intervals), panel titles, axis labels, tick labels, legends and
	// point labels.
	Title, Caption, PanelTitle, Label, Tick, Legend, Note vg.Length
	Line, Marker                                          vg.Length
	// DPI is the resolution of the PNG files.
	DPI int
	// TraceColumns is the number of membrane traces side by side.
	TraceColumns int
}

// Screen is the default style: 7 inches wide, 10-point tick labels, PNGs
// at 100 dpi, for reading on a screen and in the Markdown reports.
var Screen = Style{Name: "screen", Width: 7 * vg.Inch, PanelHeight: 3.6 * vg.Inch,
	Title: vg.Points(13), Caption: vg.Points(9.5), PanelTitle: vg.Points(11), Label: vg.Points(11), Tick: vg.Points(10), Legend: vg.Points(9), Note: vg.Points(8),
	Line: vg.Points(1.2), Marker: vg.Points(2.5), DPI: 100, TraceColumns: 2}

// Paper is the style of a single journal column: 3.5 inches wide, 8- and
// 9-point text, thin strokes; its PNGs are at 300 dpi, but SVG and PDF are
// the files to put in a paper.
var Paper = Style{Name: "paper", Width: 3.5 * vg.Inch, PanelHeight: 2.1 * vg.Inch,
	Title: vg.Points(9), Caption: vg.Points(7.5), PanelTitle: vg.Points(8.5), Label: vg.Points(8.5), Tick: vg.Points(8), Legend: vg.Points(7.5), Note: vg.Points(7),
	Line: vg.Points(0.8), Marker: vg.Points(1.8), DPI: 300, TraceColumns: 1}

// Styles lists the styles by name.
var Styles = []Style{Screen, Paper}

// StyleNamed returns the style called name ("screen" or "paper").
func StyleNamed(name string) (Style, error) {
	var names []string
	for _, s := range Styles {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Style{}, fmt.Errorf("style %q: want %s", name, strings.Join(names, " or "))
}

// Formats are the picture formats Save can write.
var Formats = []string{"png", "svg", "pdf"}

// ParseFormats reads a comma-separated list of Formats ("png,svg").
func ParseFormats(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		ok := false
		for _, g := range Formats {
			ok = ok || f == g
		}
		if !ok {
			return nil, fmt.Errorf("format %q: want a comma-separated list of %s", f, strings.Join(Formats, ", "))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}
