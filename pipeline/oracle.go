package pipeline

import (
	"context"
	"fmt"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/snn"
)

// CheckOracle simulates the first n samples of test with both the fast
// simulator and the time-stepped oracle and counts the spike times on which
// they differ (SPEC §6: with float weights they may differ only where a
// membrane potential lies within float rounding of the threshold). The
// oracle is slow and holds every synapse: keep n small for large networks.
func CheckOracle(ctx context.Context, c *Converted, test *dataset.Set, n int) (*snn.OracleCheck, error) {
	if n < 1 {
		return nil, fmt.Errorf("oracle check of %d samples: want ≥ 1", n)
	}
	if err := checkSNNShape(c.SNN, test); err != nil {
		return nil, err
	}
	n = min(n, test.Len())
	x := make([]float32, n*test.SampleSize())
	for i := range n {
		test.Image(i, x[i*test.SampleSize():])
	}
	bar := progress.OnTerminal(c.Config.Progress, "oracle check", n)
	defer bar.Done()
	check, err := snn.CheckOracle(ctx, c.SNN, x, n, func() { bar.Add(1) })
	if err != nil {
		return nil, fmt.Errorf("oracle check: %w", err)
	}
	return check, nil
}
