package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/train"
)

func init() {
	register(&command{
		name:    "train",
		summary: "train a model from the zoo (lenet5, vgg11, mobilenet-v1) and write it as ONNX",
		run:     runTrain,
	})
}

// trainLog is written beside the model as OUT.train.json.
type trainLog struct {
	Command string        `json:"command"`           // the command that began the run
	Resumed []string      `json:"resumed,omitempty"` // the commands that continued it, in order
	Model   string        `json:"model"`
	Width   float64       `json:"width,omitempty"` // absent when unknown (a checkpoint older than the record)
	Init    *initRecord   `json:"init,omitempty"`  // the model the run started from (--init)
	Data    string        `json:"data"`
	Workers int           `json:"workers"`
	Config  train.Config  `json:"config"`
	Epochs  []train.Epoch `json:"epochs"`
	// TestAccuracy is the final network's (float32 weights): with
	// --swa-from, that of the weight average, not of the last epoch.
	TestAccuracy float64 `json:"test_accuracy"`
	// Seconds is the training and test time summed over all epochs, across
	// resumes; RunSeconds the wall time of the last command alone.
	Seconds    float64 `json:"seconds"`
	RunSeconds float64 `json:"run_seconds"`
	Params     int     `json:"params"`
	MACs       int64   `json:"macs"`
	Finished   string  `json:"finished"`
}

// runRecord is what quartz train keeps in train.Config.Notes, so that it
// survives checkpoints: the starting command and width, and each resume.
type runRecord struct {
	Command string      `json:"command"`
	Width   float64     `json:"width"`
	Resumed []string    `json:"resumed,omitempty"`
	Init    *initRecord `json:"init,omitempty"`
}

// initRecord names the model a --init run started from and what it scored.
type initRecord struct {
	File         string  `json:"file"`
	SHA256       string  `json:"sha256"`
	TestAccuracy float64 `json:"test_accuracy"` // of the warm-started network
	Calibrated   int     `json:"calibrated_batchnorms"`
}

// initSamples is how many training images recalibrate the BatchNorm layers
// that an --init model folded.
const initSamples = 4096

func runTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "train", "--model lenet5 --data mnist -o models/lenet5.onnx")
	var d dataFlags
	// No --split: train reads the train split and tests on the test split.
	d.registerSpec(fs, "mnist")
	fs.IntVar(&d.limit, "limit", 0, "use only the first `N` training samples (0: all)")
	arch := fs.String("model", "lenet5", "architecture: "+strings.Join(nn.ZooNames, ", "))
	width := fs.Float64("width", 1, "channel width multiplier")
	out := fs.String("o", "", "output model `FILE.onnx` (required)")
	var cfg train.Config
	fs.IntVar(&cfg.Epochs, "epochs", 10, "training epochs")
	fs.IntVar(&cfg.Batch, "batch", 64, "batch size")
	fs.StringVar(&cfg.Optimizer, "optimizer", "adam", "adam or sgd")
	lr := fs.Float64("lr", 0, "learning rate (0: 1e-3 for adam, 0.05 for sgd)")
	mom := fs.Float64("momentum", 0.9, "SGD momentum")
	wd := fs.Float64("weight-decay", 0, "L2 weight decay on conv/linear weights")
	fs.StringVar(&cfg.Schedule, "schedule", "cosine", "learning-rate schedule: cosine, step or constant")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed for initialization, batch order, augmentation and dropout")
	fs.IntVar(&cfg.Augment.CropPad, "crop-pad", 0, "random crop with this zero padding (CIFAR: 4)")
	fs.BoolVar(&cfg.Augment.FlipH, "flip", false, "random horizontal flips (CIFAR)")
	ckpt := fs.String("checkpoint", "", "checkpoint path `PREFIX` (default: OUT without .onnx, plus .ckpt)")
	fs.IntVar(&cfg.TestEvery, "test-every", 1, "evaluate the test set after every `N`th epoch and the last (a resume keeps the setting unless given)")
	fs.BoolVar(&cfg.Float16, "float16", false, "store the final model's conv and linear weights as float16: half the file size (checkpoints stay float32; a resume keeps the setting)")
	initFile := fs.String("init", "", "start from the weights of `FILE.onnx`, a trained model of the same --model and --width (e.g. to fine-tune it with a new schedule); BatchNorms it folded are recalibrated on training images")
	fs.IntVar(&cfg.SWAFrom, "swa-from", 0, "stochastic weight averaging: average the weights of epoch `N` and every later epoch, and end with that average, its BatchNorm statistics recomputed on the training set (0: off)")
	swaLR := fs.Float64("swa-lr", 0, "constant learning rate from the --swa-from epoch on (0: keep --schedule)")
	resume := fs.Bool("resume", false, "continue from the checkpoint; a larger --epochs extends the run (the schedule is recomputed over the new total)")
	var maxMem memFlag
	fs.Var(&maxMem, "max-memory", memUsage)
	workers := workersFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "quartz train: -o FILE.onnx is required")
		fs.Usage()
		return errUsage
	}
	if msg := checkTrainFlags(fs, &cfg, *width, *lr, *mom, *wd, *swaLR, *workers, d.limit, *arch, *resume); msg != "" {
		fmt.Fprintf(e.stderr, "quartz train: %s\n", msg)
		return errUsage
	}
	cfg.LR, cfg.Momentum, cfg.WeightDecay, cfg.SWALR = float32(*lr), float32(*mom), float32(*wd), float32(*swaLR)
	if *ckpt == "" {
		*ckpt = strings.TrimSuffix(*out, ".onnx") + ".ckpt"
	}
	cfg.Checkpoint = *ckpt
	cfg.Log = e.stderr
	logName := strings.TrimSuffix(*out, ".onnx") + ".train.json"
	// Every file the run writes must be writable before the work begins;
	// temporary files an earlier, killed run left beside them are removed.
	targets := []string{*out, logName, *ckpt + ".state", *ckpt + ".onnx"}
	for _, t := range targets {
		if err := atomicfile.CheckTarget(t); err != nil {
			return err
		}
	}
	if n, err := atomicfile.CleanTemps(targets...); err != nil {
		return err
	} else if n > 0 {
		printNotes(e, fmt.Sprintf("removed %d temporary file(s) left by an interrupted run", n))
	}
	command := "quartz train " + strings.Join(args, " ")
	rec := runRecord{Command: command, Width: *width}
	if *resume && *initFile != "" {
		return fmt.Errorf("--init and --resume: a resumed run continues its checkpoint; give one of them")
	}
	var initModel *graph.Model
	var initSum string
	if *initFile != "" {
		// Read it before the data: a bad file fails fast.
		raw, err := atomicfile.ReadFile(*initFile, atomicfile.MaxModelSize)
		if err != nil {
			return fmt.Errorf("--init: %w", err)
		}
		om, err := onnx.Decode(raw)
		if err == nil {
			initModel, _, err = onnx.Convert(om)
		}
		if err != nil {
			return fmt.Errorf("--init %s: %w", *initFile, err)
		}
		initSum = fmt.Sprintf("%x", sha256.Sum256(raw))
	}

	trainSet, err := d.open("train")
	if err != nil {
		return err
	}
	d.limit = 0
	testSet, err := d.open("test")
	if err != nil {
		return err
	}
	if trainSet.Unsplit() {
		fmt.Fprintln(e.stderr, "warning: npy/npz tensors have no train/test split: the model trains and is tested on the same samples, so its test accuracy is a training accuracy")
	}
	shape := []int{trainSet.C, trainSet.H, trainSet.W}

	var m *graph.Model
	var from *train.Checkpoint
	var net *nn.Net
	if *resume {
		if from, err = train.LoadCheckpoint(*ckpt); err != nil {
			return err
		}
		if from.Warning != "" {
			fmt.Fprintf(e.stderr, "warning: %s\n", from.Warning)
		}
		m = from.Model
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["model"] && *arch != m.Name {
			return fmt.Errorf("--model %s: the checkpoint %s holds a %s", *arch, *ckpt, m.Name)
		}
		*arch = m.Name
		saved := from.Config
		var kept runRecord
		if len(saved.Notes) > 0 {
			if err := json.Unmarshal(saved.Notes, &kept); err != nil {
				return fmt.Errorf("checkpoint %s: run record: %w", *ckpt, err)
			}
		}
		switch {
		case kept.Command == "":
			// A checkpoint older than the record: this command stands for
			// the run, and the width is what it says, or unknown (the log
			// omits it).
			if !set["width"] {
				rec.Width = 0
			}
		case set["width"] && *width != kept.Width:
			return fmt.Errorf("--width %g: the checkpoint %s holds a %s of width %g", *width, *ckpt, m.Name, kept.Width)
		default:
			rec = kept
			rec.Resumed = append(rec.Resumed, command)
		}
		saved.Epochs, saved.Checkpoint, saved.Log = cfg.Epochs, cfg.Checkpoint, cfg.Log
		if set["float16"] {
			saved.Float16 = cfg.Float16
		}
		if set["test-every"] {
			saved.TestEvery = cfg.TestEvery
		}
		if set["swa-from"] && cfg.SWAFrom != saved.SWAFrom {
			// Averaging can begin with a later epoch; once begun, it
			// keeps its first epoch.
			if n := from.SWAModels(); n > 0 {
				return fmt.Errorf("--swa-from %d: the checkpoint %s averages from epoch %d already (%d epochs)", cfg.SWAFrom, *ckpt, saved.SWAFrom, n)
			}
			if cfg.SWAFrom != 0 && cfg.SWAFrom <= from.Epoch {
				return fmt.Errorf("--swa-from %d: the checkpoint %s has %d epochs done; average from a later one", cfg.SWAFrom, *ckpt, from.Epoch)
			}
			saved.SWAFrom = cfg.SWAFrom
		}
		if set["swa-lr"] {
			saved.SWALR = cfg.SWALR
		}
		if saved.Epochs < from.Epoch {
			return fmt.Errorf("--epochs %d: the checkpoint %s has %d epochs done already", saved.Epochs, *ckpt, from.Epoch)
		}
		cfg = saved
		if net, err = nn.New(m, *workers); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "resuming %s after epoch %d of %d\n", *ckpt, from.Epoch, cfg.Epochs)
	} else {
		need, err := zooEstimate(*arch, shape, len(trainSet.Classes), *width, cfg.Batch, *workers, true)
		if err != nil {
			return err
		}
		if err := pipeline.CheckMemory("training "+*arch, need+trainSet.Bytes()+testSet.Bytes(), maxMem.limit()); err != nil {
			return err
		}
		if m, err = nn.Zoo(*arch, shape, len(trainSet.Classes), *width); err != nil {
			return err
		}
		nn.Init(m, cfg.Seed)
		if net, err = nn.New(m, *workers); err != nil {
			return err
		}
		net.SetSeed(cfg.Seed)
		if initModel != nil {
			if rec.Init, err = warmStart(net, initModel, *initFile, initSum, trainSet, testSet, cfg); err != nil {
				net.Close()
				return err
			}
			fmt.Fprintf(e.stderr, "starting from %s: test accuracy %.2f %% (%d folded BatchNorm layers recalibrated on %d augmented training images)\n",
				*initFile, rec.Init.TestAccuracy, rec.Init.Calibrated, min(initSamples, trainSet.Len()))
		}
	}
	defer net.Close()
	if cfg.Notes, err = json.Marshal(rec); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "training %s (%d parameters, %d MACs) on %s: %d samples, test %d\n",
		*arch, m.Params(), m.MACs(), trainSet.Name, trainSet.Len(), testSet.Len())
	t0 := time.Now()
	hist, err := train.Run(ctx, net, trainSet, testSet, cfg, from)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; continue with --resume (checkpoint %s)", *ckpt)
		}
		return err
	}
	final, err := graph.InferenceForm(net.Model())
	if err != nil {
		return err
	}
	final.Name = *arch
	if err := onnx.WriteFileWith(*out, final, onnx.WriteOptions{Float16: cfg.Float16}); err != nil {
		return err
	}
	acc := train.Accuracy(net, testSet)
	var seconds float64
	for _, ep := range hist {
		seconds += ep.Seconds + ep.TestSecs
	}
	logCfg := cfg
	logCfg.Notes = nil // the record is spelled out beside it
	log := trainLog{Command: rec.Command, Resumed: rec.Resumed, Init: rec.Init, Model: *arch, Width: rec.Width, Data: d.spec,
		Workers: net.Workers(), Config: logCfg, Epochs: hist, TestAccuracy: acc, Seconds: seconds, RunSeconds: time.Since(t0).Seconds(),
		Params: final.Params(), MACs: final.MACs(), Finished: time.Now().UTC().Format(time.RFC3339)}
	js, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(logName, append(js, '\n')); err != nil {
		return err
	}
	if !cfg.Float16 {
		fmt.Fprintf(e.stdout, "wrote %s (%d parameters): test accuracy %.2f %% on %d %s samples; log %s\n",
			*out, final.Params(), acc, testSet.Len(), testSet.Name, logName)
		return nil
	}
	acc16, err := fileAccuracy(*out, testSet, *workers)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d parameters, float16 weights): test accuracy %.2f %% (float32 weights: %.2f %%) on %d %s samples; log %s\n",
		*out, final.Params(), acc16, acc, testSet.Len(), testSet.Name, logName)
	return nil
}

