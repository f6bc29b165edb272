package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/ratecode"
	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/snn"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "normalize, convert and simulate a model; print ANN vs SNN accuracy and the SNN's costs",
		run:     runEval,
	})
}

// convFlags are the conversion flags of eval and convert.
type convFlags struct {
	tmax        int
	tmaxLayers  string
	percentile  string
	pctLayers   string
	autoSamples int
	cache       string
	noCache     bool
	maxMem      memFlag
	calib       int
	calibSeed   uint64
	threshold   string
	analogFirst analogFlag
	pre         preprocFlags
}

func (c *convFlags) register(fs *flag.FlagSet) { c.registerPct(fs, "auto") }

// registerPct registers the flags with defPct the default --percentile.
func (c *convFlags) registerPct(fs *flag.FlagSet, defPct string) {
	fs.IntVar(&c.tmax, "tmax", pipeline.DefaultTmax, "time steps T per layer window")
	fs.StringVar(&c.tmaxLayers, "tmax-layers", "", "per-layer T, comma separated (one per spiking layer; overrides --tmax)")
	fs.StringVar(&c.percentile, "percentile", defPct, "normalization percentile in (0, 100], or auto: the best SNN–ANN agreement at --tmax among "+
		pctList(pipeline.AutoCandidates)+" on training samples held out of the calibration draw")
	fs.StringVar(&c.pctLayers, "percentile-layers", "", "per-layer percentiles, comma separated (overrides --percentile), or auto: with --percentile auto, also search one percentile per layer on the same validation slice and use it where it agrees better")
	fs.IntVar(&c.autoSamples, "auto-samples", pipeline.DefaultAutoSamples, "--percentile auto: validation samples held out of the training split")
	fs.StringVar(&c.cache, "cache", "", "calibration cache `DIR` (default $XDG_CACHE_HOME/quartz or ~/.cache/quartz)")
	fs.BoolVar(&c.noCache, "no-cache", false, "neither read nor write the calibration cache")
	fs.Var(&c.maxMem, "max-memory", memUsage)
	fs.IntVar(&c.calib, "calib", pipeline.DefaultCalib, "calibration samples drawn from the training split")
	fs.Uint64Var(&c.calibSeed, "calib-seed", 1, "seed of the calibration draw")
	fs.StringVar(&c.threshold, "threshold", "round", "firing threshold: round (θ = T−½) or truncate (θ = T)")
	fs.Var(&c.analogFirst, "analog-first", analogUsage)
	c.pre.register(fs)
}

