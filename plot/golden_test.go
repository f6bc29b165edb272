package plot_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/plot"
	"github.com/quartz-snn/quartz/sweep"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/*.svg.golden with the current figures")
	pngDir = flag.String("pngdir", "", "also write every golden figure as a PNG to `DIR`, to look at")
)

// goldenFigures are every kind of figure quartz plot draws, on the made-up
// sweep of package sweep, on the VGG-11 sweep shipped in docs/ (a
// results.csv: no per-layer numbers), on a VGG-like per-layer result with
// PyTorch's long node names, and on a tiny network.
func goldenFigures(t *testing.T) map[string]*plot.Figure {
	t.Helper()
	figs := map[string]*plot.Figure{}
	add := func(name string, f *plot.Figure, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		figs[name] = f
	}
	vgg, err := sweep.LoadCSV(filepath.Join("..", "docs", "cifar_vgg11_sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []struct {
		name string
		s    *sweep.Results
	}{{"fixed", fixed(t)}, {"vgg11", vgg}} {
		for _, mk := range []func(*sweep.Results) (*plot.Figure, error){plot.ErrorVsTmax, plot.ErrorVsOps, plot.ErrorVsEnergy, plot.ErrorVsPercentile} {
			f, err := mk(src.s)
			add(src.name, f, err)
			figs[src.name+"_"+f.Name] = f
			delete(figs, src.name)
		}
	}
	s := fixed(t)
	f, err := plot.LayerCosts(s.Points[s.Best])
	add("fixed_layers", f, err)
	f, err = plot.LayerCosts(longNames())
	add("torch_layers", f, err)
	for _, f := range networkFigures(t) {
		figs["tiny_"+f.Name] = f
	}
	return figs
}

// longNames is a per-layer result of a VGG-11 exported by PyTorch 2: node
// names like "/features/features.10/Conv".
func longNames() *pipeline.Result {
	r := &pipeline.Result{Model: "vgg11_torch.onnx", Data: "cifar10/test", Samples: 10000, Tmax: 32, Percentile: 99.9}
	conv := []int{0, 3, 6, 8, 11, 13, 16, 18}
	pool := map[int]int{0: 2, 1: 5, 3: 10, 5: 15, 7: 20}
	for i, c := range conv {
		n := 32 * 32 * 64 >> (i / 2)
		r.Layers = append(r.Layers, pipeline.LayerResult{Name: fmt.Sprintf("/features/features.%d/Conv", c), Kind: "Conv", Neurons: n,
			Spikes: float64(n) * 0.3, SynapticEvents: float64(n) * 27 * 0.3 * float64(i+1), EarlyPct: 0.4 * float64(i%3)})
		if p, ok := pool[i]; ok {
			r.Layers = append(r.Layers, pipeline.LayerResult{Name: fmt.Sprintf("/features/features.%d/MaxPool", p), Kind: "MaxPool", Neurons: n / 4,
				Spikes: float64(n) / 4 * 0.3, SynapticEvents: float64(n) * 0.3})
		}
	}
	for i, c := range []int{0, 3, 6} {
		n := []int{4096, 4096, 10}[i]
		r.Layers = append(r.Layers, pipeline.LayerResult{Name: fmt.Sprintf("/classifier/classifier.%d/Gemm", c), Kind: "Linear", Neurons: n,
			Spikes: float64(n) * 0.2, SynapticEvents: float64(n) * 100, EarlyPct: 0.1})
	}
	return r
}

// TestGoldenSVG draws every figure in both styles and compares the SVG
// with testdata/NAME.STYLE.svg.golden (go test ./plot -update rewrites
// them). Beside the bytes it checks what makes a figure readable, so that
// a regenerated golden file cannot hide a regression: no two pieces of
// text overlap and none leaves the canvas, and every axis with numeric
// ticks has at least plot.MinTickLabels labels.
func TestGoldenSVG(t *testing.T) {
	for name, f := range goldenFigures(t) {
		for _, st := range plot.Styles {
			t.Run(name+"/"+st.Name, func(t *testing.T) {
				svg, err := f.Render(st, "svg")
				if err != nil {
					t.Fatal(err)
				}
				again, _ := f.Render(st, "svg")
				if !bytes.Equal(svg, again) {
					t.Fatal("two renderings differ: the SVG is not deterministic")
				}
				checkReadable(t, f, st)
				if *pngDir != "" {
					png, err := f.Render(st, "png")
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(*pngDir, name+"."+st.Name+".png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				path := filepath.Join("testdata", name+"."+st.Name+".svg.golden")
				if *update {
					if err := os.WriteFile(path, svg, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./plot -update writes it)", err)
				}
				if !bytes.Equal(svg, want) {
					t.Errorf("%s differs from %s (go test ./plot -update rewrites it after you have looked at the figure)", name, path)
				}
			})
		}
	}
}

// checkReadable draws f on a canvas that records every piece of text and
// checks the text and the ticks.
func checkReadable(t *testing.T, f *plot.Figure, st plot.Style) {
	t.Helper()
	w, h, err := f.Size(st)
	if err != nil {
		t.Fatal(err)
	}
	rec := &textRecorder{w: w, h: h, stack: []affine{identity}}
	panels, err := plot.DrawForTest(f, st, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.texts) < 4 {
		t.Fatalf("only %d pieces of text", len(rec.texts))
	}
	const tol = 0.25 // points: rounding in the font metrics
	for i, a := range rec.texts {
		if a.box.Min.X < -tol || a.box.Min.Y < -tol || a.box.Max.X > float64(w)+tol || a.box.Max.Y > float64(h)+tol {
			t.Errorf("%q (%v) leaves the %v × %v pt canvas", a.s, a.box, w, h)
		}
		for _, b := range rec.texts[i+1:] {
			// Side by side, two pieces of text need a gap of 2 points
			// (a third of a space at 8 points) to read as two.
			if in := a.box.Intersect(b.box); in.Dx() > -2 && in.Dy() > tol {
				t.Errorf("%q (%v) overlaps %q (%v)", a.s, a.box, b.s, b.box)
			}
		}
	}
	for _, row := range panels {
		for _, p := range row {
			if p == nil {
				continue
			}
			for _, ax := range []struct {
				name string
				a    *gplot.Axis
			}{{"x", &p.X}, {"y", &p.Y}} {
				a := ax.a
				if !plot.IsNumericMarker(a.Tick.Marker) {
					continue
				}
				n := 0
				for _, tk := range a.Tick.Marker.Ticks(a.Min, a.Max) {
					if tk.Label != "" && tk.Value >= a.Min && tk.Value <= a.Max {
						n++
					}
				}
				if n < plot.MinTickLabels {
					t.Errorf("panel %q: %s axis [%g, %g] has %d labelled ticks, want ≥ %d", p.Title.Text, ax.name, a.Min, a.Max, n, plot.MinTickLabels)
				}
			}
		}
	}
}

// affine is the matrix [a c e; b d f; 0 0 1].
type affine struct{ a, b, c, d, e, f float64 }

var identity = affine{a: 1, d: 1}

func (m affine) mul(n affine) affine {
	return affine{
		a: m.a*n.a + m.c*n.b, b: m.b*n.a + m.d*n.b,
		c: m.a*n.c + m.c*n.d, d: m.b*n.c + m.d*n.d,
		e: m.a*n.e + m.c*n.f + m.e, f: m.b*n.e + m.d*n.f + m.f,
	}
}

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.c*y + m.e, m.b*x + m.d*y + m.f
}

type text struct {
	s   string
	box rect
}

type rect struct{ Min, Max struct{ X, Y float64 } }

func (r rect) Intersect(s rect) rect {
	var o rect
	o.Min.X, o.Min.Y = math.Max(r.Min.X, s.Min.X), math.Max(r.Min.Y, s.Min.Y)
	o.Max.X, o.Max.Y = math.Min(r.Max.X, s.Max.X), math.Min(r.Max.Y, s.Max.Y)
	return o
}

func (r rect) Dx() float64 { return r.Max.X - r.Min.X }
func (r rect) Dy() float64 { return r.Max.Y - r.Min.Y }

func (r rect) String() string {
	return fmt.Sprintf("[%.1f,%.1f]×[%.1f,%.1f]", r.Min.X, r.Max.X, r.Min.Y, r.Max.Y)
}

// textRecorder is a vg.Canvas that draws nothing and records the box of
// every string drawn on it, in canvas coordinates (points).
type textRecorder struct {
	w, h  vg.Length
	stack []affine
	texts []text
}

func (r *textRecorder) top() *affine                        { return &r.stack[len(r.stack)-1] }
func (r *textRecorder) Size() (vg.Length, vg.Length)        { return r.w, r.h }
func (r *textRecorder) SetLineWidth(vg.Length)              {}
func (r *textRecorder) SetLineDash([]vg.Length, vg.Length)  {}
func (r *textRecorder) SetColor(color.Color)                {}
func (r *textRecorder) Stroke(vg.Path)                      {}
func (r *textRecorder) Fill(vg.Path)                        {}
func (r *textRecorder) DrawImage(vg.Rectangle, image.Image) {}
func (r *textRecorder) Push()                               { r.stack = append(r.stack, *r.top()) }
func (r *textRecorder) Pop()                                { r.stack = r.stack[:len(r.stack)-1] }

func (r *textRecorder) Rotate(rad float64) {
	s, c := math.Sincos(rad)
	*r.top() = r.top().mul(affine{a: c, b: s, c: -s, d: c})
}

func (r *textRecorder) Translate(pt vg.Point) {
	*r.top() = r.top().mul(affine{a: 1, d: 1, e: float64(pt.X), f: float64(pt.Y)})
}

func (r *textRecorder) Scale(x, y float64) { *r.top() = r.top().mul(affine{a: x, d: y}) }

func (r *textRecorder) FillString(f font.Face, pt vg.Point, s string) {
	if strings.TrimSpace(s) == "" || f.Font.Size == 0 {
		return
	}
	// The ink of Latin text: descenders to 0.21 em below the baseline,
	// capitals and ascenders to 0.75 em above (the font's ascent, 0.9 em,
	// keeps room for accents that the labels do not have).
	em := float64(f.Font.Size)
	x0, x1 := float64(pt.X), float64(pt.X+f.Width(s))
	y0, y1 := float64(pt.Y)-0.21*em, float64(pt.Y)+0.75*em
	var b rect
	b.Min.X, b.Min.Y = math.Inf(1), math.Inf(1)
	b.Max.X, b.Max.Y = math.Inf(-1), math.Inf(-1)
	for _, c := range [][2]float64{{x0, y0}, {x0, y1}, {x1, y0}, {x1, y1}} {
		x, y := r.top().apply(c[0], c[1])
		b.Min.X, b.Min.Y = math.Min(b.Min.X, x), math.Min(b.Min.Y, y)
		b.Max.X, b.Max.Y = math.Max(b.Max.X, x), math.Max(b.Max.Y, y)
	}
	r.texts = append(r.texts, text{s, b})
}
