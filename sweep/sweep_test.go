package sweep_test

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/energy"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/ratecode"
	"github.com/quartz-snn/quartz/sweep"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// tinyModel is a small random CNN for 1×6×6 images and 3 classes.
func tinyModel(seed uint64) *graph.Model {
	r := rand.New(rand.NewPCG(seed, 1))
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	return &graph.Model{Name: "tiny", InputShape: []int{1, 6, 6}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{3, 1, 3, 3}, W: vec(27, 1), B: vec(3, 0.2),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{3, 48}, W: vec(144, 0.5), B: vec(3, 0.2)},
	}}
}

func tinySet(name string, n int, seed uint64) *dataset.Set {
	r := rand.New(rand.NewPCG(seed, 2))
	s := &dataset.Set{Name: name, C: 1, H: 6, W: 6, Classes: []string{"a", "b", "c"}, Pix: make([]uint8, n*36), Labels: make([]uint8, n)}
	for i := range s.Pix {
		s.Pix[i] = uint8(r.IntN(256))
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(r.IntN(3))
	}
	return s
}

func tinyConfig() sweep.Config {
	return sweep.Config{Grid: sweep.Grid{Tmax: []int{2, 8}, Percentiles: []float64{99, 100}}, Calib: 30, CalibSeed: 3, Workers: 2}
}

// TestResume: a rerun computes nothing and gives the same results; a
// missing or corrupt point file is recomputed, alone.
func TestResume(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(1)
	calib, test := tinySet("tiny/train", 50, 1), tinySet("tiny/test", 20, 2)
	dir := t.TempDir()
	var evals []string
	cfg := tinyConfig()
	cfg.Evaluated = func(p sweep.Point, _ *pipeline.Result) { evals = append(evals, p.Key()) }

	first, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(evals) != 4 || first.Computed != 4 {
		t.Fatalf("first run evaluated %v (computed %d), want 4 points", evals, first.Computed)
	}
	evals = nil
	second, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(evals) != 0 || second.Computed != 0 {
		t.Fatalf("second run evaluated %v, want nothing", evals)
	}
	if !reflect.DeepEqual(first.Points, second.Points) || first.Best != second.Best {
		t.Fatal("second run's results differ from the first's")
	}

	// One point lost, one corrupt (as if written by hand: the sweep itself
	// writes atomically), and a stale temporary file.
	os.Remove(filepath.Join(dir, "points", "t8_p99.json"))
	os.WriteFile(filepath.Join(dir, "points", "t2_p100.json"), []byte(`{"tmax": 2, "perc`), 0o644)
	os.WriteFile(filepath.Join(dir, "points", ".t2_p99.json.tmp123"), []byte(`{`), 0o644)
	evals = nil
	third, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(evals, ",") != "t8_p99,t2_p100" {
		t.Fatalf("third run evaluated %v, want t8_p99 and t2_p100", evals)
	}
	for i := range first.Points {
		a, b := *first.Points[i], *third.Points[i]
		a.SecondsSNN, b.SecondsSNN, a.SecondsANN, b.SecondsANN = 0, 0, 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("point %d differs after recomputation", i)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "points", ".t2_p99.json.tmp123")); err == nil {
		t.Fatal("stale temporary file left in place")
	}
	// A larger grid computes only the new points.
	evals = nil
	cfg.Grid.Tmax = append(cfg.Grid.Tmax, 4)
	if _, err := sweep.Run(ctx, m, calib, test, dir, cfg); err != nil {
		t.Fatal(err)
	}
	if len(evals) != 2 {
		t.Fatalf("grown grid evaluated %v, want the 2 new points", evals)
	}
	loaded, err := sweep.Load(dir)
	if err != nil || len(loaded.Points) != 6 {
		t.Fatalf("Load: %v, %d points", err, len(loaded.Points))
	}
}

