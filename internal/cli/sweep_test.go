package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/internal/cli"
)

func quartz(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb)
	return code, out.String() + errb.String()
}

// TestSweepPlotBadFlags: every bad flag fails fast (before any data is
// read) with a message that names the problem.
func TestSweepPlotBadFlags(t *testing.T) {
	model := filepath.Join("..", "..", "models", "lenet5.onnx")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	noDir := filepath.Join(file, "sub")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep", "-o", t.TempDir()}, 2, "--model and -o are required"},
		{[]string{"sweep", "--model", model}, 2, "--model and -o are required"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--tmax", ""}, 1, "empty grid: no Tmax"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--percentile", " , "}, 1, "empty grid: no percentile"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--tmax", "4,-2"}, 1, "Tmax -2: must be ≥ 1"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--tmax", "4,x"}, 1, `"x" is not an integer`},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--percentile", "99,101"}, 1, "percentile 101: must be in (0, 100]"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--tmax", "4,4"}, 1, "Tmax 4 given twice"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--calib", "0"}, 1, "--calib 0"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--threshold", "x"}, 1, "--threshold"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--rate-steps", "-5"}, 1, "--rate-steps -5: want 0 (off) or 1..1048576"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--rate-steps", "x"}, 2, `invalid value "x" for flag -rate-steps`},
		{[]string{"sweep", "--model", model, "-o", file}, 1, "not a directory"},
		{[]string{"sweep", "--model", model, "-o", noDir}, 1, "-o " + noDir},
		{[]string{"sweep", "--model", "missing.onnx", "-o", t.TempDir()}, 1, "missing.onnx"},
		{[]string{"plot"}, 2, "the sweep directory DIR is required"},
		{[]string{"plot", t.TempDir()}, 1, "not a finished sweep"},
		{[]string{"plot", file}, 1, "not a finished sweep"},
	} {
		code, out := quartz(c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("quartz %s: exit %d, want %d with %q; output:\n%s", strings.Join(c.args, " "), code, c.code, c.want, out)
		}
	}
}

func TestSweepUnreadableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0)
	defer os.Chmod(dir, 0o755)
	code, out := quartz("sweep", "--model", filepath.Join("..", "..", "models", "lenet5.onnx"), "-o", dir)
	if code != 1 || !strings.Contains(out, "permission denied") {
		t.Errorf("unreadable -o: exit %d, output %s", code, out)
	}
}

// TestSweepRate: --rate-steps adds the rate-coded baseline beside Quartz to
// the summary and writes rate.csv; a rerun computes nothing.
func TestSweepRate(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	args := []string{"sweep", "--model", lenetPath, "--data", "mnist", "--limit", "40", "--calib", "100",
		"--tmax", "4,8", "--percentile", "99", "--rate-steps", "20", "-o", dir}
	code, out := quartz(args...)
	if code != 0 || !strings.Contains(out, "rate coding beside Quartz") || !strings.Contains(out, "Quartz, Tmax") ||
		!strings.Contains(out, "1 rate baseline (1 computed now)") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "rate.csv")); err != nil {
		t.Fatal(err)
	}
	code, out = quartz(args...)
	if code != 0 || !strings.Contains(out, "2 points (0 computed now) and 1 rate baseline (0 computed now)") {
		t.Fatalf("rerun: exit %d, output:\n%s", code, out)
	}
}
