package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
)

// MaxScatterPoints bounds the points drawn per panel of Figure 6.
const MaxScatterPoints = 800

// NormalizationInput is what Figure 6 compares: the simplified original
// model, its bias-corrected normalization (normalize.Normalize, with its
// report) and its classic one (normalize.NormalizeClassic), run on N samples
// X.
type NormalizationInput struct {
	Original, Corrected, Classic *graph.Model
	Report                       *normalize.Report // of Corrected: P_l of each layer
	X                            []float32
	N                            int
	Workers                      int
}

// Normalization is Figure 6: for every Conv and Linear layer (one row) the
// output of the normalized network (before its ReLU) against the original
// network's for the same neurons, classic normalization on the left and the
// bias-corrected one on the right, one colour per channel. The dashed line
// is the exact scaling y = x / P_l; the bias-corrected points lie on it.
// At most MaxScatterPoints points per panel are drawn, picked by a fixed
// stride over neurons and samples.
func Normalization(in NormalizationInput) (*Figure, error) {
	if in.N <= 0 {
		return nil, errors.New("plot: no samples for the normalization figure")
	}
	param, _ := normalize.Targets(in.Original)
	scale := map[int]float64{}
	for _, st := range in.Report.Layers {
		scale[st.Layer] = st.Scale
	}
	var layers []int
	for _, p := range param {
		if op := in.Original.Nodes[p].Op; op == graph.Conv || op == graph.Linear {
			layers = append(layers, p)
		}
	}
	outs := make([]map[int][]float32, 3)
	for k, m := range []*graph.Model{in.Original, in.Classic, in.Corrected} {
		net, err := nn.New(m, in.Workers)
		if err != nil {
			return nil, err
		}
		outs[k] = map[int][]float32{}
		net.Activations(in.X, in.N, func(l int, out []float32) {
			for _, p := range layers {
				if p == l {
					outs[k][l] = append([]float32(nil), out...)
				}
			}
		})
		net.Close()
	}
	f := &Figure{Name: NameNormalization, Title: "Normalized vs original outputs per layer (one colour per channel)",
		Caption: fmt.Sprintf("n = %d test images; up to %d neurons per panel", in.N, MaxScatterPoints),
		Header:  []string{"layer", "method", "sample", "channel", "neuron", "original", "normalized"}}
	type panel struct {
		title string
		sc    *channelScatter
		P     float64
	}
	var grid [][]panel
	full := make([]string, len(layers))
	for i, p := range layers {
		full[i] = in.Original.Nodes[p].Name
	}
	short := ShortNames(full)
	for li, p := range layers {
		l := in.Original.Nodes[p]
		size := graph.Size(l.OutShape)
		chans, per := l.OutShape[0], 1
		if len(l.OutShape) == 3 {
			per = l.OutShape[1] * l.OutShape[2]
		}
		total := size * in.N
		idx := spread(total, MaxScatterPoints)
		var row []panel
		for k, method := range []string{"classic", "bias-corrected"} {
			sc := &channelScatter{}
			for _, i := range idx {
				x, y := float64(outs[0][p][i]), float64(outs[1+k][p][i])
				c := (i % size) / per
				sc.pts = append(sc.pts, plotter.XY{X: x, Y: y})
				sc.col = append(sc.col, channelColor(c, chans))
				f.Rows = append(f.Rows, []string{l.Name, method, itoa(i / size), itoa(c), itoa(i % size), fmt5(x), fmt5(y)})
			}
			row = append(row, panel{fmt.Sprintf("%s: %s", short[li], method), sc, scale[p]})
		}
		grid = append(grid, row)
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) {
		var rows [][]*gplot.Plot
		for r, row := range grid {
			var out []*gplot.Plot
			for k, pn := range row {
				pl := newPlot(st, pn.title, "original output", "normalized output")
				if k == 1 {
					pl.Y.Label.Text = ""
				}
				if r != len(grid)-1 {
					pl.X.Label.Text = ""
				}
				sc := *pn.sc
				sc.radius = st.Marker * 0.5
				pl.Add(&sc)
				if pn.P > 0 {
					xmin, xmax, _, _ := sc.DataRange()
					ln, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: xmin / pn.P}, {X: xmax, Y: xmax / pn.P}})
					if err != nil {
						return nil, err
					}
					ln.Color = color.Gray{Y: 40}
					ln.Dashes = []vg.Length{st.Line * 3, st.Line * 2.5}
					ln.Width = st.Line * 0.8
					pl.Add(ln)
					if k == 0 {
						pl.Legend.Add(fmt.Sprintf("x / P_l (P_l = %.3g)", pn.P), ln)
						pl.Legend.Top, pl.Legend.Left = true, true
					}
				}
				out = append(out, pl)
			}
			rows = append(rows, out)
		}
		return rows, nil
	}
	f.height = func(st Style, rows int) vg.Length { return vg.Length(rows) * max(st.Width*0.3, st.PanelHeight*0.8) }
	return f, nil
}

// spread picks up to k indices of [0, n) spread over the range: i·step for
// a step coprime with n near n/k, so that neither channels nor samples are
// favoured.
func spread(n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	step := n/k | 1
	for gcd(step, n) != 1 {
		step += 2
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = (i * step) % n
	}
	return idx
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// channelColor spreads channels over the hue circle.
func channelColor(c, n int) color.Color {
	h := float64(c) / float64(max(n, 1)) * 360
	return hsv(h, 0.85, 0.8)
}

func hsv(h, s, v float64) color.Color {
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return color.RGBA{uint8(255 * (r + m)), uint8(255 * (g + m)), uint8(255 * (b + m)), 255}
}

// channelScatter draws small dots, each with its own colour.
type channelScatter struct {
	pts    plotter.XYs
	col    []color.Color
	radius vg.Length
}

func (s *channelScatter) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	for i, pt := range s.pts {
		c.DrawGlyph(draw.GlyphStyle{Color: s.col[i], Radius: s.radius, Shape: draw.CircleGlyph{}}, vg.Point{X: tx(pt.X), Y: ty(pt.Y)})
	}
}

func (s *channelScatter) DataRange() (xmin, xmax, ymin, ymax float64) {
	if len(s.pts) == 0 {
		return 0, 1, 0, 1
	}
	return plotter.XYRange(s.pts)
}

// fmt5 writes a value with 5 significant digits: enough for a scatter's
// CSV, and small.
func fmt5(v float64) string { return strconv.FormatFloat(v, 'g', 5, 64) }
