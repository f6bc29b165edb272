package train

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
)

// toySet is a 2-class problem on 1×8×8 images: a bright square in the
// left or the right half, with noise.
func toySet(n int, seed uint64) *dataset.Set {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &dataset.Set{Name: "toy", C: 1, H: 8, W: 8, Classes: []string{"left", "right"},
		Pix: make([]uint8, n*64), Labels: make([]uint8, n)}
	for i := 0; i < n; i++ {
		c := r.IntN(2)
		s.Labels[i] = uint8(c)
		img := s.Pix[i*64 : (i+1)*64]
		for j := range img {
			img[j] = uint8(r.IntN(60))
		}
		x0, y0 := c*4+r.IntN(2), r.IntN(6)
		for y := y0; y < y0+3; y++ {
			for x := x0; x < x0+2; x++ {
				img[y*8+x] = 255
			}
		}
	}
	return s
}

func toyModel(t *testing.T, seed uint64) *graph.Model {
	t.Helper()
	m := &graph.Model{Name: "toy", InputShape: []int{1, 8, 8}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{4, 1, 3, 3}, W: make([]float32, 36), B: make([]float32, 4),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		{Name: "drop", Op: graph.Dropout, Ratio: 0.2},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{2, 36}, W: make([]float32, 72), B: make([]float32, 2)},
	}}
	nn.Init(m, seed)
	return m
}