// fileAccuracy reads a model file back and returns its test accuracy: the
// number for the weights as written.
func fileAccuracy(path string, test *dataset.Set, workers int) (float64, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return 0, err
	}
	net, err := nn.New(m, workers)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer net.Close()
	return train.Accuracy(net, test), nil
}

// warmStart sets net from the --init model and measures where it starts.
// The folded BatchNorms are recalibrated on training images as training
// sees them (shuffled and augmented), so that in train mode, which
// normalizes by batch statistics of augmented images, the network computes
// nearly what it computes in eval mode: the model it started from.
func warmStart(net *nn.Net, m *graph.Model, file, sum string, trainSet, testSet *dataset.Set, cfg train.Config) (*initRecord, error) {
	n := min(initSamples, trainSet.Len())
	size := trainSet.SampleSize()
	x := make([]float32, 0, n*size)
	for _, b := range dataset.NewLoader(trainSet, 256, true, cfg.Seed^0x5eed, cfg.Augment).Epoch(0) {
		x = append(x, b.X[:min(b.N, n-len(x)/size)*size]...)
		if len(x) == n*size {
			break
		}
	}
	k, err := net.WarmStart(m, x, n)
	if err != nil {
		return nil, fmt.Errorf("--init %s: %w", file, err)
	}
	return &initRecord{File: file, SHA256: sum, TestAccuracy: train.Accuracy(net, testSet), Calibrated: k}, nil
}

