package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/shard"
)

// checkEvalShard checks the flags of eval --shard: -o only with it, and
// none of the outputs that a shard does not write (the merge writes the
// summary, the JSON and the report; the others are not sharded).
func checkEvalShard(sharded bool, dir string, asJSON bool, md, pred, coding string, oracle int, hw string) error {
	if !sharded {
		if dir != "" {
			return errors.New("-o: eval writes a file with -o only with --shard (the part); use --json or --report otherwise")
		}
		return nil
	}
	if dir == "" {
		return errors.New("--shard: needs -o DIR, the folder of the part file")
	}
	switch {
	case asJSON:
		return errors.New("--shard: --json is written by quartz merge (DIR/result.json), not by a shard")
	case md != "":
		return errors.New("--shard: --report is written by quartz merge (DIR/report.md), not by a shard")
	case pred != "":
		return errors.New("--shard: --predictions is not sharded; run it unsharded")
	case coding != "quartz":
		return fmt.Errorf("--shard: --coding %s is not sharded; use --coding quartz", coding)
	case oracle != 0:
		return errors.New("--shard: --oracle is not sharded; run it unsharded")
	case hw != "":
		return errors.New("--shard: --hw is not sharded; run it unsharded")
	}
	return nil
}

// evalIdentity is what eval's part identity is made of.
type evalIdentity struct {
	model, snnFile string
	d              dataFlags
	c              *convFlags
}

func (id evalIdentity) identity(test *dataset.Set, calibKey string) (shard.Identity, error) {
	file := displayName(id.model, id.snnFile)
	sum, err := fileSHA256(file)
	if err != nil {
		return shard.Identity{}, err
	}
	sha := "sha256:" + sum
	if id.c.pre.set() {
		sha += " " + id.c.pre.String()
	}
	fp, err := test.Fingerprint()
	if err != nil {
		return shard.Identity{}, err
	}
	c := id.c
	cfg := canon("snn", strconv.FormatBool(id.snnFile != ""), "split", id.d.split, "tmax", strconv.Itoa(c.tmax),
		"tmax_layers", c.tmaxLayers, "percentile", c.percentile, "percentile_layers", c.pctLayers,
		"auto_samples", strconv.Itoa(c.autoSamples), "calib", strconv.Itoa(c.calib),
		"calib_seed", strconv.FormatUint(c.calibSeed, 10), "threshold", c.threshold, "analog_first", c.analogFirst.String(),
		"output", c.pre.output)
	return shard.Identity{Kind: "eval", Model: file, ModelSHA256: sha, Data: test.Name, DataFingerprint: fp,
		Samples: test.Len(), CalibKey: calibKey, Config: cfg}, nil
}

// evalShard evaluates shard sp of test and writes its part under dir.
func evalShard(ctx context.Context, e *env, sp shard.Spec, dir string, conv *pipeline.Converted, test *dataset.Set, id evalIdentity) error {
	ident, err := id.identity(test, conv.CalibKey)
	if err != nil {
		return err
	}
	if conv.ANN != nil {
		if err := pipeline.CheckMemory("evaluating the ANN", pipeline.EstimateEvaluate(conv.ANN, test, conv.Config.Workers), id.c.maxMem.limit()); err != nil {
			return err
		}
	}
	base := pipeline.Base(conv, test)
	base.Model = displayName(id.model, id.snnFile)
	if id.d.split == "train" && id.snnFile == "" {
		base.Warnings = append(base.Warnings, trainWarning)
	}
	lo, hi := sp.Range(int64(test.Len()))
	part := &pipeline.Part{Lo: int(lo), Hi: int(hi), Base: base, Layout: pipeline.LayoutOf(conv)}
	if hi > lo {
		t, err := pipeline.EvaluatePart(ctx, conv, test, int(lo), int(hi))
		if err != nil {
			return err
		}
		part.Tally = *t
	}
	name, err := writePart(dir, &partFile{Header: shard.NewHeader(sp, ident), Eval: part})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "shard %s: samples [%d, %d) of %d; wrote %s\n", sp, lo, hi, test.Len(), name)
	return nil
}

// planEval fills plan for quartz slurm: the memory of one eval shard.
func planEval(plan *runPlan, model, snnFile string, d dataFlags, c *convFlags, test *dataset.Set, workers int) error {
	plan.samples, plan.sampleBytes = test.Len(), int64(test.SampleSize())
	plan.units = int64(test.Len())
	if model == "" {
		// A converted SNN: no ANN, no calibration; the set dominates.
		plan.memory = test.Bytes()
		return nil
	}
	c.pre.analogFirst = c.analogFirst.allows()
	m, err := loadModel(model, &c.pre)
	if err != nil {
		return err
	}
	if err := m.InferShapes(); err != nil {
		return fmt.Errorf("%s: %w", model, err)
	}
	s, err := graph.Simplify(m.Clone())
	if err != nil {
		return fmt.Errorf("%s: simplify: %w", model, err)
	}
	if err := s.InferShapes(); err != nil {
		return fmt.Errorf("%s: %w", model, err)
	}
	calib, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: "train", SampleSize: graph.Size(m.InputShape), Lazy: true})
	if err != nil {
		return fmt.Errorf("calibration set: %w", err)
	}
	plan.memory = pipeline.EstimateConvert(s, calib, workers) + pipeline.EstimateEvaluate(m, test, workers)
	return nil
}
