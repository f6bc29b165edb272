package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

// trainToCheckpoint trains the toy model for epochs epochs with a
// checkpoint at prefix and returns the net.
func trainToCheckpoint(t *testing.T, prefix string, epochs int) *nn.Net {
	t.Helper()
	net, err := nn.New(toyModel(t, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	cfg := Config{Epochs: epochs, Batch: 32, Seed: 7, LR: 0.01, Schedule: "constant", Optimizer: "sgd", Checkpoint: prefix}
	net.SetSeed(cfg.Seed)
	if _, err := Run(context.Background(), net, toySet(128, 1), nil, cfg, nil); err != nil {
		t.Fatal(err)
	}
	return net
}

// TestCheckpointBitFlips: a flipped bit anywhere in a checkpoint, model,
// header or optimizer buffers, is refused with a one-line message, as is a
// truncated file (defect 9).
func TestCheckpointBitFlips(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "ck")
	trainToCheckpoint(t, prefix, 1)
	good, err := os.ReadFile(prefix + ".state")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(prefix); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	r := rand.New(rand.NewPCG(1, 2))
	// The last bytes are the optimizer buffers (and the checksum): flip
	// there too, where the old format had nothing to notice it.
	positions := []int{0, len(good) / 2, len(good) - 1, len(good) - 33, len(good) - 40}
	for range 60 {
		positions = append(positions, r.IntN(len(good)))
	}
	for _, pos := range positions {
		data := slices.Clone(good)
		data[pos] ^= 1 << r.IntN(8)
		if err := os.WriteFile(bad+".state", data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadCheckpoint(bad)
		if err == nil {
			t.Fatalf("a bit flipped at byte %d of %d was resumed", pos, len(good))
		}
		if pos >= len(stateMagic) && !strings.Contains(err.Error(), "checksum mismatch") || strings.Contains(err.Error(), "\n") {
			t.Errorf("flip at %d: error %q, want one line naming the checksum", pos, err)
		}
	}
	for _, n := range []int{0, 10, len(good) / 2, len(good) - 1} {
		os.WriteFile(bad+".state", good[:n], 0o644)
		if _, err := LoadCheckpoint(bad); err == nil || !strings.Contains(err.Error(), bad+".state") {
			t.Errorf("truncated to %d bytes: error %v, want one naming the file", n, err)
		}
	}
}

// TestCheckpointOneUnit: the checkpoint is the state file alone; a model
// copy PREFIX.onnx from another epoch (a kill between the two renames of
// the old format) does not mix into the resumed state (defect 1).
func TestCheckpointOneUnit(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "ck")
	trainToCheckpoint(t, prefix, 1)
	epoch1, err := os.ReadFile(prefix + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	net := trainToCheckpoint(t, prefix, 2)
	// The model copy of epoch 1 beside the state of epoch 2.
	if err := os.WriteFile(prefix+".onnx", epoch1, 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 || ck.Warning != "" {
		t.Fatalf("epoch %d, warning %q; want 2 and none", ck.Epoch, ck.Warning)
	}
	for i, l := range net.Model().Nodes {
		if !slices.Equal(l.W, ck.Model.Nodes[i].W) {
			t.Fatalf("layer %s: the checkpoint's weights are not those of epoch 2", l.Name)
		}
	}
}

// TestCheckpointOldFormat: a format 1 pair (state without model or
// checksum, beside PREFIX.onnx) still resumes, with a warning.
func TestCheckpointOldFormat(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "ck")
	trainToCheckpoint(t, prefix, 1)
	data, err := os.ReadFile(prefix + ".state")
	if err != nil {
		t.Fatal(err)
	}
	h, _, bufs, err := parseState(data)
	if err != nil {
		t.Fatal(err)
	}
	h.ModelLen = 0
	hj, _ := json.Marshal(h)
	var v1 bytes.Buffer
	v1.WriteString(stateMagicV1)
	binary.Write(&v1, binary.LittleEndian, uint32(len(hj)))
	v1.Write(hj)
	for _, b := range bufs {
		binary.Write(&v1, binary.LittleEndian, b)
	}
	if err := os.WriteFile(prefix+".state", v1.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 1 || !strings.Contains(ck.Warning, "old format") {
		t.Errorf("epoch %d, warning %q; want 1 and a warning about the old format", ck.Epoch, ck.Warning)
	}
	m, err := onnx.ReadFile(prefix + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	net, _ := nn.New(m, 1)
	defer net.Close()
	if _, err := ck.Restore(net); err != nil {
		t.Errorf("restore: %v", err)
	}
}

// TestCheckpointFullDisk: a disk that fills up while a checkpoint is
// written, at any byte, fails the run and leaves the previous checkpoint
// whole and loadable, with no temporary file.
func TestCheckpointFullDisk(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "ck")
	trainToCheckpoint(t, prefix, 1)
	before, _ := os.ReadFile(prefix + ".state")
	for _, n := range []int64{0, 100, int64(len(before)) / 2, int64(len(before)) - 1} {
		restore := atomicfile.InjectFault(atomicfile.FailAfter(n))
		net, _ := nn.New(toyModel(t, 3), 1)
		cfg := Config{Epochs: 2, Batch: 32, Seed: 7, LR: 0.01, Schedule: "constant", Optimizer: "sgd", Checkpoint: prefix}
		_, err := Run(context.Background(), net, toySet(128, 1), nil, cfg, nil)
		restore()
		net.Close()
		if !errors.Is(err, atomicfile.ErrDiskFull) {
			t.Fatalf("full disk after %d bytes: error %v", n, err)
		}
		// Run wrote epoch 1 again (or failed on it): either way the
		// checkpoint on disk is a whole one.
		ck, err := LoadCheckpoint(prefix)
		if err != nil || ck.Epoch != 1 {
			t.Fatalf("after a full disk at %d bytes: %v", n, err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
	}
}