func (c *convFlags) config(workers int) (pipeline.Config, error) {
	cfg := pipeline.Config{Tmax: c.tmax, Calib: c.calib, CalibSeed: c.calibSeed,
		AnalogFirst: c.analogFirst.on, Workers: workers, MaxMemory: c.maxMem.limit()}
	if !c.noCache {
		cfg.Cache = cacheDir(c.cache)
	}
	if c.tmax < 1 {
		return cfg, fmt.Errorf("--tmax %d: must be ≥ 1", c.tmax)
	}
	if c.tmax > pipeline.MaxTmax {
		return cfg, fmt.Errorf("--tmax %d: at most %d", c.tmax, pipeline.MaxTmax)
	}
	if c.calib < 1 {
		return cfg, fmt.Errorf("--calib %d: must be ≥ 1", c.calib)
	}
	if c.calib > pipeline.MaxCalib {
		return cfg, fmt.Errorf("--calib %d: at most %d", c.calib, pipeline.MaxCalib)
	}
	if c.autoSamples < 1 || c.autoSamples > pipeline.MaxCalib {
		return cfg, fmt.Errorf("--auto-samples %d: want 1..%d", c.autoSamples, pipeline.MaxCalib)
	}
	var err error
	if cfg.TmaxLayers, err = intList("--tmax-layers", c.tmaxLayers); err != nil {
		return cfg, err
	}
	for _, t := range cfg.TmaxLayers {
		if t > pipeline.MaxTmax {
			return cfg, fmt.Errorf("--tmax-layers %q: every T must be in 1..%d", c.tmaxLayers, pipeline.MaxTmax)
		}
	}
	layersAuto := strings.TrimSpace(c.pctLayers) == "auto"
	if layersAuto {
		if p := strings.TrimSpace(c.percentile); p != "auto" {
			return cfg, fmt.Errorf("--percentile-layers auto goes with --percentile auto (the default), not --percentile %s", p)
		}
		if cfg.TmaxLayers != nil {
			return cfg, errors.New("--percentile-layers auto: needs one --tmax for every layer, not --tmax-layers")
		}
	} else if cfg.LayerPercentiles, err = floatList("--percentile-layers", c.pctLayers); err != nil {
		return cfg, err
	}
	switch p := strings.TrimSpace(c.percentile); {
	case layersAuto:
		cfg.Auto, cfg.AutoLayers, cfg.AutoSamples = true, true, c.autoSamples
	case cfg.LayerPercentiles != nil:
		// The per-layer values override --percentile (auto included).
		if p != "auto" {
			if cfg.Percentile, err = parsePercentile(p); err != nil {
				return cfg, err
			}
		}
	case p == "auto":
		cfg.Auto, cfg.AutoSamples = true, c.autoSamples
	default:
		if cfg.Percentile, err = parsePercentile(p); err != nil {
			return cfg, err
		}
	}
	switch c.threshold {
	case "round":
		cfg.Threshold = snn.Round
	case "truncate":
		cfg.Threshold = snn.Truncate
	default:
		return cfg, fmt.Errorf("--threshold %q: want round or truncate", c.threshold)
	}
	return cfg, nil
}

func parsePercentile(s string) (float64, error) {
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || !(p > 0 && p <= 100) {
		return 0, fmt.Errorf("--percentile %s: must be in (0, 100] (or auto)", s)
	}
	return p, nil
}

func pctList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ", ")
}

func intList(name, s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var v []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s %q: want positive integers separated by commas", name, s)
		}
		v = append(v, n)
	}
	return v, nil
}

func floatList(name, s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	var v []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(x > 0 && x <= 100) {
			return nil, fmt.Errorf("%s %q: want percentiles in (0, 100] separated by commas", name, s)
		}
		v = append(v, x)
	}
	return v, nil
}

