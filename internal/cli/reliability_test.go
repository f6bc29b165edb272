//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTrainFlagsValidated: every train flag is checked before any data is
// read: one line, exit 2 (defect 8). No data set is needed: the check
// comes first.
func TestTrainFlagsValidated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.onnx")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--split", "banana"}, "flag provided but not defined: -split"},
		{[]string{"--epochs", "0"}, "--epochs 0: want 1 to"},
		{[]string{"--epochs", "-3"}, "--epochs -3: want 1 to"},
		{[]string{"--batch", "0"}, "--batch 0: want 1 to"},
		{[]string{"--batch", "-1"}, "--batch -1: want 1 to"},
		{[]string{"--crop-pad", "-1"}, "--crop-pad -1: want 0 to"},
		{[]string{"--optimizer", "sgd", "--momentum", "NaN"}, "--momentum NaN: want 0 ≤ momentum < 1"},
		{[]string{"--optimizer", "sgd", "--momentum", "1"}, "--momentum 1: want"},
		{[]string{"--optimizer", "sgd", "--momentum", "0"}, "--momentum 0: not supported"},
		{[]string{"--momentum", "0.5"}, "only --optimizer sgd uses it"},
		{[]string{"--lr", "NaN"}, "--lr NaN: want"},
		{[]string{"--lr", "-1"}, "--lr -1: want"},
		{[]string{"--lr", "+Inf"}, "--lr +Inf: want"},
		{[]string{"--weight-decay", "-0.1"}, "--weight-decay -0.1: want"},
		{[]string{"--weight-decay", "NaN"}, "--weight-decay NaN: want"},
		{[]string{"--optimizer", "lion"}, `--optimizer "lion": want adam or sgd`},
		{[]string{"--schedule", "linear"}, `--schedule "linear": want cosine, step or constant`},
		{[]string{"--test-every", "-1"}, "--test-every -1: want"},
		{[]string{"--swa-from", "11"}, "--swa-from 11: want an epoch from 1 to --epochs 10"},
		{[]string{"--swa-from", "-1"}, "--swa-from -1"},
		{[]string{"--swa-lr", "0.1"}, "--swa-lr 0.1 needs --swa-from"},
		{[]string{"--swa-from", "2", "--swa-lr", "NaN"}, "--swa-lr NaN"},
		{[]string{"--width", "0"}, "--width 0: want a positive multiplier"},
		{[]string{"--width", "NaN"}, "--width NaN"},
		{[]string{"--workers", "0"}, "--workers 0: want at least 1"},
		{[]string{"--limit", "-5"}, "--limit -5"},
		{[]string{"--model", "resnet50"}, `--model "resnet50": want one of`},
	} {
		t.Run(strings.Join(c.flags, " "), func(t *testing.T) {
			r := run(t, append([]string{"train", "--data-dir", t.TempDir(), "-o", out}, c.flags...)...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("want exit 2 with %q:\n%v", c.want, r)
			}
			if !strings.HasPrefix(c.want, "flag provided") && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want one line:\n%s", r.stderr)
			}
			mustNotExist(t, out)
		})
	}
}

// TestOutputsRefused: an -o that is a folder, a device or a FIFO is
// refused before any work, with exit 1 and one line naming it; nothing is
// replaced (defect 7). train -o DIR fails before training.
func TestOutputsRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.onnx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	sub := filepath.Join(dir, "sub.onnx")
	os.Mkdir(sub, 0o755)
	data := t.TempDir() // no data set: a command that got past the check would fail on it
	for _, target := range []struct{ path, what string }{
		{sub, "is a folder"},
		{fifo, "is a FIFO"},
		{os.DevNull, "is a device"},
		{filepath.Join(dir, "missing", "x"), "does not exist"},
	} {
		for _, args := range [][]string{
			{"train", "--data-dir", data, "--epochs", "1"},
			{"convert", "--model", lenetPath, "--data-dir", data},
			{"export", "--model", lenetPath, "--format", "onnx"},
			{"export", "--snn", filepath.Join(dir, "none.json")},
			{"import", "-i", filepath.Join(dir, "none.nir")},
			{"map", "--model", lenetPath, "--data-dir", data},
		} {
			r := run(t, append(args, "-o", target.path)...)
			if r.code != 1 || !strings.Contains(r.stderr, target.path+" "+target.what) && !strings.Contains(r.stderr, target.what) ||
				strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "training") {
				t.Errorf("%s -o %s: want exit 1 with one line %q before any work:\n%v", args[0], target.path, target.what, r)
			}
		}
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced")
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeDevice == 0 {
		t.Errorf("%s is no longer a device", os.DevNull)
	}
}

// TestModelInputsBounded: a model that is a device or a FIFO is refused
// before it is read (`inspect /dev/zero` ran out of memory).
func TestModelInputsBounded(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.json")
	for _, args := range [][]string{
		{"inspect", "/dev/zero"},
		{"inspect", t.TempDir()},
		{"eval", "--model", "/dev/zero"},
		{"convert", "--model", "/dev/zero", "-o", out},
		{"export", "--model", "/dev/zero", "--format", "onnx", "-o", out},
		{"map", "--model", "/dev/zero", "--no-calib"},
		{"train", "--init", "/dev/zero", "-o", filepath.Join(t.TempDir(), "m.onnx")},
		{"import", "-i", "/dev/zero", "-o", out},
	} {
		r := run(t, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "not a regular file") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: want exit 1 and one line saying it is not a regular file:\n%v", args, r)
		}
	}
	mustNotExist(t, out)
}

// TestTrainCleansTemps: temporary files that a killed run left beside its
// outputs are removed by the next run; other files, however alike, stay
// (defect 12).
func TestTrainCleansTemps(t *testing.T) {
	data := randomMNISTDir(t, 64, 16)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.onnx")
	left := []string{".m.onnx.tmp123456", ".m.ckpt.state.tmp99", ".m.ckpt.onnx.tmp1", ".m.train.json.tmp42"}
	keep := []string{".m.onnx.tmpl", ".bashrc.tmp1", "m.onnx.tmp5", ".x.onnx.tmp3"}
	for _, n := range append(left, keep...) {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	r := run(t, "train", "--model", "lenet5", "--data-dir", data, "--epochs", "1", "--batch", "32", "--workers", "1", "-o", out)
	if r.code != 0 || !strings.Contains(r.stderr, "removed 4 temporary file(s)") {
		t.Fatalf("want success with a note on 4 removed files:\n%v", r)
	}
	for _, n := range left {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s was not removed", n)
		}
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed", n)
		}
	}
}
