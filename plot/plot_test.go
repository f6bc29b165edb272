package plot_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/plot"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/sweep"
)

// fixed reads the made-up sweep of package sweep's golden tests.
func fixed(t *testing.T) *sweep.Results {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "sweep", "testdata", "results.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var s sweep.Results
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// checkFigure saves f and checks that the PNG decodes at the figure's size,
// that the SVG is an SVG and that the CSV has the header and rows.
func checkFigure(t *testing.T, f *plot.Figure, minRows int) {
	t.Helper()
	dir := t.TempDir()
	files, err := f.Save(dir, plot.Screen, "png", "svg", "pdf")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("%s: saved %v", f.Name, files)
	}
	data, err := os.ReadFile(filepath.Join(dir, f.Name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s.png: %v", f.Name, err)
	}
	w, h, err := f.Size(plot.Screen)
	if err != nil {
		t.Fatal(err)
	}
	wantW := int(math.Round(float64(w) / 72 * float64(plot.Screen.DPI)))
	wantH := int(math.Round(float64(h) / 72 * float64(plot.Screen.DPI)))
	if b := img.Bounds(); abs(b.Dx()-wantW) > 1 || abs(b.Dy()-wantH) > 1 {
		t.Errorf("%s.png is %d×%d pixels, want %d×%d", f.Name, b.Dx(), b.Dy(), wantW, wantH)
	}
	if len(data) > 400<<10 {
		t.Errorf("%s.png is %d bytes", f.Name, len(data))
	}
	if pdf, err := os.ReadFile(filepath.Join(dir, f.Name+".pdf")); err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("%s.pdf: %v, not a PDF", f.Name, err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, f.Name+".svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("%s.svg: %v, not an SVG", f.Name, err)
	}
	cf, err := os.Open(filepath.Join(dir, f.Name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	recs, err := csv.NewReader(cf).ReadAll()
	if err != nil {
		t.Fatalf("%s.csv: %v", f.Name, err)
	}
	if len(recs) < 1+minRows || strings.Join(recs[0], ",") != strings.Join(f.Header, ",") {
		t.Errorf("%s.csv: %d records, header %v", f.Name, len(recs), recs[0])
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestSweepFigures(t *testing.T) {
	s := fixed(t)
	for _, c := range []struct {
		mk   func(*sweep.Results) (*plot.Figure, error)
		rows int
	}{
		{plot.ErrorVsTmax, 6},
		{plot.ErrorVsOps, 7},
		{plot.ErrorVsEnergy, 7},
		{plot.ErrorVsPercentile, 6},
	} {
		f, err := c.mk(s)
		if err != nil {
			t.Fatal(err)
		}
		checkFigure(t, f, c.rows)
	}
	f, err := plot.LayerCosts(s.Points[s.Best])
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f, 3)

	// Without energy estimates Figure 4 is skipped, with a reason.
	for _, r := range s.Points {
		r.Energy = nil
	}
	if _, err := plot.ErrorVsEnergy(s); !errors.Is(err, plot.ErrNoEnergy) {
		t.Fatalf("no energy: err %v, want ErrNoEnergy", err)
	}
}

func tinyModel() *graph.Model {
	r := rand.New(rand.NewPCG(5, 6))
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	m := &graph.Model{Name: "tiny", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{3, 1, 3, 3}, W: vec(27, 1), B: vec(3, 0.3),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "conv2", Op: graph.Conv, WShape: []int{4, 3, 3, 3}, W: vec(108, 0.6), B: vec(4, 0.3),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{3, 16}, W: vec(48, 0.5), B: vec(3, 0.2)},
	}}
	if err := m.InferShapes(); err != nil {
		panic(err)
	}
	return m
}

func TestNetworkFigures(t *testing.T) {
	figs := networkFigures(t)
	for i, rows := range []int{100, 10, 10} {
		checkFigure(t, figs[i], rows)
	}
}

// networkFigures draws Figure 6, the raster and the membrane traces of a
// tiny random network.
func networkFigures(t *testing.T) []*plot.Figure {
	t.Helper()
	m := tinyModel()
	r := rand.New(rand.NewPCG(7, 8))
	const n = 6
	x := make([]float32, n*36)
	for i := range x {
		x[i] = r.Float32()
	}
	run := func(mm *graph.Model) normalize.Source {
		return func(fn func(int, []float32)) error {
			net, err := nn.New(mm, 1)
			if err != nil {
				return err
			}
			defer net.Close()
			net.Activations(x, n, fn)
			return nil
		}
	}
	cfg := normalize.Config{Percentile: 99}
	nm, rep, err := normalize.Normalize(m, run(m), cfg)
	if err != nil {
		t.Fatal(err)
	}
	classic, _, err := normalize.NormalizeClassic(m, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f6, err := plot.Normalization(plot.NormalizationInput{Original: m, Corrected: nm, Classic: classic, Report: rep, X: x, N: n, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	net, err := snn.Convert(nm, snn.Config{Tmax: 32})
	if err != nil {
		t.Fatal(err)
	}
	o, err := snn.NewOracle(net)
	if err != nil {
		t.Fatal(err)
	}
	var res snn.SampleResult
	if err := o.Simulate(x[:36], &res); err != nil {
		t.Fatal(err)
	}
	fr, err := plot.Raster(net, &res, "tiny sample 0")
	if err != nil {
		t.Fatal(err)
	}
	var traces []*snn.Trace
	picks := plot.PickTraces(net, &res)
	if len(picks) < 2 {
		t.Fatalf("PickTraces chose %v", picks)
	}
	for _, c := range picks {
		tr, err := o.TraceNeuron(&res, c.Layer, c.Neuron)
		if err != nil {
			t.Fatal(err)
		}
		traces = append(traces, tr)
	}
	fm, err := plot.Membrane(net, traces, "tiny membrane")
	if err != nil {
		t.Fatal(err)
	}
	return []*plot.Figure{f6, fr, fm}
}

func TestTitle(t *testing.T) {
	for _, n := range plot.Names {
		if plot.Title(n) == n {
			t.Errorf("figure %s has no title", n)
		}
	}
	if plot.Title("other") != "other" {
		t.Error("unknown names should be their own title")
	}
}
