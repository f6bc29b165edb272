package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/pipeline"
)

// TestMergePartsSlices: every split of the test set, empty slices
// included, merges to Evaluate's counts; gaps, overlaps and foreign
// headers are refused.
func TestMergePartsSlices(t *testing.T) {
	ctx := context.Background()
	conv, err := pipeline.Convert(ctx, halvesModel(), stripes(64), pipeline.Config{Tmax: 8, Percentile: 100, Calib: 16, CalibSeed: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	test := stripes(9)
	whole, err := pipeline.EvaluateWith(ctx, conv, test, pipeline.EvalOptions{Stats: true})
	if err != nil {
		t.Fatal(err)
	}
	part := func(lo, hi int) *pipeline.Part {
		p := &pipeline.Part{Lo: lo, Hi: hi, Base: pipeline.Base(conv, test), Layout: pipeline.LayoutOf(conv)}
		if hi > lo {
			tl, err := pipeline.EvaluatePart(ctx, conv, test, lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			p.Tally = *tl
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		cuts  [][2]int
		error string
	}{
		{"one", [][2]int{{0, 9}}, ""},
		{"three", [][2]int{{0, 3}, {3, 6}, {6, 9}}, ""},
		{"empty slices", [][2]int{{0, 0}, {0, 4}, {4, 4}, {4, 9}, {9, 9}}, ""},
		{"out of order", [][2]int{{6, 9}, {0, 6}}, ""},
		{"gap", [][2]int{{0, 3}, {4, 9}}, "samples [3, 4) are in no part"},
		{"overlap", [][2]int{{0, 5}, {4, 9}}, "samples [4, 5) are in more than one part"},
		{"short", [][2]int{{0, 5}}, "samples [5, 9) are in no part"},
	} {
		var parts []*pipeline.Part
		for _, c := range tc.cuts {
			parts = append(parts, part(c[0], c[1]))
		}
		got, err := pipeline.MergeParts(parts, true)
		if tc.error != "" {
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.error)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.SNNAccuracy != whole.SNNAccuracy || got.Spikes != whole.Spikes || got.Omega != whole.Omega ||
			*got.Agreement != *whole.Agreement || got.Stats.Paired.DropCI != whole.Stats.Paired.DropCI || got.FirstSpike != whole.FirstSpike {
			t.Errorf("%s: merged %+v\nwhole %+v", tc.name, got, whole)
		}
	}
	other := part(3, 9)
	other.Base.Tmax = 4
	if _, err := pipeline.MergeParts([]*pipeline.Part{part(0, 3), other}, false); err == nil || !strings.Contains(err.Error(), "configuration differs") {
		t.Errorf("foreign header: %v", err)
	}
}
