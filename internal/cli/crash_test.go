//go:build unix

package cli_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/internal/atomicfile"
)

// TestTrainCrashConsistency kills `quartz train` at random moments, with
// SIGKILL or SIGTERM, and resumes each time, as a user would (with
// --resume when a checkpoint exists); every run brought to its end must
// write the model bit for bit as the uninterrupted run does. Any refusal
// would have to be one clear line, but the one-file checkpoint leaves
// nothing to refuse: this test accepts none.
func TestTrainCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it about 150 times")
	}
	bin := filepath.Join(t.TempDir(), "quartz")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/quartz")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := randomMNISTDir(t, 96, 32)
	args := func(out string) []string {
		return []string{"train", "--model", "lenet5", "--data", "mnist", "--data-dir", data, "--epochs", "4",
			"--batch", "32", "--workers", "1", "--optimizer", "sgd", "--lr", "0.01", "-o", out}
	}
	runBin := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "QUARTZ_DATA=")
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &errb, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &errb
	}

	refOut := filepath.Join(t.TempDir(), "ref.onnx")
	t0 := time.Now()
	cmd, msg := runBin(args(refOut)...)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, msg)
	}
	full := time.Since(t0)
	ref, err := os.ReadFile(refOut)
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(18, 1))
	const trials = 50
	deadline := time.Now().Add(45 * time.Second)
	kills := 0
	// Some runs end before their random kill time (more so on a loaded
	// machine): go on until 50 runs were killed, within a bound.
	for trial := 0; kills < trials && trial < 3*trials; trial++ {
		if time.Now().After(deadline) && trial >= 10 {
			t.Logf("stopping after %d trials: time", trial)
			break
		}
		dir := t.TempDir()
		out := filepath.Join(dir, "m.onnx")
		state := filepath.Join(dir, "m.ckpt.state")
		for attempt := 0; ; attempt++ {
			a := args(out)
			if _, err := os.Stat(state); err == nil {
				a = append(a, "--resume")
			}
			cmd, msg := runBin(a...)
			sig := syscall.SIGKILL
			if rng.IntN(2) == 0 {
				sig = syscall.SIGTERM
			}
			var timer *time.Timer
			if attempt < 2 { // at most two kills, then let it finish
				timer = time.AfterFunc(time.Duration(rng.Int64N(int64(full))), func() { cmd.Process.Signal(sig) })
			}
			err := cmd.Wait()
			if timer != nil {
				timer.Stop()
			}
			if err == nil {
				break // finished (perhaps before the signal)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatal(err)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			switch {
			case ws.Signaled() && ws.Signal() == sig:
				kills++
			case ws.ExitStatus() == 1 && sig == syscall.SIGTERM && strings.Contains(msg.String(), "interrupted; continue with --resume"):
				kills++
			case ws.ExitStatus() == 1 && sig == syscall.SIGTERM && !strings.Contains(msg.String(), "training lenet5"):
				// Stopped while it read the data: nothing to resume yet.
				kills++
			default:
				t.Fatalf("trial %d attempt %d (%v): %v\n%s", trial, attempt, sig, err, msg)
			}
			if attempt > 5 {
				t.Fatalf("trial %d: no end after %d attempts", trial, attempt)
			}
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ref) {
			t.Fatalf("trial %d: the model differs from the uninterrupted run's", trial)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("trial %d: temporary file left: %s", trial, e.Name())
			}
		}
	}
	t.Logf("%d kills; an uninterrupted run takes %v", kills, full.Round(time.Millisecond))
	if kills < trials && time.Now().Before(deadline) {
		t.Errorf("only %d runs were killed before their end", kills)
	}
}

// TestTrainFullDisk: a disk that fills up at any point of a run's writes
// (injected) fails it with exit 1 and one line; after the disk is freed,
// --resume finishes with the model of a run that never failed.
func TestTrainFullDisk(t *testing.T) {
	data := randomMNISTDir(t, 64, 16)
	args := func(out string) []string {
		return []string{"train", "--model", "lenet5", "--data", "mnist", "--data-dir", data, "--epochs", "2",
			"--batch", "32", "--workers", "1", "-o", out}
	}
	refOut := filepath.Join(t.TempDir(), "ref.onnx")
	if r := run(t, args(refOut)...); r.code != 0 {
		t.Fatalf("reference run:\n%v", r)
	}
	ref, _ := os.ReadFile(refOut)
	// The writes of a run: two checkpoints (state, model copy), the model
	// and the log; fail at bytes within each.
	for _, n := range []int64{0, 5000, 120000, 250000, 330000, int64(len(ref)) * 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "m.onnx")
			restore := atomicfile.InjectFault(atomicfile.FailAfter(n))
			r := run(t, args(out)...)
			restore()
			if r.code == 0 {
				return // all fitted
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 1 || !strings.Contains(lines[len(lines)-1], "no space left on device") {
				t.Fatalf("want exit 1 with a full-disk error:\n%v", r)
			}
			a := args(out)
			if _, err := os.Stat(filepath.Join(dir, "m.ckpt.state")); err == nil {
				a = append(a, "--resume")
			}
			if r := run(t, a...); r.code != 0 {
				t.Fatalf("after the disk was freed:\n%v", r)
			}
			if got, _ := os.ReadFile(out); !bytes.Equal(got, ref) {
				t.Fatal("the model differs from a run without a full disk")
			}
			entries, _ := os.ReadDir(dir)
			names := []string{}
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if slices.ContainsFunc(names, func(s string) bool { return strings.Contains(s, ".tmp") }) {
				t.Errorf("temporary files left: %v", names)
			}
		})
	}
}
