package plot

import (
	"errors"
	"fmt"
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/quartz-snn/quartz/snn"
)

// Raster is the spike raster of one sample: spike time (global step) against
// neuron, one horizontal band per layer (input at the bottom, the output at
// the top), the neuron index running upwards within its band. Dotted lines
// mark the layer windows' starts τ_l.
func Raster(n *snn.Network, r *snn.SampleResult, caption string) (*Figure, error) {
	if len(r.Times) != len(n.Layers) {
		return nil, errors.New("plot: sample result does not belong to the network")
	}
	full := make([]string, len(n.Layers))
	for i, l := range n.Layers {
		full[i] = l.Name
	}
	short := ShortNames(full)
	bands := []band{{"input", "input", r.Input}}
	for i, l := range n.Layers {
		if l.Analog {
			bands[0].name, bands[0].full = short[i]+" (analog)", l.Name+" (analog)"
			continue
		}
		bands = append(bands, band{short[i], l.Name, r.Times[i]})
	}
	f := &Figure{Name: NameRaster, Title: caption, Caption: "n = 1 test image; one dot per spike, a row per neuron; dotted: the start τ of each layer's window",
		Header: []string{"layer", "neuron", "step"}}
	var err error
	if _, err = rasterPanels(Screen, n, bands, f); err != nil {
		return nil, err
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) { return rasterPanels(st, n, bands, nil) }
	f.height = func(st Style, rows int) vg.Length { return st.PanelHeight * 1.2 }
	return f, nil
}

// band is one row group of the raster: a layer's label, its full name
// (for the CSV) and its neurons' spike times.
type band struct {
	name, full string
	times      []int32
}

