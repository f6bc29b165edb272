package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/plot"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/sweep"
)

func init() {
	register(&command{
		name:    "plot",
		summary: "draw a sweep's figures (error vs Tmax, operations, energy, percentile; per-layer costs; with --model: normalization, spike raster, membrane traces) as PNG, SVG and CSV",
		run:     runPlot,
	})
}

// plotsDir is where quartz plot writes, under the sweep's directory.
const plotsDir = "plots"

// fig6Samples is the number of test images whose activations Figure 6 shows.
const fig6Samples = 20

func runPlot(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "plot", "[flags] DIR|results.csv")
	out := fs.String("o", "", "output `DIR` for the figures (default: DIR/plots, or DIR/plots-paper with --style paper; beside a results.csv: NAME-plots)")
	styleName := fs.String("style", "screen", "figure `style`: screen (7 in wide, PNG at 100 dpi) or paper (one 3.5 in journal column, 8–9 pt text)")
	dpi := fs.Int("dpi", 0, "resolution of the PNG files in `DPI` (default: the style's, 100 for screen, 300 for paper)")
	formatList := fs.String("format", "", "picture `formats`, comma separated, of png, svg, pdf (default png,svg for screen, pdf,svg,png for paper); a CSV of the plotted numbers is always written")
	model := fs.String("model", "", "the sweep's model `FILE.onnx`: adds the normalization figure, the spike raster and the membrane traces")
	var d dataFlags
	d.register(fs, "mnist", "test")
	sample := fs.Int("sample", 0, "test sample `i` of the raster and membrane figures")
	calibN := fs.Int("calib", pipeline.DefaultCalib, "calibration samples (as in the sweep)")
	calibSeed := fs.Uint64("calib-seed", 1, "seed of the calibration draw (as in the sweep)")
	tmax := fs.Int("tmax", 0, "Tmax of the point shown by the per-layer, raster and membrane figures (0: the best point's)")
	pct := fs.Float64("percentile", 0, "percentile of that point (0: the best point's)")
	var pre preprocFlags
	pre.register(fs)
	var analog analogFlag
	fs.Var(&analog, "analog-first", "as the sweep ran (its recorded setting is used; a different one is refused)")
	workers := workersFlag(fs)
	// DIR may come before the flags too (quartz plot DIR --model F).
	if err := parse(fs, args, 1<<20); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		dir := fs.Arg(0)
		if err := parse(fs, fs.Args()[1:], 0); err != nil {
			return err
		}
		args = []string{dir}
	} else {
		args = nil
	}
	if len(args) != 1 {
		fmt.Fprintln(e.stderr, "quartz plot: the sweep directory DIR is required")
		fs.Usage()
		return errUsage
	}
	dir := args[0]
	st, err := plot.StyleNamed(*styleName)
	if err != nil {
		return fmt.Errorf("--style: %w", err)
	}
	if *dpi < 0 || *dpi > 1200 {
		return fmt.Errorf("--dpi %d: want 1..1200 (0: the style's)", *dpi)
	}
	if *dpi > 0 {
		st.DPI = *dpi
	}
	formats := []string{"png", "svg"}
	if st.Name == plot.Paper.Name {
		formats = []string{"pdf", "svg", "png"}
	}
	if *formatList != "" {
		if formats, err = plot.ParseFormats(*formatList); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	var res *sweep.Results
	fromCSV := false
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		// A results.csv, such as the sweeps shipped in docs/.
		fromCSV = true
		if res, err = sweep.LoadCSV(dir); err != nil {
			return fmt.Errorf("%s: not a sweep's results.csv: %w", dir, err)
		}
		if *model != "" {
			return fmt.Errorf("--model: %s is a results.csv, which does not identify its model; --model needs a sweep directory", dir)
		}
	} else if res, err = sweep.Load(dir); err != nil {
		return fmt.Errorf("%s: not a finished sweep (run quartz sweep -o %s first): %w", dir, dir, err)
	}
	if *model != "" {
		if err := checkSweepModel(dir, *model); err != nil {
			return err
		}
	}
	if *out == "" {
		switch {
		case fromCSV:
			*out = strings.TrimSuffix(dir, filepath.Ext(dir)) + "-plots"
		case st.Name == plot.Paper.Name:
			*out = filepath.Join(dir, plotsDir+"-paper")
		default:
			*out = filepath.Join(dir, plotsDir)
		}
		if st.Name == plot.Paper.Name && fromCSV {
			*out += "-paper"
		}
	}
	point := res.Points[res.Best]
	if *tmax != 0 || *pct != 0 {
		point = nil
		for _, r := range res.Points {
			if (*tmax == 0 || r.Tmax == *tmax) && (*pct == 0 || r.Percentile == *pct) {
				point = r
				break
			}
		}
		if point == nil {
			return fmt.Errorf("--tmax %d --percentile %g: no such point in %s", *tmax, *pct, dir)
		}
	}
	if analog.set && analog.on != point.Analog {
		return fmt.Errorf("--analog-first=%v: the sweep in %s ran with --analog-first=%v, and plot draws what it ran; leave the flag out", analog.on, dir, point.Analog)
	}
	if res.SelectOn != sweep.SelectVal {
		fmt.Fprintf(e.stderr, "note: %s chose its best point on the test set: the figures say so, and the best point's test error is biased low\n", dir)
	}

	var figs []*plot.Figure
	add := func(f *plot.Figure, err error) error {
		if errors.Is(err, plot.ErrNoEnergy) {
			fmt.Fprintf(e.stderr, "note: %v\n", err)
			return nil
		}
		if err != nil {
			return err
		}
		figs = append(figs, f)
		return nil
	}
	for _, mk := range []func(*sweep.Results) (*plot.Figure, error){plot.ErrorVsTmax, plot.ErrorVsOps, plot.ErrorVsEnergy, plot.ErrorVsPercentile} {
		if err := add(mk(res)); err != nil {
			return err
		}
	}
	if len(point.Layers) > 0 {
		if err := add(plot.LayerCosts(point)); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stderr, "note: the per-layer figure needs the per-layer numbers of a sweep directory's results.json; a results.csv has none")
	}
	if *model != "" {
		nf, err := networkFigures(ctx, *model, &pre, d, *calibN, *calibSeed, *workers, *sample, point, e)
		if err != nil {
			return err
		}
		figs = append(figs, nf...)
	} else {
		fmt.Fprintln(e.stderr, "note: the normalization, raster and membrane figures need the network: add --model FILE.onnx (and --data)")
	}
	exts := "{" + strings.Join(append(append([]string(nil), formats...), "csv"), ",") + "}"
	for _, f := range figs {
		if _, err := f.Save(*out, st, formats...); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-50s %s\n", plot.Title(f.Name), filepath.Join(*out, f.Name)+"."+exts)
	}
	// A report written by quartz sweep --report gains the links.
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err == nil && !fromCSV && *out == filepath.Join(dir, plotsDir) {
		name, err := writeSweepMarkdown(dir, res)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "updated %s with the figures\n", name)
	}
	return nil
}

