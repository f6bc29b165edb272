package train

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
)

// toyBNModel is toyModel with a BatchNorm after the convolution.
func toyBNModel(t *testing.T, seed uint64) *graph.Model {
	t.Helper()
	m := toyModel(t, seed)
	bn := &graph.Node{Name: "bn1", Op: graph.BatchNorm, Eps: 1e-5, Gamma: []float32{1, 1, 1, 1},
		Beta: make([]float32, 4), Mean: make([]float32, 4), Var: []float32{1, 1, 1, 1}}
	m.Nodes = slices.Insert(m.Nodes, 1, bn)
	return m
}

// params returns copies of every trainable tensor and the BatchNorm running
// statistics, in a fixed order.
func params(m *graph.Model) [][]float32 {
	var ps [][]float32
	for _, l := range m.Nodes {
		for _, p := range [][]float32{l.W, l.B, l.Gamma, l.Beta, l.Mean, l.Var} {
			if p != nil {
				ps = append(ps, slices.Clone(p))
			}
		}
	}
	return ps
}

// TestSWA: with SWAFrom 2 over 3 epochs the final weights are the mean of
// the weights as trained after epochs 2 and 3 (within 1e-6 relative: the
// float32 running mean rounds once per epoch), the BatchNorm statistics are
// recomputed for them over the loader's epoch 3, the learning rate is SWALR
// from epoch 2 on, and a run stopped after epoch 2 and resumed ends
// bit-identical to an uninterrupted one.
func TestSWA(t *testing.T) {
	trainSet, testSet := toySet(512, 1), toySet(200, 2)
	cfg := Config{Epochs: 3, Batch: 32, Seed: 7, LR: 0.02, Schedule: "constant", SWAFrom: 2, SWALR: 0.005}
	newNet := func(m *graph.Model) *nn.Net {
		net, err := nn.New(m, 2)
		if err != nil {
			t.Fatal(err)
		}
		net.SetSeed(cfg.Seed)
		t.Cleanup(net.Close)
		return net
	}
	run := func(net *nn.Net, cfg Config, from *Checkpoint) []Epoch {
		t.Helper()
		h, err := Run(context.Background(), net, trainSet, testSet, cfg, from)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// Uninterrupted, logging.
	m1 := toyBNModel(t, 3)
	var log strings.Builder
	c1 := cfg
	c1.Log = &log
	h1 := run(newNet(m1), c1, nil)
	for i, e := range h1 {
		wantLR, wantN := float32(0.02), max(0, i)
		if i > 0 {
			wantLR = 0.005
		}
		if e.LR != wantLR || e.SWAModels != wantN {
			t.Errorf("epoch %d: lr %v, %d epochs averaged; want %v, %d", e.Epoch, e.LR, e.SWAModels, wantLR, wantN)
		}
	}
	if !strings.Contains(log.String(), "weights averaged over 2 epochs; BatchNorm statistics recomputed on 512 training samples") {
		t.Errorf("log does not report the average:\n%s", log.String())
	}
	net1 := newNet(m1)
	if acc := Accuracy(net1, testSet); acc < 95 {
		t.Errorf("averaged toy model: test accuracy %.1f %%, want ≥ 95 %%", acc)
	}

	// Stopped after epoch 2, then resumed.
	prefix := filepath.Join(t.TempDir(), "ck")
	c2 := cfg
	c2.Epochs, c2.Checkpoint = 2, prefix
	run(newNet(toyBNModel(t, 3)), c2, nil)
	ck2, err := LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if ck2.swa.n != 1 {
		t.Fatalf("checkpoint after epoch 2 holds an average of %d epochs, want 1", ck2.swa.n)
	}
	w2 := params(ck2.Model) // as trained: the checkpoint is written before averaging
	c3 := ck2.Config
	c3.Epochs = 3
	m3 := ck2.Model
	run(newNet(m3), c3, ck2)
	if got, want := params(m3), params(m1); !slices.EqualFunc(got, want, slices.Equal) {
		t.Error("resumed run ends with other weights than an uninterrupted one")
	}
	ck3, err := LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	w3 := params(ck3.Model)

	// The mean, tensor by tensor; the running statistics (4th and 5th
	// tensors: bn1's Mean and Var) are not averaged.
	final := params(m1)
	for i := range final {
		if i == 4 || i == 5 {
			continue
		}
		for j, v := range final[i] {
			want := (float64(w2[i][j]) + float64(w3[i][j])) / 2
			if math.Abs(float64(v)-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("tensor %d value %d: %v, want the mean %v of %v and %v", i, j, v, want, w2[i][j], w3[i][j])
			}
		}
	}
	// The statistics are RecomputeBatchNorm's over the loader's epoch 3.
	ref := ck3.Model
	refNet := newNet(ref)
	avg := average{n: ck3.swa.n, mean: ck3.swa.mean}
	avg.apply(refNet.Params())
	loader := dataset.NewLoader(trainSet, cfg.Batch, true, cfg.Seed, cfg.Augment)
	refNet.RecomputeBatchNorm(func(yield func([]float32, int) bool) {
		for _, b := range loader.Epoch(3) {
			if !yield(b.X, b.N) {
				return
			}
		}
	})
	if got, want := params(m1), params(ref); !slices.EqualFunc(got, want, slices.Equal) {
		t.Error("final BatchNorm statistics are not those of a recomputation over the loader's epoch 3")
	}
	if slices.Equal(final[4], w3[4]) {
		t.Error("BatchNorm running mean was not recomputed")
	}
}

func TestSWAConfigErrors(t *testing.T) {
	net, err := nn.New(toyBNModel(t, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	cases := []struct {
		name string
		cfg  Config
	}{
		{"average from after the last epoch", Config{Epochs: 3, SWAFrom: 4}},
		{"negative epoch", Config{Epochs: 3, SWAFrom: -1}},
		{"negative learning rate", Config{Epochs: 3, SWAFrom: 2, SWALR: -0.1}},
		{"NaN learning rate", Config{Epochs: 3, SWAFrom: 2, SWALR: float32(math.NaN())}},
		{"learning rate without averaging", Config{Epochs: 3, SWALR: 0.01}},
	}
	for _, tc := range cases {
		if _, err := Run(context.Background(), net, toySet(10, 1), nil, tc.cfg, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}

	// A checkpoint with an average cannot be resumed with averaging off.
	prefix := filepath.Join(t.TempDir(), "ck")
	if _, err := Run(context.Background(), net, toySet(64, 1), nil, Config{Epochs: 1, Batch: 32, SWAFrom: 1, Checkpoint: prefix}, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	net2, err := nn.New(ck.Model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net2.Close()
	off := ck.Config
	off.SWAFrom, off.Epochs = 0, 2
	if _, err := Run(context.Background(), net2, toySet(64, 1), nil, off, ck); err == nil || !strings.Contains(err.Error(), "weight average of 1 epochs") {
		t.Errorf("resume with averaging off: %v, want an error about the average", err)
	}
}