// checkTrainFlags validates every train flag before anything is read or
// trained, returning a one-line message ("" when all are valid).
func checkTrainFlags(fs *flag.FlagSet, cfg *train.Config, width, lr, mom, wd, swaLR float64, workers, limit int, arch string, resume bool) string {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case cfg.Epochs < 1 || cfg.Epochs > maxEpochs:
		return fmt.Sprintf("--epochs %d: want 1 to %d", cfg.Epochs, maxEpochs)
	case cfg.Batch < 1 || cfg.Batch > maxBatch:
		return fmt.Sprintf("--batch %d: want 1 to %d", cfg.Batch, maxBatch)
	case cfg.Optimizer != "adam" && cfg.Optimizer != "sgd":
		return fmt.Sprintf("--optimizer %q: want adam or sgd", cfg.Optimizer)
	case !finite(lr) || lr < 0 || float32(lr) == 0 && lr != 0 || lr > 10:
		return fmt.Sprintf("--lr %g: want a learning rate above 0 and at most 10 (or 0 for the optimizer's default)", lr)
	case !finite(mom) || mom < 0 || mom >= 1:
		return fmt.Sprintf("--momentum %g: want 0 ≤ momentum < 1", mom)
	case set["momentum"] && mom == 0 && !resume:
		// train.Config takes a zero momentum for its default, 0.9.
		return "--momentum 0: not supported (plain SGD without momentum); give a small value such as 1e-6"
	case set["momentum"] && cfg.Optimizer != "sgd" && !resume:
		return fmt.Sprintf("--momentum %g: only --optimizer sgd uses it", mom)
	case !finite(wd) || wd < 0 || wd >= 1:
		return fmt.Sprintf("--weight-decay %g: want 0 ≤ weight decay < 1", wd)
	case cfg.Schedule != "cosine" && cfg.Schedule != "step" && cfg.Schedule != "constant":
		return fmt.Sprintf("--schedule %q: want cosine, step or constant", cfg.Schedule)
	case cfg.Augment.CropPad < 0 || cfg.Augment.CropPad > maxCropPad:
		return fmt.Sprintf("--crop-pad %d: want 0 to %d", cfg.Augment.CropPad, maxCropPad)
	case cfg.TestEvery < 0 || cfg.TestEvery > maxEpochs:
		return fmt.Sprintf("--test-every %d: want 0 to %d", cfg.TestEvery, maxEpochs)
	case cfg.SWAFrom < 0 || cfg.SWAFrom > cfg.Epochs:
		return fmt.Sprintf("--swa-from %d: want an epoch from 1 to --epochs %d (or 0: off)", cfg.SWAFrom, cfg.Epochs)
	case !finite(swaLR) || swaLR < 0 || swaLR > 10:
		return fmt.Sprintf("--swa-lr %g: want 0 (keep the schedule) to 10", swaLR)
	case swaLR > 0 && cfg.SWAFrom == 0 && !resume:
		return fmt.Sprintf("--swa-lr %g needs --swa-from", swaLR)
	case !finite(width) || width <= 0:
		return fmt.Sprintf("--width %g: want a positive multiplier", width)
	case width > maxWidth:
		return fmt.Sprintf("--width %g: at most %d", width, maxWidth)
	case workers < 1:
		return fmt.Sprintf("--workers %d: want at least 1", workers)
	case limit < 0:
		return fmt.Sprintf("--limit %d: want 0 (all) or more", limit)
	case !resume && !slices.Contains(nn.ZooNames, arch):
		return fmt.Sprintf("--model %q: want one of %s", arch, strings.Join(nn.ZooNames, ", "))
	}
	return ""
}

// Bounds of the train flags.
const (
	maxEpochs  = 100000
	maxBatch   = 1 << 16
	maxCropPad = 64
)