// TestMatchesEval: every point is what pipeline.Convert + Evaluate (quartz
// eval) gives for the same configuration, seconds aside.
func TestMatchesEval(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(2)
	calib, test := tinySet("tiny/train", 60, 3), tinySet("tiny/test", 25, 4)
	cfg := tinyConfig()
	res, err := sweep.Run(ctx, m, calib, test, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range cfg.Grid.Points() {
		conv, err := pipeline.Convert(ctx, m, calib, pipeline.Config{Tmax: p.Tmax, Percentile: p.Percentile, Calib: cfg.Calib, CalibSeed: cfg.CalibSeed, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := pipeline.Evaluate(ctx, conv, test)
		if err != nil {
			t.Fatal(err)
		}
		got := *res.Points[i]
		got.SecondsANN, got.SecondsSNN, want.SecondsANN, want.SecondsSNN = 0, 0, 0, 0
		// Agreement needs the per-sample ANN classes, which a sweep does not keep.
		got.Agreement, want.Agreement = nil, nil
		if !reflect.DeepEqual(&got, want) {
			gb, wb := new(bytes.Buffer), new(bytes.Buffer)
			(&sweep.Results{Points: []*pipeline.Result{&got}}).WriteCSV(gb)
			(&sweep.Results{Points: []*pipeline.Result{want}}).WriteCSV(wb)
			t.Fatalf("%s: sweep and eval differ:\nsweep %s\neval  %s", p.Key(), gb, wb)
		}
	}
}

func TestRefusesOtherConfiguration(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(1)
	calib, test := tinySet("tiny/train", 40, 1), tinySet("tiny/test", 10, 2)
	dir := t.TempDir()
	cfg := tinyConfig()
	cfg.Grid.Tmax = []int{2}
	if _, err := sweep.Run(ctx, m, calib, test, dir, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.CalibSeed = 4
	_, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err == nil || !strings.Contains(err.Error(), "calibration seed 3, now 4") {
		t.Fatalf("other seed: err %v, want a refusal naming the seed", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(1)
	calib, test := tinySet("tiny/train", 10, 1), tinySet("tiny/test", 5, 2)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, c := range []struct {
		grid sweep.Grid
		dir  string
		want string
	}{
		{sweep.Grid{Percentiles: []float64{99}}, t.TempDir(), "empty grid"},
		{sweep.Grid{Tmax: []int{4}}, t.TempDir(), "empty grid"},
		{sweep.Grid{Tmax: []int{4, -1}, Percentiles: []float64{99}}, t.TempDir(), "Tmax -1: must be ≥ 1"},
		{sweep.Grid{Tmax: []int{4}, Percentiles: []float64{0}}, t.TempDir(), "percentile 0"},
		{sweep.Grid{Tmax: []int{4, 4}, Percentiles: []float64{99}}, t.TempDir(), "given twice"},
		{sweep.Grid{Tmax: []int{4}, Percentiles: []float64{99}}, file, "not a directory"},
	} {
		_, err := sweep.Run(ctx, m, calib, test, c.dir, sweep.Config{Grid: c.grid})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("grid %+v dir %s: err %v, want %q", c.grid, c.dir, err, c.want)
		}
	}
	_, err := sweep.Run(ctx, m, calib, test, t.TempDir(), sweep.Config{Grid: sweep.Grid{Tmax: []int{4}, Percentiles: []float64{99}}, RateSteps: -3})
	if err == nil || !strings.Contains(err.Error(), "rate steps -3") {
		t.Errorf("negative rate steps: err %v", err)
	}
}

// TestRateResume: with RateSteps the sweep runs the rate baseline once per
// percentile, writes it to points/rate_pP.json, results.json and rate.csv;
// a rerun recomputes nothing, a lost file is recomputed alone, another N
// recomputes them all, and a run without RateSteps drops them from the
// results.
func TestRateResume(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(1)
	calib, test := tinySet("tiny/train", 50, 1), tinySet("tiny/test", 20, 2)
	dir := t.TempDir()
	var evals, rates []string
	cfg := tinyConfig()
	cfg.RateSteps = 30
	cfg.Evaluated = func(p sweep.Point, _ *pipeline.Result) { evals = append(evals, p.Key()) }
	cfg.RateEvaluated = func(pc float64, rr *pipeline.RateResult) { rates = append(rates, sweep.RateKey(pc)) }

	first, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rates, ",") != "rate_p99,rate_p100" || first.RateComputed != 2 || len(first.Rate) != 2 {
		t.Fatalf("first run: rate evaluated %v (computed %d), want rate_p99 and rate_p100", rates, first.RateComputed)
	}
	for i, rr := range first.Rate {
		if rr.Steps != 30 || rr.Percentile != cfg.Grid.Percentiles[i] || rr.ANN == nil || rr.Samples != 20 {
			t.Fatalf("rate %d: steps %d, percentile %g, ANN %v, samples %d", i, rr.Steps, rr.Percentile, rr.ANN, rr.Samples)
		}
		if _, err := os.Stat(filepath.Join(dir, "points", sweep.RateKey(rr.Percentile)+".json")); err != nil {
			t.Fatal(err)
		}
	}
	csvData, err := os.ReadFile(filepath.Join(dir, "rate.csv"))
	if err != nil || !strings.HasPrefix(string(csvData), "percentile,steps,accuracy,") {
		t.Fatalf("rate.csv: %v %.60q", err, csvData)
	}
	// 2 percentiles × checkpoints 10, 20, 30, and the header.
	if n := strings.Count(string(csvData), "\n"); n != 7 {
		t.Fatalf("rate.csv has %d lines, want 7", n)
	}

	evals, rates = nil, nil
	second, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(evals) != 0 || len(rates) != 0 || second.Computed != 0 || second.RateComputed != 0 {
		t.Fatalf("second run evaluated %v and %v, want nothing", evals, rates)
	}
	if !reflect.DeepEqual(first.Rate, second.Rate) {
		t.Fatal("second run's rate results differ from the first's")
	}
	loaded, err := sweep.Load(dir)
	if err != nil || !reflect.DeepEqual(loaded.Rate, first.Rate) {
		t.Fatalf("Load: %v; rate results differ", err)
	}

	// A lost rate file is recomputed alone, equal up to its seconds.
	os.Remove(filepath.Join(dir, "points", "rate_p100.json"))
	rates = nil
	third, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rates, ",") != "rate_p100" || len(evals) != 0 {
		t.Fatalf("third run evaluated %v and %v, want rate_p100 only", evals, rates)
	}
	a, b := *first.Rate[1], *third.Rate[1]
	a.Seconds, b.Seconds = 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Fatal("recomputed rate baseline differs")
	}

	// Another N recomputes every rate baseline, no point.
	cfg.RateSteps = 20
	rates = nil
	fourth, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 2 || len(evals) != 0 || fourth.Rate[0].Steps != 20 {
		t.Fatalf("N 20: evaluated %v and %v, want both rate baselines only", evals, rates)
	}

	// Off: no rate in the results, no stale rate.csv.
	cfg.RateSteps = 0
	rates = nil
	fifth, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 0 || fifth.Rate != nil {
		t.Fatalf("rate off: evaluated %v, results hold %d rate baselines", rates, len(fifth.Rate))
	}
	if _, err := os.Stat(filepath.Join(dir, "rate.csv")); err == nil {
		t.Fatal("stale rate.csv left in place")
	}
}

// TestRateMatchesEval: a sweep's rate baseline is what quartz eval
// --coding rate gives for the same percentile and steps, seconds aside.
func TestRateMatchesEval(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(2)
	calib, test := tinySet("tiny/train", 60, 3), tinySet("tiny/test", 25, 4)
	cfg := tinyConfig()
	cfg.Grid.Tmax = []int{2}
	cfg.RateSteps = 50
	res, err := sweep.Run(ctx, m, calib, test, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, pc := range cfg.Grid.Percentiles {
		conv, err := pipeline.Convert(ctx, m, calib, pipeline.Config{Tmax: 2, Percentile: pc, Calib: cfg.Calib, CalibSeed: cfg.CalibSeed, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := pipeline.EvaluateRate(ctx, conv, test, ratecode.Config{Steps: 50})
		if err != nil {
			t.Fatal(err)
		}
		got := *res.Rate[i]
		got.Seconds, want.Seconds = 0, 0
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("percentile %g: sweep and eval differ:\nsweep %+v\neval  %+v", pc, got, *want)
		}
	}
}

func TestBest(t *testing.T) {
	r := func(acc, omega float64) *pipeline.Result { return &pipeline.Result{SNNAccuracy: acc, Omega: omega} }
	for _, c := range []struct {
		rs   []*pipeline.Result
		want int
	}{
		{nil, -1},
		{[]*pipeline.Result{r(90, 10), r(91, 100), r(91, 50), r(91, 50)}, 2},
		{[]*pipeline.Result{nil, r(50, 1)}, 1},
	} {
		if got := sweep.Best(c.rs); got != c.want {
			t.Errorf("Best = %d, want %d", got, c.want)
		}
	}
}

// fixedResults is a small sweep with made-up numbers: the input of the
// golden files here, in report and in plot (testdata/results.json.golden).
func fixedResults() *sweep.Results {
	acc := 99.0
	s := &sweep.Results{Format: sweep.Format, Version: 1, Model: "lenet5.onnx", Data: "mnist/test", Samples: 1000,
		Tmax: []int{2, 4, 16}, Percentiles: []float64{98.5, 99.9}}
	for _, pc := range s.Percentiles {
		for i, t := range s.Tmax {
			snnAcc := []float64{85.5, 96.25, 98.75}[i]
			if pc == 99.9 {
				snnAcc += 0.25
			}
			r := &pipeline.Result{Model: "lenet5.onnx", Data: "mnist/test", Samples: 1000, Tmax: t, Percentile: pc, Threshold: "round",
				CalibSize: 1000, ANNAccuracy: &acc, SNNAccuracy: snnAcc, TieRate: 2.5 / float64(t), Neurons: 4354, RelayNeurons: 1056,
				Spikes: 4300, RelaySpikes: 1050, SynapticEvents: 240000, InputEvents: 230000, BiasEvents: 4000, ReadoutEvents: 4354,
				RectifierEvents: 1646, CurrentUpdates: 30000 + 500*float64(t), EarlySpikePct: 0.125 * float64(t) / pc * 99,
				FirstSpike: 4.25 * float64(t), Steps: 5 * float64(t), ANNMACs: 225840,
				Layers: []pipeline.LayerResult{
					{Name: "conv1", Kind: "Conv", Shape: []int{6, 24, 24}, Neurons: 3456, T: t, Scale: 2.25, AboveOne: 0.01, Spikes: 3456, SynapticEvents: 96768, CurrentUpdates: 19704, EarlyPct: 0.75},
					{Name: "pool1", Kind: "MaxPool", Shape: []int{6, 12, 12}, Neurons: 864, Spikes: 864, SynapticEvents: 3456},
					{Name: "fc1", Kind: "Linear", Shape: []int{10}, Neurons: 10, T: t, Scale: 15.5, AboveOne: 0.01, Spikes: 2, SynapticEvents: 1220, CurrentUpdates: 147, EarlyPct: 0.5, MACs: 1200},
				}}
			r.Omega = r.CurrentUpdates + 2*4364*float64(t)
			r.OmegaEvents = r.SynapticEvents + 2*4364*float64(t)
			r.Energy, _ = energy.EstimateAll(energy.DefaultProfiles(), pipeline.QuartzActivity(r), float64(r.ANNMACs))
			s.Points = append(s.Points, r)
		}
	}
	// The best point is chosen on a validation slice where percentile 98.5
	// does better than on the test set: not the test set's best point.
	s.SelectOn = sweep.SelectVal
	s.Validation = &sweep.Validation{Data: "mnist/train", Samples: 1000, Calib: 1000, Seed: 1}
	for _, r := range s.Points {
		a := r.SNNAccuracy - 0.5
		if r.Percentile == 98.5 {
			a += 0.75
		}
		s.Validation.Accuracy = append(s.Validation.Accuracy, a)
	}
	s.Best = sweep.BestBy(s.Points, s.Validation.Accuracy)
	// The rate-coded baseline at N = 200 steps, one per percentile.
	for k, pc := range s.Percentiles {
		rr := &pipeline.RateResult{Model: "lenet5.onnx", Data: "mnist/test", Samples: 1000, Steps: 200, Percentile: pc,
			CalibSize: 1000, Readout: "potential", Neurons: 4364, RelayNeurons: 1056, AnalogMACs: 86400,
			Layers: []pipeline.RateLayer{
				{Name: "conv1", Kind: "Conv", Shape: []int{6, 24, 24}, Neurons: 3456, Spikes: 90000, SynapticEvents: 0, Rate: 0.13},
				{Name: "fc1", Kind: "Linear", Shape: []int{10}, Neurons: 10, Spikes: 250, SynapticEvents: 2500000, Rate: 0.125},
			}}
		for i, n := range []int{10, 20, 50, 100, 200} {
			acc := []float64{98.5, 98.875, 99.25, 99.125, 99.125}[i] - 0.25*float64(k)
			c := pipeline.RateCheckpoint{Steps: n, Accuracy: acc, CountAccuracy: acc - 0.5, CountTieRate: 1.0 / float64(i+1),
				Spikes: 550 * float64(n), RelaySpikes: 200 * float64(n), SynapticEvents: 34000 * float64(n), NeuronUpdates: 4364 * float64(n)}
			c.OmegaEq = c.SynapticEvents + c.NeuronUpdates
			rr.Checkpoints = append(rr.Checkpoints, c)
		}
		rr.SetANN(acc, 225840)
		s.Rate = append(s.Rate, rr)
	}
	return s
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sweep -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./sweep -update rewrites it):\n%s", name, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\nwant " + w + "\ngot  " + g
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestGolden(t *testing.T) {
	s := fixedResults()
	var js, cs bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "results.json.golden", js.Bytes())
	checkGolden(t, "results.csv.golden", cs.Bytes())
	var rs bytes.Buffer
	if err := s.WriteRateCSV(&rs); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "rate.csv.golden", rs.Bytes())
	// The JSON reads back as it was written.
	dir := t.TempDir()
	if err := s.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := sweep.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatal("results.json does not read back equal")
	}
}
