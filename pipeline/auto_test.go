package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/pipeline"
)

// randomMLP is a 16→24→10 ReLU network with random weights: its SNN
// agrees with it more or less depending on the percentile.
func randomMLP(seed uint64) *graph.Model {
	r := rand.New(rand.NewPCG(seed, 1))
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	return &graph.Model{Name: "mlp", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, W: vec(24*16, 0.5), B: vec(24, 0.2), WShape: []int{24, 16}},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, W: vec(10*24, 0.5), B: vec(10, 0.1), WShape: []int{10, 24}},
	}}
}

// noise is n random 4×4 images with random labels of 10 classes.
func noise(n int, seed uint64) *dataset.Set {
	r := rand.New(rand.NewPCG(seed, 2))
	s := &dataset.Set{Name: "noise", C: 1, H: 4, W: 4, Classes: strings.Split("0,1,2,3,4,5,6,7,8,9", ",")}
	s.Pix = make([]uint8, n*16)
	s.Labels = make([]uint8, n)
	for i := range s.Pix {
		s.Pix[i] = uint8(r.IntN(256))
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(r.IntN(10))
	}
	return s
}

func TestChooseTies(t *testing.T) {
	c := []float64{99, 99.9, 100}
	for _, tc := range []struct {
		agree []float64
		want  int
	}{
		{[]float64{90, 95, 95}, 2}, // tie: the higher percentile
		{[]float64{96, 95, 95}, 0},
		{[]float64{-1, 95, -1}, 1},
		{[]float64{-1, -1, -1}, -1},
	} {
		if got := pipeline.Choose(c, tc.agree); got != tc.want {
			t.Errorf("choose(%v) = %d, want %d", tc.agree, got, tc.want)
		}
	}
}

func TestSplitIndices(t *testing.T) {
	for _, tc := range []struct{ n, k, v, wantV int }{{100, 30, 20, 20}, {100, 90, 20, 10}, {100, 100, 20, 0}, {50, 80, 10, 0}} {
		c, v := pipeline.SplitIndices(tc.n, tc.k, tc.v, 7)
		if !slices.Equal(c, pipeline.CalibIndices(tc.n, tc.k, 7)) {
			t.Fatalf("%+v: calibration sample differs from CalibIndices", tc)
		}
		if len(v) != tc.wantV || !slices.IsSorted(v) {
			t.Fatalf("%+v: %d validation samples, want %d sorted", tc, len(v), tc.wantV)
		}
		for _, i := range v {
			if _, found := slices.BinarySearch(c, i); found || i < 0 || i >= tc.n {
				t.Fatalf("%+v: validation sample %d overlaps or out of range", tc, i)
			}
		}
	}
}

