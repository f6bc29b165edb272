package pipeline_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/ratecode"
)

// laterCtx is a context whose Err turns to Canceled after its first n
// calls: cancellation arriving while a chunk of samples is being simulated.
type laterCtx struct {
	context.Context
	n atomic.Int64
}

func (c *laterCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func (c *laterCtx) Done() <-chan struct{} { return nil }

// TestCancelWithinChunk: a cancellation that arrives in the middle of a
// chunk (500 samples for rate coding, 1000 for Quartz) stops the
// simulation instead of being noticed after the chunk, or never.
func TestCancelWithinChunk(t *testing.T) {
	cfg := pipeline.Config{Tmax: 8, Percentile: 100, Calib: 16, CalibSeed: 1, Workers: 2}
	conv, err := pipeline.Convert(context.Background(), halves(false), stripes(64), cfg)
	if err != nil {
		t.Fatal(err)
	}
	test := stripes(400) // one chunk
	for _, c := range []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"quartz", func(ctx context.Context) error { _, err := pipeline.Evaluate(ctx, conv, test); return err }},
		{"rate", func(ctx context.Context) error {
			_, err := pipeline.EvaluateRate(ctx, conv, test, ratecode.Config{Steps: 1000, Workers: 2})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := &laterCtx{Context: context.Background()}
			ctx.n.Store(3)
			t0 := time.Now()
			if err := c.run(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			t.Logf("stopped after %v", time.Since(t0))
		})
	}
}
