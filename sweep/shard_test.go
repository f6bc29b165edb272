package sweep_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/quartz-snn/quartz/shard"
	"github.com/quartz-snn/quartz/sweep"
)

// TestShardsMergeToRun: the parts of n shards merge into the results of
// Run, equal in every field but the wall times, for shard counts below,
// at and above the 4 points (points split across shards); parts that
// leave a sample out or cover one twice are refused.
func TestShardsMergeToRun(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(1)
	calib, test := tinySet("tiny/train", 50, 1), tinySet("tiny/test", 21, 2)
	want, err := sweep.Run(ctx, m, calib, test, t.TempDir(), tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 4, 7, 84} {
		var parts []*sweep.Partial
		for i := 0; i < n; i++ {
			p, err := sweep.RunShard(ctx, tinyModel(1), calib, test, tinyConfig(), shard.Spec{Index: i, Count: n})
			if err != nil {
				t.Fatalf("n=%d, shard %d: %v", n, i, err)
			}
			parts = append(parts, p)
		}
		got, err := sweep.MergeShards(t.TempDir(), parts)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if got.Best != want.Best || got.Computed != len(want.Points) || len(got.Points) != len(want.Points) {
			t.Fatalf("n=%d: best %d, computed %d, %d points; want %d, %d, %d", n, got.Best, got.Computed, len(got.Points), want.Best, len(want.Points), len(want.Points))
		}
		for i := range want.Points {
			a, b := *want.Points[i], *got.Points[i]
			a.SecondsSNN, b.SecondsSNN, a.SecondsANN, b.SecondsANN = 0, 0, 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Errorf("n=%d: point %d differs:\nrun    %+v\nmerged %+v", n, i, a, b)
			}
		}
		if n == 3 {
			if _, err := sweep.MergeShards(t.TempDir(), parts[:2]); err == nil {
				t.Error("merged 2 of 3 parts")
			}
			if _, err := sweep.MergeShards(t.TempDir(), append(parts[:3:3], parts[1])); err == nil {
				t.Error("merged a part twice")
			}
		}
	}
	cfg := tinyConfig()
	cfg.RateSteps = 10
	if _, err := sweep.RunShard(ctx, m, calib, test, cfg, shard.Spec{Count: 2}); err == nil {
		t.Error("RunShard ran the rate baseline")
	}
}
