// Command ftcheck compares a fine-tuned model's SNN with the quantized
// network it was trained as (docs/lowlatency.md): it converts the model at
// the given window, runs the SNN and the quantized network
// (finetune.Build) on the whole test split, and prints both accuracies,
// how many samples the two classify differently, the quantized network's
// ties and how many of those had the label among the tied classes but
// lost it to the lowest-index rule.
//
//	go run ./tools/ftcheck -model lenet5-t4.onnx -tmax 4
//	go run ./tools/ftcheck -model lenet5-l.onnx -tmax 4,4,4,16
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/finetune"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
)

func main() {
	model := flag.String("model", "", "fine-tuned model FILE.onnx (required)")
	data := flag.String("data", "mnist", "data set, as quartz --data")
	tmax := flag.String("tmax", "4", "window T, or one T per spiking layer, comma separated")
	workers := flag.Int("workers", 2, "worker goroutines")
	flag.Parse()
	if err := run(*model, *data, *tmax, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "ftcheck:", err)
		os.Exit(1)
	}
}

func run(path, data, tmax string, workers int) error {
	if path == "" {
		return errors.New("-model is required")
	}
	cfg := pipeline.Config{Calib: 2000, Workers: workers}
	for _, f := range strings.Split(tmax, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return fmt.Errorf("-tmax %q: want positive integers separated by commas", tmax)
		}
		cfg.TmaxLayers = append(cfg.TmaxLayers, v)
	}
	if len(cfg.TmaxLayers) == 1 {
		cfg.Tmax, cfg.TmaxLayers = cfg.TmaxLayers[0], nil
	}
	m, err := onnx.ReadFile(path)
	if err != nil {
		return err
	}
	if !m.Normalized() {
		return fmt.Errorf("%s: not marked normalized (%s): not a quartz finetune output", path, graph.MetaNormalized)
	}
	ctx := context.Background()
	train, err := dataset.Open(data, dataset.Options{Split: "train", Lazy: true})
	if err != nil {
		return err
	}
	test, err := dataset.Open(data, dataset.Options{Split: "test"})
	if err != nil {
		return err
	}
	conv, err := pipeline.Convert(ctx, m, train, cfg)
	if err != nil {
		return err
	}
	q, err := finetune.Build(conv, 1)
	if err != nil {
		return err
	}
	net, err := nn.New(q, workers)
	if err != nil {
		return err
	}
	defer net.Close()
	idx := make([]int, test.Len())
	for i := range idx {
		idx[i] = i
	}
	var cls []int
	ties, lost := 0, 0
	k := net.OutSize()
	err = test.Chunks(idx, nn.BatchFor(q), func(x []float32, y []int32, n int) error {
		out := net.Predict(x, n)
		for i := range n {
			o := out[i*k : (i+1)*k]
			best, tied := 0, 0
			for j := range o {
				if o[j] > o[best] {
					best = j
				}
			}
			for j := range o {
				if o[j] == o[best] {
					tied++
				}
			}
			if tied > 1 {
				ties++
				if int(y[i]) != best && o[y[i]] == o[best] {
					lost++
				}
			}
			cls = append(cls, best)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res, err := pipeline.EvaluateWith(ctx, conv, test, pipeline.EvalOptions{PerSample: true})
	if err != nil {
		return err
	}
	differ, right := 0, 0
	for i, s := range res.PerSample {
		if s.SNN != cls[i] {
			differ++
		}
		if cls[i] == s.Label {
			right++
		}
	}
	fmt.Printf("%s on %s, Tmax %s: SNN %.2f %%, quantized network %.2f %%; they differ on %d of %d samples (early spikes %.4f %% of hidden neurons); quantized network: %d ties, %d with the label tied but lost to the lowest index\n",
		path, test.Name, tmax, res.SNNAccuracy, 100*float64(right)/float64(test.Len()), differ, test.Len(), res.EarlySpikePct, ties, lost)
	return nil
}
