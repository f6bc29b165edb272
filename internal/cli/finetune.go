package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quartz-snn/quartz/finetune"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/train"
)

func init() {
	register(&command{
		name:    "finetune",
		summary: "fine-tune a model for its SNN at a low --tmax (SNN-aware training) and write it, normalized, as ONNX",
		run:     runFinetune,
	})
}

// Defaults of quartz finetune.
const (
	finetuneEpochs = 10
	finetuneLR     = 1e-3
)

// MetaSourceSHA256 is the metadata key of the SHA-256 of the model a
// fine-tuned one started from.
const MetaSourceSHA256 = "quartz.source_sha256"

// finetuneLog is written beside the model as OUT.finetune.json.
type finetuneLog struct {
	Command      string                `json:"command"`
	Source       string                `json:"source"`
	SourceSHA256 string                `json:"source_sha256"`
	Data         string                `json:"data"`
	Tmax         string                `json:"tmax"`
	Percentile   string                `json:"percentile"`
	OutputScale  string                `json:"output_scale"`
	LogitScale   float64               `json:"logit_scale,omitempty"` // --logit-scale (0: output_scale)
	FloatLoss    float64               `json:"float_loss,omitempty"`
	Workers      int                   `json:"workers"`
	Config       train.Config          `json:"config"`
	Epochs       []train.Epoch         `json:"epochs"`
	Saturation   []finetune.Saturation `json:"saturation"`
	ProbeSamples int                   `json:"probe_samples"`
	ProbeBefore  float64               `json:"probe_accuracy_before"`
	ProbeAfter   float64               `json:"probe_accuracy_after"`
	Seconds      float64               `json:"seconds"`
	Metadata     map[string]string     `json:"metadata"`
	Finished     string                `json:"finished"`
}

