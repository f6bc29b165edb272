package cli

import (
	"context"
	"fmt"

	"github.com/quartz-snn/quartz/models"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/report"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "the main job: the shipped LeNet-5 on the MNIST test set, ANN vs Quartz SNN at Tmax 16, beside the paper",
		run:     runDemo,
	})
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "[flags]")
	var d dataFlags
	d.register(fs, "mnist", "test")
	var c convFlags
	// A fixed 99, the paper's percentile, beside whose Table 1 the demo
	// prints its numbers (auto would choose 99.5 and move them).
	c.registerPct(fs, "99")
	workers := workersFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	cfg, err := c.config(*workers)
	if err != nil {
		return err
	}
	cfg.Progress = e.stderr
	pm, err := onnx.Decode(models.LeNet5)
	if err != nil {
		return fmt.Errorf("embedded %s: %w", models.LeNet5Name, err)
	}
	m, err := onnx.ToGraph(pm)
	if err != nil {
		return fmt.Errorf("embedded %s: %w", models.LeNet5Name, err)
	}
	test, err := d.open(d.split)
	if err != nil {
		return err
	}
	conv, err := convertGraph(ctx, m, d, cfg)
	if err != nil {
		return err
	}
	res, err := pipeline.Evaluate(ctx, conv, test)
	if err != nil {
		return err
	}
	res.Model = models.LeNet5Name + " (embedded)"
	if err := report.Text(e.stdout, res); err != nil {
		return err
	}
	return report.Table1(e.stdout, res)
}
