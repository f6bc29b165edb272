package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/nn"
)

// Config sets up a training run. Zero values take the documented defaults.
type Config struct {
	Epochs      int     `json:"epochs"`       // default 10
	Batch       int     `json:"batch"`        // default 64
	Optimizer   string  `json:"optimizer"`    // "adam" (default) or "sgd"
	LR          float32 `json:"lr"`           // default 1e-3 for Adam, 0.05 for SGD
	Momentum    float32 `json:"momentum"`     // SGD momentum, default 0.9
	WeightDecay float32 `json:"weight_decay"` // L2 on Conv/Linear weights, default 0
	// Schedule is "cosine" (default: LR → 0 over Epochs), "step" (×0.1 at
	// 50 % and ×0.01 at 75 % of Epochs) or "constant".
	Schedule string          `json:"schedule"`
	Seed     uint64          `json:"seed"` // batch order, augmentation and dropout
	Augment  dataset.Augment `json:"augment"`
	// Float16 asks the writer of the final model (quartz train --float16)
	// for float16 weights. Training is float32 throughout; the field
	// lives here so that checkpoints keep it and a resumed run writes
	// the same kind of file.
	Float16 bool `json:"float16,omitempty"`
	// Notes is the caller's own record, kept by checkpoints and otherwise
	// unused (quartz train keeps its command line and --width here, so
	// that a resumed run's log still names how the run began).
	Notes json.RawMessage `json:"notes,omitempty"`
	// TestEvery evaluates the test set after every TestEvery-th epoch and
	// after the last (0 or 1: after every epoch). A test pass of a large
	// network costs a noticeable share of an epoch; the skipped epochs log
	// no test accuracy.
	TestEvery int `json:"test_every,omitempty"`
	// SWAFrom, if positive, turns on stochastic weight averaging
	// (Izmailov et al., 2018): the weights at the end of epoch SWAFrom
	// (1-based) and of every later epoch are averaged, and when the run
	// ends the network takes that average, with BatchNorm running
	// statistics recomputed over one pass of the augmented training set
	// (nn.Net.RecomputeBatchNorm). Checkpoints keep the weights as trained
	// and the average beside them, so a resumed or extended run goes on
	// averaging. The per-epoch test accuracies are those of the weights as
	// trained.
	SWAFrom int `json:"swa_from,omitempty"`
	// SWALR, if positive, is the constant learning rate from epoch SWAFrom
	// on (epochs before it follow Schedule over Epochs); 0 keeps Schedule
	// throughout, which suits the constant schedule.
	SWALR float32 `json:"swa_lr,omitempty"`
	// Checkpoint, if set, is the path prefix of the per-epoch checkpoint.
	Checkpoint string `json:"checkpoint,omitempty"`
	// Log receives one line per epoch and the progress bar (nil: silent).
	Log io.Writer `json:"-"`
}

func (c *Config) defaults() error {
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.Optimizer == "" {
		c.Optimizer = "adam"
	}
	if c.Schedule == "" {
		c.Schedule = "cosine"
	}
	switch c.Optimizer {
	case "adam":
		if c.LR == 0 {
			c.LR = 1e-3
		}
	case "sgd":
		if c.LR == 0 {
			c.LR = 0.05
		}
		if c.Momentum == 0 {
			c.Momentum = 0.9
		}
	default:
		return fmt.Errorf("optimizer %q: want adam or sgd", c.Optimizer)
	}
	if c.Epochs < 0 || c.Batch < 0 || !(c.LR > 0) || c.WeightDecay < 0 {
		return fmt.Errorf("epochs %d, batch %d, lr %v, weight decay %v: must be positive", c.Epochs, c.Batch, c.LR, c.WeightDecay)
	}
	switch c.Schedule {
	case "cosine", "step", "constant":
	default:
		return fmt.Errorf("schedule %q: want cosine, step or constant", c.Schedule)
	}
	if c.TestEvery < 0 {
		return fmt.Errorf("test every %d epochs: must not be negative", c.TestEvery)
	}
	switch {
	case c.SWAFrom < 0 || c.SWAFrom > c.Epochs:
		return fmt.Errorf("weight averaging from epoch %d: want an epoch from 1 to %d", c.SWAFrom, c.Epochs)
	case !(c.SWALR >= 0) || math.IsInf(float64(c.SWALR), 0):
		return fmt.Errorf("weight averaging learning rate %v: must be positive, or 0 to keep the schedule", c.SWALR)
	case c.SWALR > 0 && c.SWAFrom == 0:
		return fmt.Errorf("weight averaging learning rate %v without an epoch to average from", c.SWALR)
	}
	return nil
}

func (c *Config) schedule() nn.Schedule {
	base := c.baseSchedule()
	if c.SWAFrom == 0 || c.SWALR == 0 {
		return base
	}
	from, lr := float64(c.SWAFrom-1), c.SWALR
	return func(t float64) float32 {
		if t >= from {
			return lr
		}
		return base(t)
	}
}