// networkFigures draws the figures that need the network itself (path, with
// the sweep's input preprocessing pre): Figure 6
// (classic vs bias-corrected normalization at the point's percentile), the
// spike raster and the membrane traces of test sample i at the point.
func networkFigures(ctx context.Context, path string, pre *preprocFlags, d dataFlags, calibN int, seed uint64, workers, sample int, point *pipeline.Result, e *env) ([]*plot.Figure, error) {
	pre.analogFirst = point.Analog
	m, err := loadModel(path, pre)
	if err != nil {
		return nil, err
	}
	if err := m.InferShapes(); err != nil {
		return nil, err
	}
	s, err := graph.Simplify(m)
	if err != nil {
		return nil, fmt.Errorf("simplify: %w", err)
	}
	if err := s.InferShapes(); err != nil {
		return nil, err
	}
	test, err := d.open(d.split)
	if err != nil {
		return nil, err
	}
	if sample < 0 || sample >= test.Len() {
		return nil, fmt.Errorf("--sample %d: the test set has samples 0..%d", sample, test.Len()-1)
	}
	calib, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: "train"})
	if err != nil {
		return nil, fmt.Errorf("calibration set: %w", err)
	}
	cal, _, err := pipeline.Calibrate(ctx, s, calib, calibN, seed, workers, e.stderr)
	if err != nil {
		return nil, err
	}
	ncfg := normalize.Config{Percentile: point.Percentile}
	nm, rep, err := cal.Normalize(ncfg)
	if err != nil {
		return nil, err
	}
	// The classic scheme measures layer by layer: one pass per layer over
	// the same calibration samples.
	idx := pipeline.CalibIndices(calib.Len(), calibN, seed)
	run := func(mm *graph.Model) normalize.Source {
		return func(fn func(int, []float32)) error {
			net, err := nn.New(mm, workers)
			if err != nil {
				return err
			}
			defer net.Close()
			const chunk = 256
			x := make([]float32, chunk*calib.SampleSize())
			y := make([]int32, chunk)
			for lo := 0; lo < len(idx); lo += chunk {
				if err := ctx.Err(); err != nil {
					return err
				}
				k := min(chunk, len(idx)-lo)
				calib.Gather(idx[lo:lo+k], x, y)
				net.Activations(x[:k*calib.SampleSize()], k, fn)
			}
			return nil
		}
	}
	var figs []*plot.Figure
	if s.IsChain() {
		classic, _, err := normalize.NormalizeClassic(s, run, ncfg)
		if err != nil {
			return nil, err
		}
		n6 := min(fig6Samples, test.Len())
		x := make([]float32, n6*test.SampleSize())
		ids := make([]int, n6)
		for i := range ids {
			ids[i] = i
		}
		test.Gather(ids, x, make([]int32, n6))
		f6, err := plot.Normalization(plot.NormalizationInput{Original: s, Corrected: nm, Classic: classic, Report: rep, X: x, N: n6, Workers: workers})
		if err != nil {
			return nil, err
		}
		figs = append(figs, f6)
	} else {
		fmt.Fprintln(e.stderr, "note: the normalization figure compares with the classic scheme, which takes chains only: skipped for this branching network")
	}

	net, err := snn.Convert(nm, snn.Config{Tmax: point.Tmax, AnalogFirst: point.Analog, Threshold: thresholdOf(point.Threshold)})
	if err != nil {
		return nil, err
	}
	o, err := snn.NewOracle(net)
	if err != nil {
		return nil, err
	}
	xi := make([]float32, test.SampleSize())
	lab := make([]int32, 1)
	test.Gather([]int{sample}, xi, lab)
	var r snn.SampleResult
	if err := o.Simulate(xi, &r); err != nil {
		return nil, err
	}
	caption := fmt.Sprintf("Spike raster: %s sample %d (label %d, SNN class %d), Tmax %d, percentile %g", test.Name, sample, lab[0], r.Class, point.Tmax, point.Percentile)
	fr, err := plot.Raster(net, &r, caption)
	if err != nil {
		return nil, err
	}
	figs = append(figs, fr)
	var traces []*snn.Trace
	for _, c := range plot.PickTraces(net, &r) {
		tr, err := o.TraceNeuron(&r, c.Layer, c.Neuron)
		if err != nil {
			return nil, err
		}
		traces = append(traces, tr)
	}
	if len(traces) > 0 {
		fm, err := plot.Membrane(net, traces, fmt.Sprintf("Membrane potential, %s sample %d, Tmax %d", test.Name, sample, point.Tmax))
		if err != nil {
			return nil, err
		}
		figs = append(figs, fm)
	}
	return figs, nil
}

func thresholdOf(s string) snn.Threshold {
	if s == "truncate" {
		return snn.Truncate
	}
	return snn.Round
}

// checkSweepModel refuses a --model whose SHA-256 differs from the one the
// sweep in dir recorded (sweep.json's model_id, "sha256:HEX" and the
// preprocessing flags): its figures would mix two networks.
func checkSweepModel(dir, model string) error {
	id, err := sweep.ModelID(dir)
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(strings.TrimSpace(id), " ")
	rec, ok := strings.CutPrefix(first, "sha256:")
	if !ok {
		return nil // a sweep that recorded no fingerprint
	}
	sum, err := fileSHA256(model)
	if err != nil {
		return err
	}
	if sum != rec {
		return fmt.Errorf("%s: the sweep in %s was run on a model with SHA-256 %.12s…, not this one (%.12s…): its figures would mix two networks", model, dir, rec, sum)
	}
	return nil
}