func runEval(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "eval", "--model FILE.onnx --data mnist [flags]")
	model := fs.String("model", "", "model `FILE.onnx` (required unless --snn)")
	snnFile := fs.String("snn", "", "evaluate a converted SNN `FILE.json` written by quartz convert")
	var d dataFlags
	d.register(fs, "mnist", "test")
	var c convFlags
	c.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object on stdout instead of the table")
	mdFile := fs.String("report", "", "also write a Markdown report (tables for a paper appendix) to `FILE.md`")
	coding := fs.String("coding", "quartz", "spike coding: quartz, rate (the rate-coded baseline), or both side by side")
	steps := fs.Int("steps", ratecode.DefaultSteps, "rate coding: time steps `N` per sample")
	stepsReport := fs.String("steps-report", "", "rate coding: step counts at which accuracy and costs are read, comma separated (default 10,20,50,…,N)")
	predFile := fs.String("predictions", "", "also write one row per test sample (label, ANN and SNN class, tie, first output spike) to `FILE.csv` or FILE.jsonl")
	logits := fs.Bool("logits", false, "--predictions: add the ANN's outputs and the SNN's decoded outputs per output neuron")
	oracleN := fs.Int("oracle", 0, "also simulate the first `N` samples with the time-stepped oracle and count the spike times that differ (SPEC §6; slow)")
	var prog progressFlags
	prog.register(fs)
	workers := workersFlag(fs)
	hwName := fs.String("hw", "", "also emulate the SNN with a chip's fixed-point arithmetic: loihi1 or loihi2 (see quartz map)") // hw.go
	var sh shardFlag
	fs.Var(&sh, "shard", shardUsage)
	partDir := fs.String("o", "", "with --shard: the `DIR` of the part file")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	// quartz slurm's plan checks the flags as its shards will get them.
	dir := *partDir
	if e.plan != nil && dir == "" {
		dir = "PARTS"
	}
	if err := checkEvalShard(sh.spec != nil || e.plan != nil, dir, *asJSON, *mdFile, *predFile, *coding, *oracleN, *hwName); err != nil {
		return err
	}
	rcfg, err := rateConfig(*coding, *steps, *stepsReport, *workers)
	if err != nil {
		return err
	}
	if *coding != "quartz" && *snnFile != "" {
		return fmt.Errorf("--coding %s needs --model: a converted SNN file does not hold the normalized network", *coding)
	}
	if *model == "" && *snnFile == "" {
		fmt.Fprintln(e.stderr, "quartz eval: --model or --snn is required")
		fs.Usage()
		return errUsage
	}
	cfg, err := c.config(*workers)
	if err != nil {
		return err
	}
	predJSONL, err := checkPredictions(*predFile, *logits, *coding)
	if err != nil {
		return err
	}
	if *oracleN < 0 {
		return fmt.Errorf("--oracle %d: want a number of samples ≥ 0", *oracleN)
	}
	if cfg.Progress, err = prog.writer(e.stderr); err != nil {
		return err
	}
	open := d.open
	if sh.spec != nil || e.plan != nil {
		open = func(split string) (*dataset.Set, error) { return d.openShard(split, 0) }
	}
	test, err := open(d.split)
	if err != nil {
		return err
	}
	if e.plan != nil {
		return planEval(e.plan, *model, *snnFile, d, &c, test, *workers)
	}
	var conv *pipeline.Converted
	if *snnFile != "" {
		conv, err = readSNN(*snnFile, *model, &c.pre, *workers)
	} else {
		conv, err = convertModel(ctx, e.stderr, *model, d, &c, cfg)
	}
	if err != nil {
		return err
	}
	printNotes(e, append(conv.Notes, pipeline.InputNote(conv.SNN.InShape, test))...)
	if sh.spec != nil {
		return evalShard(ctx, e, *sh.spec, *partDir, conv, test, evalIdentity{model: *model, snnFile: *snnFile, d: d, c: &c})
	}
	var rr *pipeline.RateResult
	if *coding != "quartz" {
		if rr, err = pipeline.EvaluateRate(ctx, conv, test, rcfg); err != nil {
			return err
		}
		rr.Model = displayName(*model, *snnFile)
		if d.split == "train" {
			rr.Warnings = append(rr.Warnings, trainWarning)
		}
		if *coding == "rate" {
			if *asJSON {
				return writeJSON(e, rr)
			}
			return report.Rate(e.stdout, rr, nil)
		}
	}
	if conv.ANN != nil {
		if err := pipeline.CheckMemory("evaluating the ANN", pipeline.EstimateEvaluate(conv.ANN, test, *workers), c.maxMem.limit()); err != nil {
			return err
		}
	}
	res, err := pipeline.EvaluateWith(ctx, conv, test, pipeline.EvalOptions{Stats: true, PerSample: *predFile != "", Outputs: *logits})
	if err != nil {
		return err
	}
	res.Model = displayName(*model, *snnFile)
	res.Rate = rr
	if *oracleN > 0 {
		if res.Oracle, err = pipeline.CheckOracle(ctx, conv, test, *oracleN); err != nil {
			return err
		}
	}
	if d.split == "train" && *snnFile == "" {
		res.Warnings = append(res.Warnings, trainWarning)
	}
	if *mdFile != "" {
		if err := writeMarkdown(*mdFile, res); err != nil {
			return err
		}
	}
	if *predFile != "" {
		var b bytes.Buffer
		if err := report.Predictions(&b, res, *logits, predJSONL); err != nil {
			return err
		}
		if err := atomicfile.Write(*predFile, b.Bytes()); err != nil {
			return err
		}
	}
	if *hwName != "" {
		return hwEval(ctx, e, conv, test, *hwName, *workers, *asJSON, res) // hw.go
	}
	return printResult(e, res, *asJSON)
}