func (c *Config) baseSchedule() nn.Schedule {
	switch c.Schedule {
	case "step":
		lr, e := c.LR, float64(c.Epochs)
		return func(t float64) float32 {
			switch {
			case t >= 0.75*e:
				return lr * 0.01
			case t >= 0.5*e:
				return lr * 0.1
			}
			return lr
		}
	case "constant":
		return nn.Constant(c.LR)
	}
	return nn.Cosine(c.LR, 0, float64(c.Epochs))
}

// Epoch is what one epoch achieved.
type Epoch struct {
	Epoch    int     `json:"epoch"` // 1-based
	LR       float32 `json:"lr"`    // at the epoch's start
	Loss     float64 `json:"loss"`  // mean training loss
	TrainAcc float64 `json:"train_accuracy"`
	TestAcc  float64 `json:"test_accuracy"` // NaN without a test set (JSON null)
	// SWAModels is how many epochs' weights the weight average holds after
	// this one (Config.SWAFrom).
	SWAModels int     `json:"swa_models,omitempty"`
	Seconds   float64 `json:"seconds"` // training time of the epoch
	TestSecs  float64 `json:"test_seconds"`
	Timestamp string  `json:"time"`
}

// epochJSON is Epoch with TestAcc as a pointer: JSON has no NaN, so an
// epoch without a test set writes null.
type epochJSON struct {
	plainEpoch
	TestAcc *float64 `json:"test_accuracy"`
}

type plainEpoch Epoch // no methods: plain struct encoding

// MarshalJSON writes TestAcc as null when it is NaN.
func (e Epoch) MarshalJSON() ([]byte, error) {
	v := epochJSON{plainEpoch: plainEpoch(e)}
	if !math.IsNaN(e.TestAcc) {
		v.TestAcc = &e.TestAcc
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads a null TestAcc as NaN.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	var v epochJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Epoch(v.plainEpoch)
	e.TestAcc = math.NaN()
	if v.TestAcc != nil {
		e.TestAcc = *v.TestAcc
	}
	return nil
}

// Run trains net on trainSet for cfg.Epochs epochs, evaluating on testSet
// (may be nil) after each. from, if not nil, is the checkpoint net was built
// on (net = nn.New(from.Model, …)): training continues after from.Epoch with
// its optimizer state. A cfg.Epochs above the checkpoint's own extends the
// run, and the schedule is recomputed over the new total (for the cosine
// schedule, a warm restart at that point of the longer curve). Run returns
// the per-epoch history, the checkpoint's earlier epochs included, and
// saves it in every checkpoint it writes. With Config.SWAFrom, the network
// ends with the averaged weights.
func Run(ctx context.Context, net *nn.Net, trainSet, testSet *dataset.Set, cfg Config, from *Checkpoint) ([]Epoch, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if trainSet.Len() == 0 {
		return nil, errors.New("training set is empty")
	}
	if trainSet.SampleSize() != net.InSize() {
		return nil, fmt.Errorf("training set %s has %d values per sample (%d×%d×%d), model wants %d", trainSet.Name, trainSet.SampleSize(), trainSet.C, trainSet.H, trainSet.W, net.InSize())
	}
	if len(trainSet.Classes) > net.OutSize() {
		return nil, fmt.Errorf("training set %s has %d classes, model has %d outputs", trainSet.Name, len(trainSet.Classes), net.OutSize())
	}
	start, opt := 0, newOptimizer(cfg)
	var hist []Epoch
	var swa average
	if from != nil {
		var err error
		if opt, err = from.Restore(net); err != nil {
			return nil, err
		}
		start, hist = from.Epoch, slices.Clone(from.History)
		swa = average{n: from.swa.n, mean: slices.Clone(from.swa.mean)}
		if err := swa.check(net.Params()); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		if cfg.SWAFrom == 0 && swa.n > 0 {
			return nil, fmt.Errorf("checkpoint holds a weight average of %d epochs, and weight averaging is off", swa.n)
		}
	}
	sched := cfg.schedule()
	loader := dataset.NewLoader(trainSet, cfg.Batch, true, cfg.Seed, cfg.Augment)
	steps := loader.Len()
	dl := make([]float32, cfg.Batch*net.OutSize())
	var spent time.Duration // wall time of the epochs run by this call
	for ep := start; ep < cfg.Epochs; ep++ {
		t0 := time.Now()
		bar := progress.OnTerminal(cfg.Log, fmt.Sprintf("epoch %d/%d", ep+1, cfg.Epochs), steps)
		e := Epoch{Epoch: ep + 1, LR: sched(float64(ep))}
		var lossSum float64
		var correct, seen int
		for b, batch := range loader.Epoch(ep) {
			if err := ctx.Err(); err != nil {
				return hist, err
			}
			opt.SetLR(sched(float64(ep) + float64(b)/float64(steps)))
			net.ZeroGrad()
			out := net.Forward(batch.X, batch.N, true)
			loss, grad, c := nn.SoftmaxCrossEntropy(out, batch.Y, batch.N, dl)
			if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
				return hist, fmt.Errorf("epoch %d batch %d: loss is %v (lower the learning rate?)", ep+1, b, loss)
			}
			net.Backward(grad)
			opt.Step(net)
			lossSum += float64(loss) * float64(batch.N)
			correct += c
			seen += batch.N
			bar.SetExtra(fmt.Sprintf("loss %.4f acc %.2f%%", lossSum/float64(seen), 100*float64(correct)/float64(seen)))
			bar.Add(1)
		}
		e.Seconds = time.Since(t0).Seconds()
		e.Loss = lossSum / float64(seen)
		e.TrainAcc = 100 * float64(correct) / float64(seen)
		e.TestAcc = math.NaN()
		if testSet != nil && (cfg.TestEvery <= 1 || (ep+1)%cfg.TestEvery == 0 || ep+1 == cfg.Epochs) {
			t1 := time.Now()
			e.TestAcc = Accuracy(net, testSet)
			e.TestSecs = time.Since(t1).Seconds()
		}
		if cfg.SWAFrom > 0 && ep+1 >= cfg.SWAFrom {
			swa.add(net.Params())
			e.SWAModels = swa.n
		}
		e.Timestamp = time.Now().UTC().Format(time.RFC3339)
		bar.Done()
		spent += time.Since(t0)
		if cfg.Log != nil {
			eta := ""
			if left := cfg.Epochs - ep - 1; left > 0 {
				// The mean epoch of this run (test pass included) times
				// the epochs left.
				avg := spent / time.Duration(ep+1-start)
				eta = "  eta " + (avg * time.Duration(left)).Round(time.Second).String()
			}
			test := "-"
			if !math.IsNaN(e.TestAcc) {
				test = fmt.Sprintf("%.2f%%", e.TestAcc)
			}
			fmt.Fprintf(cfg.Log, "epoch %d/%d  lr %.2e  loss %.4f  train %.2f%%  test %s  %.1fs%s\n",
				e.Epoch, cfg.Epochs, e.LR, e.Loss, e.TrainAcc, test, e.Seconds, eta)
		}
		hist = append(hist, e)
		if cfg.Checkpoint != "" {
			if err := saveCheckpoint(cfg.Checkpoint, net, cfg, ep+1, hist, opt, &swa); err != nil {
				return hist, err
			}
		}
	}
	if swa.n > 0 {
		if err := finishAverage(ctx, net, &swa, loader, cfg); err != nil {
			return hist, err
		}
	}
	return hist, nil
}

