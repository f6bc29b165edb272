package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/graph"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/ratecode"
	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/shard"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/sweep"
)

func init() {
	register(&command{
		name:    "sweep",
		summary: "evaluate a model over a grid of Tmax and normalization percentiles (resumable); write results.csv/json",
		run:     runSweep,
	})
}

// Default grid: the paper's Figure 2 windows and Figure 7 percentiles.
const (
	defaultSweepTmax = "1,2,4,8,16,32,64"
	defaultSweepPct  = "97,98.5,99,99.9,99.99"
)

func runSweep(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sweep", "--model FILE.onnx --data mnist -o DIR [flags]")
	model := fs.String("model", "", "model `FILE.onnx` (required)")
	out := fs.String("o", "", "output `DIR` (required); a rerun continues the sweep in it")
	tmaxList := fs.String("tmax", defaultSweepTmax, "windows T to sweep, comma separated")
	pctList := fs.String("percentile", defaultSweepPct, "normalization percentiles to sweep, comma separated")
	var d dataFlags
	d.register(fs, "mnist", "test")
	calibN := fs.Int("calib", pipeline.DefaultCalib, "calibration samples drawn from the training split")
	calibSeed := fs.Uint64("calib-seed", 1, "seed of the calibration draw")
	threshold := fs.String("threshold", "round", "firing threshold: round (θ = T−½) or truncate (θ = T)")
	var analog analogFlag
	fs.Var(&analog, "analog-first", analogUsage)
	mdReport := fs.Bool("report", false, "also write a Markdown report, DIR/report.md")
	rateSteps := fs.Int("rate-steps", 0, "also run the rate-coded baseline for `N` steps once per percentile (0: off); DIR/rate.csv")
	selectOn := fs.String("select-on", sweep.SelectVal, "choose the best point on `val` (a validation slice of training images outside the calibration draw) or test (the test set it reports: biased)")
	valN := fs.Int("val-samples", sweep.DefaultValSamples, "size `N` of the validation slice of --select-on val")
	var pre preprocFlags
	pre.register(fs)
	cache := fs.String("cache", "", "calibration cache `DIR` (default $XDG_CACHE_HOME/quartz or ~/.cache/quartz)")
	noCache := fs.Bool("no-cache", false, "neither read nor write the calibration cache")
	var maxMem memFlag
	fs.Var(&maxMem, "max-memory", memUsage)
	var prog progressFlags
	prog.register(fs)
	workers := workersFlag(fs)
	var sh shardFlag
	fs.Var(&sh, "shard", shardUsage+" (-o DIR holds the part)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	sharded := sh.spec != nil || e.plan != nil // quartz slurm's plan: as its shards
	if sharded && *mdReport {
		return errors.New("--shard: --report is written by quartz merge (DIR/report.md), not by a shard")
	}
	if sharded && *rateSteps != 0 {
		return errors.New("--shard: the rate-coded baseline (--rate-steps) is not sharded; run it in an unsharded sweep")
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(e.stderr, "quartz sweep: --model and -o are required")
		fs.Usage()
		return errUsage
	}
	grid, err := parseGrid(*tmaxList, *pctList)
	if err != nil {
		return err
	}
	if *calibN < 1 || *calibN > pipeline.MaxCalib {
		return fmt.Errorf("--calib %d: want 1..%d", *calibN, pipeline.MaxCalib)
	}
	if *rateSteps < 0 || *rateSteps > ratecode.MaxSteps {
		return fmt.Errorf("--rate-steps %d: want 0 (off) or 1..%d", *rateSteps, ratecode.MaxSteps)
	}
	switch *selectOn {
	case sweep.SelectVal, sweep.SelectTest:
	default:
		return fmt.Errorf("--select-on %q: want val or test", *selectOn)
	}
	if *valN < 1 || *valN > pipeline.MaxCalib {
		return fmt.Errorf("--val-samples %d: want 1..%d", *valN, pipeline.MaxCalib)
	}
	progW, err := prog.writer(e.stderr)
	if err != nil {
		return err
	}
	cfg := sweep.Config{Grid: grid, ModelName: filepath.Base(*model), Calib: *calibN, CalibSeed: *calibSeed,
		AnalogFirst: analog.on, Workers: *workers, Progress: progW, RateSteps: *rateSteps, MaxMemory: maxMem.limit(),
		SelectOn: *selectOn, ValSamples: *valN}
	if !*noCache {
		cfg.Cache = cacheDir(*cache)
	}
	switch *threshold {
	case "round":
		cfg.Threshold = snn.Round
	case "truncate":
		cfg.Threshold = snn.Truncate
	default:
		return fmt.Errorf("--threshold %q: want round or truncate", *threshold)
	}
	if e.plan == nil {
		if err := checkOutDir(*out); err != nil {
			return err
		}
	}
	raw, err := os.ReadFile(*model)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	cfg.ModelID = "sha256:" + hex.EncodeToString(sum[:])
	if pre.set() {
		cfg.ModelID += " " + pre.String()
	}
	pm, err := onnx.Decode(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *model, err)
	}
	m, _, err := onnx.ConvertWith(pm, onnx.Options{Dir: filepath.Dir(*model), Output: pre.output})
	if err != nil {
		return fmt.Errorf("%s: %w", *model, err)
	}
	if err := checkNodes(*model, m); err != nil {
		return err
	}
	m.Name = filepath.Base(*model) // not the exporter's graph name
	calib, err := d.calibSet(m)
	if err != nil {
		return err
	}
	warn, err := pre.checkInput(ctx, *model, m, calib, *workers, cfg.MaxMemory)
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintf(e.stderr, "warning: %s\n", warn)
	}
	pre.analogFirst = analog.allows()
	if m, err = pre.apply(m); err != nil {
		return fmt.Errorf("%s: %w", *model, err)
	}
	on, note := analog.resolve(m)
	if !on {
		if on, note, err = analog.resolveData(calib); err != nil {
			return fmt.Errorf("%s: %w", d.spec, err)
		}
	}
	if note != "" {
		cfg.AnalogFirst = on
		fmt.Fprintf(e.stderr, "note: %s\n", note)
	}
	if calib.Unsplit() {
		fmt.Fprintf(e.stderr, "note: %s\n", unsplitNote)
	}
	open := d.openSized
	if sh.spec != nil || e.plan != nil {
		open = d.openShard
	}
	test, err := open(d.split, graph.Size(m.InputShape))
	if err != nil {
		return err
	}
	note, err = pipeline.CheckInput(fmt.Sprintf("model %q", filepath.Base(*model)), m.InputShape, test)
	if err != nil {
		return err
	}
	printNotes(e, note)
	if e.plan != nil {
		return planSweep(e.plan, m, calib, test, len(grid.Points()), *workers)
	}
	if err := pipeline.CheckMemory("evaluating the ANN", pipeline.EstimateEvaluate(m, test, *workers), cfg.MaxMemory); err != nil {
		return err
	}
	if sh.spec != nil {
		return sweepShard(ctx, e, *sh.spec, *out, m, calib, test, cfg, d)
	}
	res, err := sweep.Run(ctx, m, calib, test, *out, cfg)
	if err != nil {
		if *selectOn == sweep.SelectVal && strings.Contains(err.Error(), "validation slice") {
			return fmt.Errorf("--select-on val: %w (--calib N, or --select-on test)", err)
		}
		return err
	}
	if err := report.SweepText(e.stdout, res); err != nil {
		return err
	}
	if len(res.Rate) > 0 {
		noun := "rate baselines"
		if len(res.Rate) == 1 {
			noun = "rate baseline"
		}
		fmt.Fprintf(e.stdout, "\n%d points (%d computed now) and %d %s (%d computed now) in %.1f s; wrote %s, %s and %s\n",
			len(res.Points), res.Computed, len(res.Rate), noun, res.RateComputed, res.Seconds,
			filepath.Join(*out, "results.csv"), filepath.Join(*out, "rate.csv"), filepath.Join(*out, "results.json"))
	} else {
		fmt.Fprintf(e.stdout, "\n%d points (%d computed now) in %.1f s; wrote %s and %s\n", len(res.Points), res.Computed, res.Seconds,
			filepath.Join(*out, "results.csv"), filepath.Join(*out, "results.json"))
	}
	if *mdReport {
		name, err := writeSweepMarkdown(*out, res)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", name)
	}
	return nil
}