func TestTrainLearnsAndResumesExactly(t *testing.T) {
	trainSet, testSet := toySet(512, 1), toySet(200, 2)
	// A constant schedule, so that a 2-epoch run followed by a resume to 4
	// epochs follows the same learning rates as one 4-epoch run.
	cfg := Config{Epochs: 4, Batch: 32, Seed: 7, LR: 0.01, Schedule: "constant"}
	run := func(from *Checkpoint, cfg Config, net *nn.Net) []Epoch {
		h, err := Run(context.Background(), net, trainSet, testSet, cfg, from)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// Uninterrupted.
	m1 := toyModel(t, 3)
	net1, err := nn.New(m1, 2)
	if err != nil {
		t.Fatal(err)
	}
	net1.SetSeed(cfg.Seed)
	h := run(nil, cfg, net1)
	if got := h[len(h)-1].TestAcc; got < 95 {
		t.Errorf("toy test accuracy %.1f %%, want ≥ 95 %%", got)
	}

	// Two epochs, checkpoint, then resume for the other two.
	prefix := filepath.Join(t.TempDir(), "ck")
	m2 := toyModel(t, 3)
	net2, _ := nn.New(m2, 2)
	net2.SetSeed(cfg.Seed)
	c2 := cfg
	c2.Epochs, c2.Checkpoint = 2, prefix
	h2 := run(nil, c2, net2)
	ck, err := LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 {
		t.Fatalf("checkpoint epoch %d, want 2", ck.Epoch)
	}
	net3, err := nn.New(ck.Model, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.History) != 2 || ck.History[1] != h2[1] {
		t.Fatalf("checkpoint history %+v, want the first run's %+v", ck.History, h2)
	}
	c3 := ck.Config
	c3.Epochs, c3.Checkpoint = 4, ""
	h3 := run(ck, c3, net3)
	if len(h3) != 4 || h3[0] != h2[0] || h3[3].Epoch != 4 {
		t.Fatalf("resumed history has epochs %v, want 1..4 with the first run's two", epochNumbers(h3))
	}

	for i, l := range m1.Nodes {
		if !slices.Equal(l.W, ck.Model.Nodes[i].W) || !slices.Equal(l.B, ck.Model.Nodes[i].B) {
			t.Fatalf("layer %s: resumed weights differ from an uninterrupted run", l.Name)
		}
	}
}

func TestRunErrors(t *testing.T) {
	m := toyModel(t, 1)
	net, _ := nn.New(m, 1)
	empty := &dataset.Set{Name: "empty", C: 1, H: 8, W: 8, Classes: []string{"a", "b"}}
	wrong := toySet(10, 1)
	wrong.H, wrong.W, wrong.Pix = 4, 4, wrong.Pix[:160]
	cases := []struct {
		name string
		set  *dataset.Set
		cfg  Config
	}{
		{"empty set", empty, Config{}},
		{"shape mismatch", wrong, Config{}},
		{"bad optimizer", toySet(10, 1), Config{Optimizer: "rmsprop"}},
		{"bad schedule", toySet(10, 1), Config{Schedule: "wave"}},
		{"negative lr", toySet(10, 1), Config{LR: -1}},
		{"negative test interval", toySet(10, 1), Config{TestEvery: -1}},
	}
	for _, tc := range cases {
		if _, err := Run(context.Background(), net, tc.set, nil, tc.cfg, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func epochNumbers(h []Epoch) []int {
	var n []int
	for _, e := range h {
		n = append(n, e.Epoch)
	}
	return n
}

// TestEpochJSON: an epoch without a test set (TestAcc NaN) survives a JSON
// round trip as null, and a measured one as itself.
func TestEpochJSON(t *testing.T) {
	for _, acc := range []float64{math.NaN(), 0, 97.25} {
		in := Epoch{Epoch: 3, LR: 0.5, Loss: 0.25, TrainAcc: 90, TestAcc: acc, Seconds: 1.5, Timestamp: "2026-11-28T00:00:00Z"}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("TestAcc %v: %v", acc, err)
		}
		var out Epoch
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if math.IsNaN(acc) != math.IsNaN(out.TestAcc) || (!math.IsNaN(acc) && out.TestAcc != acc) {
			t.Errorf("%s: TestAcc %v, want %v", b, out.TestAcc, acc)
		}
		out.TestAcc, in.TestAcc = 0, 0
		if out != in {
			t.Errorf("round trip %+v, want %+v", out, in)
		}
	}
}

// The per-epoch log line ends in an estimate of the time left, except on
// the last epoch, and a resumed run estimates from its own epochs.
func TestEpochLogETA(t *testing.T) {
	trainSet := toySet(128, 1)
	net, err := nn.New(toyModel(t, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	var log strings.Builder
	eta := regexp.MustCompile(`^epoch (\d)/3  lr \S+  loss \S+  train \S+%  test -  [0-9.]+s(  eta (\S+))?$`)
	if _, err := Run(context.Background(), net, trainSet, nil, Config{Epochs: 3, Batch: 32, Seed: 1, LR: 0.01, Log: &log}, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("log has %d lines, want 3:\n%s", len(lines), log.String())
	}
	for i, l := range lines {
		m := eta.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d %q: not an epoch line", i, l)
		}
		if last := i == 2; last != (m[3] == "") {
			t.Errorf("line %d %q: eta %q (want one on all but the last epoch)", i, l, m[3])
		}
		if m[3] != "" {
			if _, err := time.ParseDuration(m[3]); err != nil {
				t.Errorf("line %d: eta %q: %v", i, m[3], err)
			}
		}
	}
}

// TestTestEvery: with TestEvery 2 over 5 epochs the test set is evaluated
// after epochs 2, 4 and 5 (the last) only; the other epochs log "test -"
// and keep a NaN accuracy with no test time.
func TestTestEvery(t *testing.T) {
	net, err := nn.New(toyModel(t, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	var log strings.Builder
	h, err := Run(context.Background(), net, toySet(64, 1), toySet(32, 2), Config{Epochs: 5, Batch: 32, Seed: 1, LR: 0.01, TestEvery: 2, Log: &log}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(h) != 5 || len(lines) != 5 {
		t.Fatalf("%d epochs, %d log lines; want 5:\n%s", len(h), len(lines), log.String())
	}
	for i, e := range h {
		tested := e.Epoch == 2 || e.Epoch == 4 || e.Epoch == 5
		if math.IsNaN(e.TestAcc) == tested || (e.TestSecs > 0) != tested || strings.Contains(lines[i], "test -") == tested {
			t.Errorf("epoch %d: test accuracy %v in %.3fs, log %q; tested: want %v", e.Epoch, e.TestAcc, e.TestSecs, lines[i], tested)
		}
	}
}