// rasterPanels builds the raster in style st; with rec not nil it also
// appends the plotted spikes to rec.Rows.
func rasterPanels(st Style, n *snn.Network, bands []band, rec *Figure) ([][]*gplot.Plot, error) {
	p := newPlot(st, "", "time (global simulation step)", "")
	var ticks []gplot.Tick
	const h = 0.85
	for b, bd := range bands {
		var xy plotter.XYs
		for i, t := range bd.times {
			if t == snn.NoSpike {
				continue
			}
			xy = append(xy, plotter.XY{X: float64(t), Y: float64(b) + h*float64(i)/float64(max(len(bd.times), 1))})
			if rec != nil {
				rec.Rows = append(rec.Rows, []string{bd.full, itoa(i), itoa(int(t))})
			}
		}
		ticks = append(ticks, gplot.Tick{Value: float64(b) + h/2, Label: fmt.Sprintf("%s (%d)", bd.name, len(bd.times))})
		if len(xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		sc.Shape = draw.BoxGlyph{}
		sc.Radius = st.Marker * 0.36
		sc.Color = plotutil.Color(b)
		p.Add(sc)
	}
	for i, l := range n.Layers {
		if !l.Spiking() {
			continue
		}
		ln, err := plotter.NewLine(plotter.XYs{{X: float64(n.Tau(i)), Y: 0}, {X: float64(n.Tau(i)), Y: float64(len(bands))}})
		if err != nil {
			return nil, err
		}
		ln.Color = color.Gray{Y: 170}
		ln.Dashes = []vg.Length{st.Line, st.Line * 2}
		p.Add(ln)
	}
	p.Y.Tick.Marker = gplot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -0.05, float64(len(bands))
	// Room after the last spike, so that it is not drawn on the edge.
	last := int32(0)
	for _, bd := range bands {
		for _, t := range bd.times {
			if t != snn.NoSpike {
				last = max(last, t)
			}
		}
	}
	p.X.Min, p.X.Max = 0, float64(last)*1.03+1
	return [][]*gplot.Plot{{p}}, nil
}

// TraceChoice names a neuron to trace.
type TraceChoice struct{ Layer, Neuron int }

// PickTraces chooses up to four neurons worth looking at in a sample: the
// output neuron that fired first (the class) and the one that fired last,
// and in the last hidden spiking layer a neuron that fired early (if any)
// and one the rectifier forced (if any), else its earliest and latest.
func PickTraces(n *snn.Network, r *snn.SampleResult) []TraceChoice {
	var out []TraceChoice
	last := len(n.Layers) - 1
	hidden := -1
	for i := last - 1; i >= 0; i-- {
		if n.Layers[i].Spiking() {
			hidden = i
			break
		}
	}
	if hidden >= 0 {
		l := n.Layers[hidden]
		readout, rect := n.Tau(hidden)+l.T, n.Tau(hidden)+l.T+l.TOut
		early, forced, first, lastN := -1, -1, -1, -1
		for i, t := range r.Times[hidden] {
			if t == snn.NoSpike {
				continue
			}
			if early < 0 && int(t) < readout {
				early = i
			}
			if forced < 0 && int(t) == rect {
				forced = i
			}
			if first < 0 || t < r.Times[hidden][first] {
				first = i
			}
			if lastN < 0 || (t > r.Times[hidden][lastN] && int(t) < rect) {
				lastN = i
			}
		}
		a, b := early, forced
		if a < 0 {
			a = first
		}
		if b < 0 || b == a {
			b = lastN
		}
		for _, k := range []int{a, b} {
			if k >= 0 {
				out = append(out, TraceChoice{hidden, k})
			}
		}
	}
	lastOut := -1
	for i, t := range r.Times[last] {
		if t != snn.NoSpike && i != r.Class && (lastOut < 0 || t > r.Times[last][lastOut]) {
			lastOut = i
		}
	}
	if r.Class >= 0 {
		out = append(out, TraceChoice{last, r.Class})
	}
	if lastOut >= 0 {
		out = append(out, TraceChoice{last, lastOut})
	}
	return out
}

// Membrane draws the membrane potential u(t) of traced neurons, one panel
// each, like the chronogram of the paper's Figure 1: the threshold θ
// (dashed), the window start τ, the readout τ + T and the rectifier step
// (dotted), and the spike (a triangle).
func Membrane(n *snn.Network, traces []*snn.Trace, caption string) (*Figure, error) {
	if len(traces) == 0 {
		return nil, errors.New("plot: no traces")
	}
	f := &Figure{Name: NameMembrane, Title: caption, Caption: "n = 1 test image; dashed: threshold θ; dotted: window start τ, readout τ + T, rectifier step",
		Header: []string{"layer", "neuron", "step", "u", "i"}}
	if _, err := membranePanels(Screen, n, traces, f); err != nil {
		return nil, err
	}
	f.panels = func(st Style) ([][]*gplot.Plot, error) { return membranePanels(st, n, traces, nil) }
	f.height = func(st Style, rows int) vg.Length { return vg.Length(rows) * st.PanelHeight * 0.7 }
	return f, nil
}

// membranePanels builds the traces' panels, st.TraceColumns to a row, in
// style st;
// with rec not nil it also appends the plotted values to rec.Rows.
func membranePanels(st Style, n *snn.Network, traces []*snn.Trace, rec *Figure) ([][]*gplot.Plot, error) {
	cols := st.TraceColumns
	rows := (len(traces) + cols - 1) / cols
	ps := make([][]*gplot.Plot, rows)
	for r := range ps {
		ps[r] = make([]*gplot.Plot, cols)
	}
	full := make([]string, len(n.Layers))
	for i, l := range n.Layers {
		full[i] = l.Name
	}
	short := ShortNames(full)
	for k, tr := range traces {
		l := n.Layers[tr.Layer]
		end := len(tr.U) - 1
		stop := tr.Rectify
		if stop < 0 {
			stop = tr.Readout + l.TOut
		}
		if int(tr.Spike) > stop {
			stop = int(tr.Spike)
		}
		end = min(end, stop+2)
		start := max(tr.Tau-1, 0)
		var u plotter.XYs
		for t := start; t <= end; t++ {
			u = append(u, plotter.XY{X: float64(t), Y: float64(tr.U[t])})
			if rec != nil {
				rec.Rows = append(rec.Rows, []string{l.Name, itoa(tr.Neuron), itoa(t), ftoa(float64(tr.U[t])), ftoa(float64(tr.I[t]))})
			}
		}
		what := describeSpike(tr, l)
		p := newPlot(st, fmt.Sprintf("%s #%d: %s", short[tr.Layer], tr.Neuron, what), "time (global step)", "membrane potential u")
		p.Title.TextStyle.Font.Size = st.Tick
		if k%cols != 0 {
			p.Y.Label.Text = ""
		}
		ln, err := plotter.NewLine(u)
		if err != nil {
			return nil, err
		}
		ln.StepStyle = plotter.PostStep
		ln.Color = color.RGBA{R: 200, A: 255}
		ln.Width = st.Line * 1.2
		p.Add(ln)
		th, _ := plotter.NewLine(plotter.XYs{{X: float64(start), Y: float64(tr.Theta)}, {X: float64(end), Y: float64(tr.Theta)}})
		th.Dashes = []vg.Length{st.Line * 3, st.Line * 2.5}
		th.Color = color.Gray{Y: 80}
		p.Add(th)
		if k == 0 {
			p.Legend.Add("u(t)", ln)
			p.Legend.Add("θ", th)
			// Below the θ line, where u is still near 0.
			p.Legend.Top, p.Legend.Left = true, true
			p.Legend.YOffs = -st.Legend * 2.4
			p.Legend.XOffs = st.Legend / 2
		}
		lo, hi := 0.0, float64(tr.Theta)
		for _, v := range u {
			lo, hi = min(lo, v.Y), max(hi, v.Y)
		}
		for _, s := range []int{tr.Tau, tr.Readout, tr.Rectify} {
			if s < start || s > end {
				continue
			}
			vl, _ := plotter.NewLine(plotter.XYs{{X: float64(s), Y: lo}, {X: float64(s), Y: hi}})
			vl.Color = color.Gray{Y: 150}
			vl.Dashes = []vg.Length{st.Line, st.Line * 2}
			p.Add(vl)
		}
		if tr.Spike != snn.NoSpike {
			sc, _ := plotter.NewScatter(plotter.XYs{{X: float64(tr.Spike), Y: float64(tr.U[tr.Spike])}})
			sc.Shape = draw.TriangleGlyph{}
			sc.Radius = st.Marker * 1.6
			sc.Color = color.Black
			p.Add(sc)
			if k == 0 {
				p.Legend.Add("spike", sc)
			}
		}
		ps[k/cols][k%cols] = p
	}
	return ps, nil
}

func describeSpike(tr *snn.Trace, l *snn.Layer) string {
	switch {
	case tr.Spike == snn.NoSpike:
		return "no spike"
	case int(tr.Spike) < tr.Readout:
		return fmt.Sprintf("early spike at step %d", tr.Spike)
	case tr.Rectify >= 0 && int(tr.Spike) == tr.Rectify && tr.U[tr.Spike] < tr.Theta:
		return fmt.Sprintf("rectified at step %d (value 0)", tr.Spike)
	}
	k := int(tr.Spike) - tr.Readout
	return fmt.Sprintf("spike at step %d (value %.2f)", tr.Spike, float64(l.TOut-k)/float64(l.TOut))
}