// checkPredictions checks --predictions and --logits before the work: the
// format by extension (.csv or .jsonl) and the target (absent or a regular
// file in an existing folder). It reports whether the format is JSON Lines.
func checkPredictions(name string, logits bool, coding string) (bool, error) {
	if name == "" {
		if logits {
			return false, errors.New("--logits: needs --predictions FILE")
		}
		return false, nil
	}
	if coding == "rate" {
		return false, errors.New("--predictions: per-sample rows are written for the Quartz SNN; use --coding quartz or both")
	}
	var jsonl bool
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
	case ".jsonl":
		jsonl = true
	default:
		return false, fmt.Errorf("--predictions %s: want a .csv or .jsonl file", name)
	}
	return jsonl, atomicfile.CheckTarget(name)
}

// rateConfig checks the rate-coding flags.
func rateConfig(coding string, steps int, report string, workers int) (ratecode.Config, error) {
	cfg := ratecode.Config{Steps: steps, Workers: workers}
	switch coding {
	case "quartz", "rate", "both":
	default:
		return cfg, fmt.Errorf("--coding %q: want quartz, rate or both", coding)
	}
	if steps < 1 || steps > ratecode.MaxSteps {
		return cfg, fmt.Errorf("--steps %d: want 1..%d", steps, ratecode.MaxSteps)
	}
	var err error
	if cfg.Checkpoints, err = intList("--steps-report", report); err != nil {
		return cfg, err
	}
	for _, c := range cfg.Checkpoints {
		if c > steps {
			return cfg, fmt.Errorf("--steps-report %q: %d is more than --steps %d", report, c, steps)
		}
	}
	return cfg, nil
}

// trainWarning is eval's warning on the training split.
const trainWarning = "evaluating on the training split, which also supplied the calibration sample"

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func displayName(model, snnFile string) string {
	if snnFile != "" {
		return snnFile
	}
	return model
}

func printResult(e *env, res *pipeline.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return report.Text(e.stdout, res)
}

// convertModel reads an ONNX model and converts it, calibrating on the
// training split of the same data set. Before the work it runs the input
// check (preprocFlags.checkInput) and prints its warning on stderr.
func convertModel(ctx context.Context, stderr io.Writer, path string, d dataFlags, c *convFlags, cfg pipeline.Config) (*pipeline.Converted, error) {
	c.pre.analogFirst = c.analogFirst.allows()
	m, err := loadModel(path, &preprocFlags{scale: 1, output: c.pre.output})
	if err != nil {
		return nil, err
	}
	calib, err := d.calibSet(m)
	if err != nil {
		return nil, err
	}
	warn, err := c.pre.checkInput(ctx, path, m, calib, cfg.Workers, cfg.MaxMemory)
	if err != nil {
		return nil, err
	}
	if warn != "" {
		fmt.Fprintf(stderr, "warning: %s\n", warn)
	}
	if m, err = c.pre.apply(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	analog, note := c.analogFirst.resolve(m)
	if !analog {
		if analog, note, err = c.analogFirst.resolveData(calib); err != nil {
			return nil, fmt.Errorf("%s: %w", d.spec, err)
		}
	}
	cfg.AnalogFirst = analog
	conv, err := pipeline.Convert(ctx, m, calib, cfg)
	if err != nil {
		return nil, err
	}
	// The file names the model; the graph's own name is often the
	// exporter's ("torch_jit", "main_graph").
	conv.SNN.Name = filepath.Base(path)
	if note != "" {
		conv.Notes = append([]string{note}, conv.Notes...)
	}
	if calib.Unsplit() {
		conv.Notes = append(conv.Notes, unsplitNote)
	}
	return conv, nil
}

// unsplitNote says that .npy/.npz data serve calibration too.
const unsplitNote = "npy/npz tensors have no training split: the calibration (activation percentiles, no labels) draws from the same samples"

func convertGraph(ctx context.Context, m *graph.Model, d dataFlags, cfg pipeline.Config) (*pipeline.Converted, error) {
	calib, err := d.calibSet(m)
	if err != nil {
		return nil, err
	}
	return pipeline.Convert(ctx, m, calib, cfg)
}