func runFinetune(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "finetune", "--model FILE.onnx --data mnist --tmax 4 -o OUT.onnx [flags]")
	model := fs.String("model", "", "model `FILE.onnx` to start from (required)")
	out := fs.String("o", "", "output model `OUT.onnx` (required); the log goes to OUT.finetune.json")
	var d dataFlags
	d.registerSpec(fs, "mnist")
	fs.IntVar(&d.limit, "limit", 0, "train on only the first `N` training samples (0: all)")
	var c convFlags
	c.register(fs)
	var tc train.Config
	fs.IntVar(&tc.Epochs, "epochs", finetuneEpochs, "fine-tuning epochs")
	fs.IntVar(&tc.Batch, "batch", 64, "batch size")
	fs.StringVar(&tc.Optimizer, "optimizer", "adam", "adam or sgd")
	lr := fs.Float64("lr", finetuneLR, "learning rate")
	fs.StringVar(&tc.Schedule, "schedule", "cosine", "learning-rate schedule: cosine, step or constant")
	fs.IntVar(&tc.Augment.CropPad, "crop-pad", 0, "random crop with this zero padding (augmentation; 0: none)")
	fs.BoolVar(&tc.Augment.FlipH, "flip", false, "random horizontal flips (CIFAR)")
	fs.Uint64Var(&tc.Seed, "seed", 1, "seed for batch order and the saturation probe")
	logit := fs.Float64("logit-scale", 0, "factor from the output layer's values to the loss's logits (0: the output layer's normalization scale P_out, the ANN's own logit scale)")
	floatLoss := fs.Float64("float-loss", 0, "add this weight times the cross-entropy of the output layer's values clipped at 1 without rounding: a margin between classes, fewer ties (0: off)")
	probe := fs.Int("probe", finetune.DefaultProbe, "training samples the saturation (values above 1) is measured on before and after")
	workers := workersFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(e.stderr, "quartz finetune: --model FILE.onnx and -o OUT.onnx are required")
		fs.Usage()
		return errUsage
	}
	switch {
	case tc.Epochs < 1 || tc.Epochs > maxEpochs:
		return fmt.Errorf("--epochs %d: want 1 to %d", tc.Epochs, maxEpochs)
	case tc.Batch < 1 || tc.Batch > maxBatch:
		return fmt.Errorf("--batch %d: want 1 to %d", tc.Batch, maxBatch)
	case !(*lr > 0 && *lr <= 10) || float32(*lr) == 0:
		return fmt.Errorf("--lr %g: want a learning rate above 0 and at most 10", *lr)
	case *probe < 1 || *probe > 1<<20:
		return fmt.Errorf("--probe %d: want 1 to %d samples", *probe, 1<<20)
	case !(*logit >= 0 && *logit <= 1e6):
		return fmt.Errorf("--logit-scale %g: want 0 (P_out) or a positive factor up to 1e6", *logit)
	case tc.Augment.CropPad < 0 || tc.Augment.CropPad > maxCropPad:
		return fmt.Errorf("--crop-pad %d: want 0 to %d", tc.Augment.CropPad, maxCropPad)
	case !(*floatLoss >= 0 && *floatLoss <= 100):
		return fmt.Errorf("--float-loss %g: want 0 (off) to 100", *floatLoss)
	case *workers < 1:
		return fmt.Errorf("--workers %d: want at least 1", *workers)
	case d.limit < 0:
		return fmt.Errorf("--limit %d: want 0 (all) or more", d.limit)
	}
	tc.LR = float32(*lr)
	if same, err := sameFile(*model, *out); err != nil {
		return err
	} else if same {
		return fmt.Errorf("-o %s: that is the --model file; write the fine-tuned model to another file", *out)
	}
	logName := strings.TrimSuffix(*out, ".onnx") + ".finetune.json"
	if err := checkOutputs(*out, logName); err != nil {
		return err
	}
	cfg, err := c.config(*workers)
	if err != nil {
		return err
	}
	if c.threshold != "round" {
		return fmt.Errorf("--threshold %s: fine-tuning supports only the round threshold", c.threshold)
	}
	cfg.Progress = e.stderr
	sum, err := fileSHA256(*model)
	if err != nil {
		return err
	}
	conv, err := convertModel(ctx, e.stderr, *model, d, &c, cfg)
	if err != nil {
		return err
	}
	notes := conv.Notes
	if c.pre.String() != "" {
		notes = append(notes, "the input transform (--input-*) is part of the written model: evaluate it without those flags")
	}
	printNotes(e, notes...)
	trainSet, err := d.openSized("train", graph.Size(conv.ANN.InputShape))
	if err != nil {
		return err
	}
	tc.Log = e.stderr
	fcfg := finetune.Config{Train: tc, Workers: *workers, Probe: *probe, LogitScale: *logit, FloatLoss: *floatLoss}
	fmt.Fprintf(e.stderr, "fine-tuning %s for Tmax %s on %s: %d samples, %d epochs\n",
		*model, tmaxOf(cfg.Tmax, cfg.TmaxLayers), trainSet.Name, trainSet.Len(), tc.Epochs)
	t0 := time.Now()
	res, err := finetune.Run(ctx, conv, trainSet, fcfg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; nothing written")
		}
		return err
	}
	fm := res.Model
	fm.Name = strings.TrimSuffix(filepath.Base(*out), ".onnx")
	fm.Metadata[MetaSourceSHA256] = sum
	if err := onnx.WriteFile(*out, fm); err != nil {
		return err
	}
	log := finetuneLog{Command: "quartz finetune " + strings.Join(args, " "), Source: *model, SourceSHA256: sum, Data: d.spec,
		Tmax: fm.Metadata[graph.MetaTmax], Percentile: fm.Metadata[finetune.MetaPercentile], OutputScale: fm.Metadata[finetune.MetaOutputScale],
		LogitScale: *logit, FloatLoss: *floatLoss, Workers: *workers, Config: tc, Epochs: res.Epochs, Saturation: res.Saturation, ProbeSamples: min(*probe, trainSet.Len()),
		ProbeBefore: res.ProbeAccBefore, ProbeAfter: res.ProbeAccAfter, Seconds: time.Since(t0).Seconds(), Metadata: fm.Metadata,
		Finished: time.Now().UTC().Format(time.RFC3339)}
	js, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(logName, append(js, '\n')); err != nil {
		return err
	}
	for _, s := range res.Saturation {
		fmt.Fprintf(e.stderr, "  %-12s values above 1: %.3f %% → %.3f %%\n", s.Layer, 100*s.Before, 100*s.After)
	}
	fmt.Fprintf(e.stdout, "wrote %s: fine-tuned for Tmax %s in %d epochs (%.0f s); quantized network on %d training samples %.2f %% → %.2f %%; log %s\n",
		*out, log.Tmax, len(res.Epochs), res.Seconds, log.ProbeSamples, res.ProbeAccBefore, res.ProbeAccAfter, logName)
	flag := "--tmax"
	if len(cfg.TmaxLayers) > 0 {
		flag = "--tmax-layers"
	}
	fmt.Fprintf(e.stdout, "evaluate it with: quartz eval --model %s %s %s\n", *out, flag, log.Tmax)
	return nil
}

// sameFile reports whether out names the file in (a missing out names
// none).
func sameFile(in, out string) (bool, error) {
	fo, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(in)
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, fo), nil
}

func tmaxOf(t int, layers []int) string {
	if len(layers) == 0 {
		return fmt.Sprint(t)
	}
	s := make([]string, len(layers))
	for i, v := range layers {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}
