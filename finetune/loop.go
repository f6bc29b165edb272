package finetune

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/internal/progress"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/train"
)

// runTwoHeads trains a network whose output is two heads of k logits
// each (BuildTwoHeads): the quantized output and the output clipped at 1
// without rounding. The loss is the cross-entropy of the first plus
// lambda times that of the second. The hyperparameters are those of
// cfg (epochs, batch, optimizer, learning rate with a cosine or constant
// schedule, seed, augmentation, log); the epoch records are train's.
func runTwoHeads(ctx context.Context, net *nn.Net, set *dataset.Set, cfg train.Config, lambda float32) ([]train.Epoch, error) {
	if cfg.Epochs == 0 {
		cfg.Epochs = 10
	}
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	var opt nn.Optimizer
	switch cfg.Optimizer {
	case "", "adam":
		if cfg.LR == 0 {
			cfg.LR = 1e-3
		}
		opt = nn.NewAdam(cfg.LR)
	case "sgd":
		if cfg.LR == 0 {
			cfg.LR = 0.05
		}
		if cfg.Momentum == 0 {
			cfg.Momentum = 0.9
		}
		opt = &nn.SGD{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay}
	default:
		return nil, fmt.Errorf("optimizer %q: want adam or sgd", cfg.Optimizer)
	}
	sched := nn.Cosine(cfg.LR, 0, float64(cfg.Epochs))
	switch cfg.Schedule {
	case "", "cosine":
	case "constant":
		sched = nn.Constant(cfg.LR)
	default:
		return nil, fmt.Errorf("schedule %q: the two-head loss takes cosine or constant", cfg.Schedule)
	}
	k := net.OutSize() / 2
	if len(set.Classes) > k {
		return nil, fmt.Errorf("training set %s has %d classes, the model has %d outputs", set.Name, len(set.Classes), k)
	}
	loader := dataset.NewLoader(set, cfg.Batch, true, cfg.Seed, cfg.Augment)
	steps := loader.Len()
	q, f := make([]float32, cfg.Batch*k), make([]float32, cfg.Batch*k)
	dq, df := make([]float32, cfg.Batch*k), make([]float32, cfg.Batch*k)
	grad := make([]float32, cfg.Batch*2*k)
	var hist []train.Epoch
	for ep := range cfg.Epochs {
		t0 := time.Now()
		bar := progress.OnTerminal(cfg.Log, fmt.Sprintf("epoch %d/%d", ep+1, cfg.Epochs), steps)
		e := train.Epoch{Epoch: ep + 1, LR: sched(float64(ep)), TestAcc: math.NaN()}
		var lossSum float64
		var correct, seen int
		for b, batch := range loader.Epoch(ep) {
			if err := ctx.Err(); err != nil {
				bar.Done()
				return hist, err
			}
			opt.SetLR(sched(float64(ep) + float64(b)/float64(steps)))
			net.ZeroGrad()
			n := batch.N
			out := net.Forward(batch.X, n, true)
			for i := range n {
				copy(q[i*k:(i+1)*k], out[2*i*k:(2*i+1)*k])
				copy(f[i*k:(i+1)*k], out[(2*i+1)*k:(2*i+2)*k])
			}
			lq, gq, c := nn.SoftmaxCrossEntropy(q[:n*k], batch.Y, n, dq)
			lf, gf, _ := nn.SoftmaxCrossEntropy(f[:n*k], batch.Y, n, df)
			loss := float64(lq) + float64(lambda)*float64(lf)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				bar.Done()
				return hist, fmt.Errorf("epoch %d batch %d: loss is %v (lower the learning rate?)", ep+1, b, loss)
			}
			for i := range n {
				copy(grad[2*i*k:(2*i+1)*k], gq[i*k:(i+1)*k])
				for j := range k {
					grad[(2*i+1)*k+j] = lambda * gf[i*k+j]
				}
			}
			net.Backward(grad[:2*n*k])
			opt.Step(net)
			lossSum += loss * float64(n)
			correct += c
			seen += n
			bar.SetExtra(fmt.Sprintf("loss %.4f acc %.2f%%", lossSum/float64(seen), 100*float64(correct)/float64(seen)))
			bar.Add(1)
		}
		bar.Done()
		e.Seconds = time.Since(t0).Seconds()
		e.Loss = lossSum / float64(seen)
		e.TrainAcc = 100 * float64(correct) / float64(seen)
		e.Timestamp = time.Now().UTC().Format(time.RFC3339)
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "epoch %d/%d  lr %.2e  loss %.4f  train %.2f%% (quantized output)  %.1fs\n",
				e.Epoch, cfg.Epochs, e.LR, e.Loss, e.TrainAcc, e.Seconds)
		}
		hist = append(hist, e)
	}
	return hist, nil
}