// finishAverage gives the network the averaged weights and recomputes the
// BatchNorm statistics for them over one more epoch of the loader (its
// shuffle and augmentation for epoch cfg.Epochs, one past the last).
func finishAverage(ctx context.Context, net *nn.Net, swa *average, loader *dataset.Loader, cfg Config) error {
	swa.apply(net.Params())
	hasBN := false
	for _, l := range net.Model().Nodes {
		hasBN = hasBN || l.Op == graph.BatchNorm
	}
	if !hasBN {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "weights averaged over %d epochs\n", swa.n)
		}
		return nil
	}
	t0 := time.Now()
	bar := progress.OnTerminal(cfg.Log, "BatchNorm statistics", loader.Len())
	seen := net.RecomputeBatchNorm(func(yield func([]float32, int) bool) {
		for _, b := range loader.Epoch(cfg.Epochs) {
			if ctx.Err() != nil || !yield(b.X, b.N) {
				return
			}
			bar.Add(1)
		}
	})
	bar.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "weights averaged over %d epochs; BatchNorm statistics recomputed on %d training samples in %.1fs\n",
			swa.n, seen, time.Since(t0).Seconds())
	}
	return nil
}

func newOptimizer(cfg Config) nn.Optimizer {
	if cfg.Optimizer == "sgd" {
		return &nn.SGD{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay}
	}
	a := nn.NewAdam(cfg.LR)
	a.WeightDecay = cfg.WeightDecay
	return a
}

// Accuracy returns net's top-1 accuracy on s in percent, evaluating in
// batches of net.Batch().
func Accuracy(net *nn.Net, s *dataset.Set) float64 {
	pred := Predictions(net, s)
	correct := 0
	for i, p := range pred {
		if int(p) == int(s.Labels[i]) {
			correct++
		}
	}
	if len(pred) == 0 {
		return math.NaN()
	}
	return 100 * float64(correct) / float64(len(pred))
}

// Predictions returns net's predicted class for every sample of s.
func Predictions(net *nn.Net, s *dataset.Set) []int32 {
	pred := make([]int32, 0, s.Len())
	var am []int32
	s.Chunks(nil, 4*net.Batch(), func(x []float32, _ []int32, n int) error {
		am = nn.Argmax(net.Predict(x, n), n, am)
		pred = append(pred, am[:n]...)
		return nil
	})
	return pred
}