// TestAutoPercentile: the choice is the best candidate on the held-out
// slice, and the conversion is that of the chosen fixed percentile.
func TestAutoPercentile(t *testing.T) {
	ctx := context.Background()
	train := noise(600, 3)
	cfg := pipeline.Config{Tmax: 3, Calib: 200, CalibSeed: 1, Workers: 2, Auto: true, AutoSamples: 300,
		Candidates: []float64{90, 99, 99.9, 100}}
	conv, err := pipeline.Convert(ctx, randomMLP(5), train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := conv.Auto
	if a == nil || a.Samples != 300 || len(a.Agreement) != 4 || !strings.Contains(a.Source, "held out") {
		t.Fatalf("auto choice %+v", a)
	}
	best := slices.Max(a.Agreement)
	if k := slices.Index(a.Candidates, a.Chosen); k < 0 || a.Agreement[k] != best || conv.Config.Percentile != a.Chosen {
		t.Fatalf("chose %v with agreements %v (config %v)", a.Chosen, a.Agreement, conv.Config.Percentile)
	}
	t.Logf("%s", a.Note())
	fixed := cfg
	fixed.Auto, fixed.Candidates, fixed.AutoSamples, fixed.Percentile = false, nil, 0, a.Chosen
	conv2, err := pipeline.Convert(ctx, randomMLP(5), train, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, conv.SNN, conv2.SNN) {
		t.Fatal("auto conversion differs from the fixed one at the chosen percentile")
	}
	res, err := pipeline.Evaluate(ctx, conv, noise(50, 9))
	if err != nil {
		t.Fatal(err)
	}
	if res.PercentileAuto == nil || res.Percentile != a.Chosen {
		t.Fatalf("result: percentile %v, auto %+v", res.Percentile, res.PercentileAuto)
	}
	// A training split no larger than the calibration draw: the choice
	// falls back on calibration samples, never on anything else.
	small := cfg
	small.Calib = 1000
	conv3, err := pipeline.Convert(ctx, randomMLP(5), train, small)
	if err != nil {
		t.Fatal(err)
	}
	if conv3.Auto.Samples != 300 || !strings.Contains(conv3.Auto.Source, "calibration samples") {
		t.Fatalf("fallback: %+v", conv3.Auto)
	}
}

// TestAutoLayers: --percentile-layers auto searches one percentile per
// layer; its agreement on the slice is never below the single choice's,
// it is used exactly when strictly higher, and the conversion then equals
// a fixed conversion at those per-layer percentiles.
func TestAutoLayers(t *testing.T) {
	ctx := context.Background()
	train := noise(600, 3)
	used := 0
	for seed := uint64(1); seed <= 4; seed++ {
		cfg := pipeline.Config{Tmax: 2, Calib: 200, CalibSeed: seed, Workers: 2, Auto: true, AutoLayers: true, AutoSamples: 300,
			Candidates: []float64{80, 95, 99.9, 100}}
		conv, err := pipeline.Convert(ctx, randomMLP(seed+4), train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		a := conv.Auto
		single := a.Agreement[slices.Index(a.Candidates, a.Chosen)]
		if len(a.Layers) != 2 || a.LayersAgreement < single || a.LayersChosen != (a.LayersAgreement > single) {
			t.Fatalf("seed %d: %+v", seed, a)
		}
		fixed := cfg
		fixed.Auto, fixed.AutoLayers, fixed.Candidates, fixed.AutoSamples, fixed.Percentile = false, false, nil, 0, a.Chosen
		if a.LayersChosen {
			used++
			fixed.Percentile, fixed.LayerPercentiles = 0, a.Layers
		}
		conv2, err := pipeline.Convert(ctx, randomMLP(seed+4), train, fixed)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, conv.SNN, conv2.SNN) {
			t.Fatalf("seed %d: auto conversion differs from the fixed one at %v", seed, a.Layers)
		}
		t.Logf("%s", a.Note())
	}
	if used == 0 {
		t.Error("the per-layer choice was never used: the test does not exercise it")
	}
	bad := pipeline.Config{AutoLayers: true, Percentile: 99}
	if _, err := pipeline.Convert(ctx, randomMLP(5), train, bad); err == nil {
		t.Error("AutoLayers without Auto: no error")
	}
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestCalibrationCache: a second conversion reads the calibration and the
// auto choice back (no calibration forward) and gives the same SNN; a
// corrupted entry is noticed and recomputed; another seed is another key.
func TestCalibrationCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	train := noise(500, 4)
	cfg := pipeline.Config{Tmax: 4, Calib: 200, CalibSeed: 1, Workers: 2, Auto: true, AutoSamples: 100, Cache: dir}
	convert := func(cfg pipeline.Config) (*pipeline.Converted, int64) {
		t.Helper()
		before := pipeline.CalibrateCalls.Load()
		c, err := pipeline.Convert(ctx, randomMLP(6), train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c, pipeline.CalibrateCalls.Load() - before
	}
	first, calls := convert(cfg)
	if calls != 1 || first.CalibCached || first.Auto.Cached {
		t.Fatalf("first run: %d calibrations, cached %v/%v", calls, first.CalibCached, first.Auto.Cached)
	}
	second, calls := convert(cfg)
	if calls != 0 || !second.CalibCached || !second.Auto.Cached {
		t.Fatalf("second run: %d calibrations, cached %v/%v", calls, second.CalibCached, second.Auto.Cached)
	}
	if !sameJSON(t, first.SNN, second.SNN) || !sameJSON(t, first.Norm, second.Norm) {
		t.Fatal("cached conversion differs")
	}
	bins, _ := filepath.Glob(filepath.Join(dir, "calib-*.bin"))
	if len(bins) != 1 {
		t.Fatalf("cache files %v", bins)
	}
	data, err := os.ReadFile(bins[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(bins[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	third, calls := convert(cfg)
	if calls != 1 || third.CalibCached || !strings.Contains(strings.Join(third.Notes, "\n"), "checksum mismatch; recomputing") {
		t.Fatalf("corrupt entry: %d calibrations, notes %q", calls, third.Notes)
	}
	if !sameJSON(t, first.SNN, third.SNN) {
		t.Fatal("recomputed conversion differs")
	}
	if _, calls = convert(cfg); calls != 0 {
		t.Fatal("rewritten entry not used")
	}
	other := cfg
	other.CalibSeed = 2
	if _, calls = convert(other); calls != 1 {
		t.Fatal("another seed read the same entry")
	}
	// Fixed percentile: the same calibration entry serves.
	fixed := cfg
	fixed.Auto, fixed.AutoSamples, fixed.Percentile = false, 0, 99.9
	if c, calls := convert(fixed); calls != 0 || c.Auto != nil {
		t.Fatal("fixed percentile did not reuse the calibration")
	}
}

// TestMemoryErrorText: where need and limit round to the same figure, the
// message shows enough digits to tell them apart.
func TestMemoryErrorText(t *testing.T) {
	for _, tc := range []struct {
		need, limit int64
		want        string
	}{
		{1_040_000_000, 1_000_000_000, "needs about 1.040 GB, the limit is 1.000 GB"},
		{5_000_000_000, 1_000_000_000, "needs about 5.0 GB, the limit is 1.0 GB"},
		{25_000_000_000, 8_000_000_000, "needs about 25 GB, the limit is 8.0 GB"},
	} {
		if got := (&pipeline.MemoryError{What: "x", Need: tc.need, Limit: tc.limit}).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%d/%d: %q, want %q", tc.need, tc.limit, got, tc.want)
		}
	}
}

func TestMaxMemory(t *testing.T) {
	cfg := pipeline.Config{Tmax: 4, Percentile: 99, Calib: 50, Workers: 1, MaxMemory: 1000}
	_, err := pipeline.Convert(context.Background(), randomMLP(1), noise(60, 1), cfg)
	var me *pipeline.MemoryError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "needs about") || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("err %v", err)
	}
	for _, bad := range []pipeline.Config{{Tmax: pipeline.MaxTmax + 1}, {Tmax: 4, Workers: 100000}} {
		if _, err := pipeline.Convert(context.Background(), randomMLP(1), noise(60, 1), bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}