func parseGrid(tmax, pct string) (sweep.Grid, error) {
	var g sweep.Grid
	var err error
	if g.Tmax, err = sweep.ParseInts(tmax); err != nil {
		return g, fmt.Errorf("--tmax %q: %v", tmax, err)
	}
	if g.Percentiles, err = sweep.ParseFloats(pct); err != nil {
		return g, fmt.Errorf("--percentile %q: %v", pct, err)
	}
	if err := g.Validate(); err != nil {
		return g, fmt.Errorf("--tmax %q --percentile %q: %v", tmax, pct, err)
	}
	return g, nil
}

// checkOutDir fails early when dir exists and is not a directory, or
// cannot be created or read.
func checkOutDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("-o %s: not a directory", dir)
		}
		if _, err := os.ReadDir(dir); err != nil {
			return fmt.Errorf("-o %s: %v", dir, err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-o %s: %v", dir, err)
	}
	return nil
}

// sweepShard runs shard sp of the sweep and writes its part under dir.
func sweepShard(ctx context.Context, e *env, sp shard.Spec, dir string, m *graph.Model, calib, test *dataset.Set, cfg sweep.Config, d dataFlags) error {
	part, err := sweep.RunShard(ctx, m, calib, test, cfg, sp)
	if err != nil {
		return err
	}
	fp, err := test.Fingerprint()
	if err != nil {
		return err
	}
	conf := canon("split", d.split, "tmax", intsString(cfg.Grid.Tmax), "percentile", pctList(cfg.Grid.Percentiles),
		"calib", strconv.Itoa(part.Manifest.Calib), "calib_seed", strconv.FormatUint(cfg.CalibSeed, 10),
		"threshold", cfg.Threshold.String(), "analog_first", strconv.FormatBool(cfg.AnalogFirst))
	id := shard.Identity{Kind: "sweep", Model: cfg.ModelName, ModelSHA256: cfg.ModelID, Data: test.Name, DataFingerprint: fp,
		Samples: test.Len(), CalibKey: part.CalibKey, Config: conf}
	name, err := writePart(dir, &partFile{Header: shard.NewHeader(sp, id), Sweep: part})
	if err != nil {
		return err
	}
	pts := map[string]bool{}
	for _, sg := range part.Segments {
		pts[sweep.Point{Tmax: sg.Tmax, Percentile: sg.Percentile}.Key()] = true
	}
	fmt.Fprintf(e.stdout, "shard %s: %d of %d grid points (in part), the ANN on samples [%d, %d); wrote %s\n",
		sp, len(pts), len(cfg.Grid.Points()), part.ANN.Lo, part.ANN.Hi, name)
	return nil
}

// planSweep fills plan for quartz slurm: the memory of one sweep shard.
func planSweep(plan *runPlan, m *graph.Model, calib, test *dataset.Set, points, workers int) error {
	if err := m.InferShapes(); err != nil {
		return err
	}
	s, err := graph.Simplify(m.Clone())
	if err != nil {
		return fmt.Errorf("simplify: %w", err)
	}
	if err := s.InferShapes(); err != nil {
		return err
	}
	plan.samples, plan.sampleBytes = test.Len(), int64(test.SampleSize())
	plan.units = int64(points) * int64(test.Len())
	plan.memory = pipeline.EstimateConvert(s, calib, workers) + pipeline.EstimateEvaluate(m, test, workers)
	return nil
}

func intsString(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
