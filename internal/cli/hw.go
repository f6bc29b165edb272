package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/hw"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/snn"
)

func init() {
	register(&command{
		name:    "map",
		summary: "place a converted SNN on neuromorphic cores (Loihi 1/2): plan, limits, and a cost estimate",
		run:     runMap,
	})
}

// hwEval is eval's --hw step: emulate the converted SNN with the chip's
// integer arithmetic on the same samples and print both reports.
func hwEval(ctx context.Context, e *env, conv *pipeline.Converted, test *dataset.Set, name string, workers int, asJSON bool, res *pipeline.Result) error {
	p, err := hw.ByName(name)
	if err != nil {
		return err
	}
	q, sum, secs, err := emulateSet(ctx, conv.SNN, p, test, workers)
	if err != nil {
		return err
	}
	hr := q.Result(sum)
	hr.Seconds = secs
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*pipeline.Result
			Hardware *hw.EmuResult `json:"hardware"`
		}{res, hr})
	}
	if err := report.Text(e.stdout, res); err != nil {
		return err
	}
	return hr.Text(e.stdout)
}

// emulateSet runs the emulator over a data set in chunks.
func emulateSet(ctx context.Context, n *snn.Network, p *hw.Profile, s *dataset.Set, workers int) (*hw.IntNet, *hw.Summary, float64, error) {
	if _, err := pipeline.CheckInput("the SNN", n.InShape, s); err != nil {
		return nil, nil, 0, err
	}
	q, err := hw.Quantize(n, p)
	if err != nil {
		return nil, nil, 0, err
	}
	em, err := hw.NewEmulator(q)
	if err != nil {
		return nil, nil, 0, err
	}
	// Small chunks: ctx is checked between them, so Ctrl-C takes effect
	// within a chunk's time (well under a second).
	const chunk = 128
	x := make([]float32, min(chunk, s.Len())*s.SampleSize())
	idx := make([]int, chunk)
	y := make([]int32, chunk)
	var sum hw.Summary
	t0 := time.Now()
	for lo := 0; lo < s.Len(); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		k := min(chunk, s.Len()-lo)
		for i := range k {
			idx[i] = lo + i
		}
		s.Gather(idx[:k], x, y)
		part, err := em.Evaluate(x[:k*s.SampleSize()], k, y[:k], workers, true)
		if err != nil {
			return nil, nil, 0, err
		}
		sum.Merge(part)
	}
	return q, &sum, time.Since(t0).Seconds(), nil
}

func runMap(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "map", "--hw loihi1 (--model FILE.onnx | --snn FILE.json | --zoo NAME) [flags]")
	hwName := fs.String("hw", "loihi1", "hardware profile: loihi1 or loihi2")
	model := fs.String("model", "", "model `FILE.onnx`")
	snnFile := fs.String("snn", "", "converted SNN `FILE.json` (quartz convert)")
	zoo := fs.String("zoo", "", "zoo architecture (lenet5, vgg11, mobilenet-v1), initial weights: for counting cores")
	inShape := fs.String("in", "3,32,32", "zoo input shape C,H,W")
	classes := fs.Int("classes", 10, "zoo classes")
	width := fs.Float64("width", 1, "zoo channel width multiplier")
	noCalib := fs.Bool("no-calib", false, "convert the model without normalization (weights do not change the core count)")
	cost := fs.Bool("cost", false, "emulate --limit test samples and estimate energy and latency from the plan")
	out := fs.String("o", "", "write the plan as JSON to `FILE`")
	asJSON := fs.Bool("json", false, "print one JSON object (plan and cost) instead of the text summary")
	var d dataFlags
	d.register(fs, "mnist", "test")
	var c convFlags
	c.register(fs)
	workers := workersFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	given := 0
	for _, v := range []string{*model, *snnFile, *zoo} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		fmt.Fprintln(e.stderr, "quartz map: give exactly one of --model, --snn, --zoo")
		fs.Usage()
		return errUsage
	}
	if err := checkOutputs(*out); err != nil {
		return err
	}
	p, err := hw.ByName(*hwName)
	if err != nil {
		return err
	}
	cfg, err := c.config(*workers)
	if err != nil {
		return err
	}
	cfg.Progress = e.stderr
	var net *snn.Network
	var notes []string
	switch {
	case *snnFile != "":
		conv, err := readSNN(*snnFile, "", nil, *workers)
		if err != nil {
			return err
		}
		net = conv.SNN
	case *zoo != "" || *noCalib:
		var m *graph.Model
		if *zoo != "" {
			in, err := intList("--in", *inShape)
			if err != nil || len(in) != 3 {
				return fmt.Errorf("--in %q: want C,H,W", *inShape)
			}
			need, err := zooEstimate(*zoo, in, *classes, *width, 1, *workers, false)
			if err != nil {
				return fmt.Errorf("--zoo %s: %w", *zoo, err)
			}
			if err := pipeline.CheckMemory("--zoo "+*zoo+" --in "+*inShape, need, c.maxMem.limit()); err != nil {
				return err
			}
			if m, err = nn.Zoo(*zoo, in, *classes, *width); err != nil {
				return err
			}
		} else if err = checkModel(*model); err != nil {
			return err
		} else if m, err = onnx.ReadFile(*model); err != nil {
			return err
		} else if err = checkNodes(*model, m); err != nil {
			return err
		}
		s, err := graph.Simplify(m)
		if err != nil {
			return err
		}
		if net, err = snn.Convert(s, snn.Config{Tmax: cfg.Tmax, TmaxLayers: cfg.TmaxLayers, Threshold: cfg.Threshold}); err != nil {
			return err
		}
	default:
		conv, err := convertModel(ctx, e.stderr, *model, d, &c, cfg)
		if err != nil {
			return err
		}
		net, notes = conv.SNN, conv.Notes
	}
	printNotes(e, notes...)
	q, err := hw.Quantize(net, p)
	if err != nil {
		return err
	}
	plan, err := hw.MapNetwork(q)
	if err != nil {
		return err
	}
	var est *hw.Cost
	if *cost {
		if d.limit == 0 {
			d.limit = 1000
		}
		test, err := d.open(d.split)
		if err != nil {
			return err
		}
		notes = append(notes, pipeline.InputNote(net.InShape, test))
		_, sum, _, err := emulateSet(ctx, net, p, test, *workers)
		if err != nil {
			return err
		}
		if est, err = hw.Estimate(q, plan, sum); err != nil {
			return err
		}
	}
	if *out != "" {
		js, err := json.MarshalIndent(plan, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.Write(*out, append(js, '\n')); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Plan *hw.Plan `json:"plan"`
			Cost *hw.Cost `json:"cost,omitempty"`
		}{plan, est})
	}
	if err := plan.Text(e.stdout); err != nil {
		return err
	}
	if est != nil {
		var paper *hw.Paper
		if d.spec == "mnist" && *model != "" || *snnFile != "" {
			paper = &hw.PaperTable3[0]
		}
		return est.Text(e.stdout, paper)
	}
	return nil
}
