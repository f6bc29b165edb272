package sweep_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/sweep"
)

// TestValidationSlice: with SelectVal every point is also measured on the
// training images after the calibration draw, exactly as quartz eval would
// measure them there; the best point is the best on that slice; a lost
// validation file is recomputed on a rerun; a calibration that takes the
// whole training split leaves no slice and is refused; SelectTest chooses
// on the test set.
func TestValidationSlice(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(4)
	calib, test := tinySet("tiny/train", 60, 5), tinySet("tiny/test", 25, 6)
	cfg := tinyConfig() // Calib 30: a slice of the other 30
	dir := t.TempDir()
	res, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Validation
	if res.SelectOn != sweep.SelectVal || v == nil || v.Samples != 30 || v.Calib != 30 || v.Data != "tiny/train" || len(v.Accuracy) != len(res.Points) {
		t.Fatalf("select on %q, validation %+v", res.SelectOn, v)
	}
	calibIdx, valid := pipeline.SplitIndices(calib.Len(), cfg.Calib, sweep.DefaultValSamples, cfg.CalibSeed)
	inCalib := map[int]bool{}
	for _, i := range calibIdx {
		inCalib[i] = true
	}
	for _, i := range valid {
		if inCalib[i] {
			t.Fatalf("training image %d is in the calibration draw and the validation slice", i)
		}
	}
	slice, err := calib.Subset(valid)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range cfg.Grid.Points() {
		conv, err := pipeline.Convert(ctx, m, calib, pipeline.Config{Tmax: p.Tmax, Percentile: p.Percentile, Calib: cfg.Calib, CalibSeed: cfg.CalibSeed, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := pipeline.Evaluate(ctx, conv, slice)
		if err != nil {
			t.Fatal(err)
		}
		if v.Accuracy[i] != want.SNNAccuracy {
			t.Errorf("%s: validation accuracy %g, eval on the slice %g", p.Key(), v.Accuracy[i], want.SNNAccuracy)
		}
	}
	if res.Best != sweep.BestBy(res.Points, v.Accuracy) {
		t.Errorf("best %d, not the best on the slice", res.Best)
	}

	// A lost validation file is recomputed, the test points are not.
	os.Remove(filepath.Join(dir, "points", "t8_p99.val.json"))
	var evals []string
	cfg.Evaluated = func(p sweep.Point, _ *pipeline.Result) { evals = append(evals, p.Key()) }
	again, err := sweep.Run(ctx, m, calib, test, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(evals) != 0 || again.Best != res.Best || again.Validation.Accuracy[1] != v.Accuracy[1] {
		t.Fatalf("rerun evaluated %v, best %d (was %d)", evals, again.Best, res.Best)
	}
	if _, err := os.Stat(filepath.Join(dir, "points", "t8_p99.val.json")); err != nil {
		t.Fatal(err)
	}

	all := tinyConfig()
	all.Calib = 60
	if _, err := sweep.Run(ctx, m, calib, test, t.TempDir(), all); err == nil || !strings.Contains(err.Error(), "validation slice") {
		t.Errorf("calibration on every training image: err %v, want no validation slice", err)
	}
	all.SelectOn = sweep.SelectTest
	onTest, err := sweep.Run(ctx, m, calib, test, t.TempDir(), all)
	if err != nil {
		t.Fatal(err)
	}
	if onTest.SelectOn != sweep.SelectTest || onTest.Validation != nil || onTest.Best != sweep.Best(onTest.Points) {
		t.Errorf("select on test: %q, validation %v, best %d", onTest.SelectOn, onTest.Validation, onTest.Best)
	}
	bad := tinyConfig()
	bad.SelectOn = "train"
	if _, err := sweep.Run(ctx, m, calib, test, t.TempDir(), bad); err == nil {
		t.Error("select on train: no error")
	}
}
