package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/internal/cli"
	"github.com/quartz-snn/quartz/sweep"
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
		{[]string{"plot", file}, 1, "not a sweep's results.csv"},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--select-on", "train"}, 1, `--select-on "train": want val or test`},
		{[]string{"sweep", "--model", model, "-o", t.TempDir(), "--val-samples", "0"}, 1, "--val-samples 0"},
		{[]string{"plot", t.TempDir(), "--style", "poster"}, 1, `--style: style "poster": want screen or paper`},
		{[]string{"plot", t.TempDir(), "--format", "png,gif"}, 1, `--format: format "gif"`},
		{[]string{"plot", t.TempDir(), "--dpi", "-3"}, 1, "--dpi -3"},
		{[]string{"plot", filepath.Join("..", "..", "docs", "cifar_vgg11_sweep.csv"), "--model", model}, 1, "--model needs a sweep directory"},
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

// TestSweepSelectOn: by default the best point is chosen on a validation
// slice of training images and every output says so; --select-on test
// keeps the old choice with a caveat. A rerun computes nothing, and plot
// takes --analog-first as the sweep ran it and refuses another setting.
func TestSweepSelectOn(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	args := []string{"sweep", "--model", lenetPath, "--data", "mnist", "--limit", "40", "--calib", "100", "--val-samples", "60",
		"--tmax", "2,8", "--percentile", "99", "-o", dir}
	code, out := quartz(args...)
	if code != 0 || !strings.Contains(out, "on a validation slice, 60 mnist/train images outside the calibration draw") || strings.Contains(out, "caveat") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	res, err := sweep.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Validation
	if res.SelectOn != sweep.SelectVal || v == nil || v.Samples != 60 || v.Calib != 100 || len(v.Accuracy) != 2 {
		t.Fatalf("select_on %q, validation %+v", res.SelectOn, v)
	}
	if res.Best != sweep.BestBy(res.Points, v.Accuracy) {
		t.Errorf("best %d, not the best on the validation slice %v", res.Best, v.Accuracy)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "results.csv"))
	if !strings.Contains(string(csv), ",val_snn_accuracy,val_samples,best,best_on\n") || !strings.Contains(string(csv), ",1,val\n") {
		t.Errorf("results.csv:\n%s", csv)
	}
	if code, out = quartz(args...); code != 0 || !strings.Contains(out, "2 points (0 computed now)") {
		t.Fatalf("rerun: exit %d, output:\n%s", code, out)
	}

	testDir := t.TempDir()
	args[len(args)-1] = testDir
	code, out = quartz(append(args, "--select-on", "test")...)
	if code != 0 || !strings.Contains(out, "highest SNN accuracy on the test set") || !strings.Contains(out, "caveat: chosen on the test set") {
		t.Fatalf("--select-on test: exit %d, output:\n%s", code, out)
	}

	// plot: --analog-first as the sweep ran is accepted, another refused.
	code, out = quartz("plot", dir, "--analog-first=true")
	if code != 1 || !strings.Contains(out, "ran with --analog-first=false") {
		t.Errorf("plot --analog-first=true: exit %d, output:\n%s", code, out)
	}
	code, out = quartz("plot", dir, "--analog-first=false", "--style", "paper", "--format", "pdf")
	if code != 0 {
		t.Fatalf("plot --analog-first=false: exit %d, output:\n%s", code, out)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "plots-paper", "fig2_error_vs_tmax.pdf"))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("paper figure: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plots-paper", "fig2_error_vs_tmax.png")); err == nil {
		t.Error("--format pdf wrote a PNG too")
	}
}

// TestPlotShippedCSV: plot draws a results.csv, such as the VGG-11 sweep
// shipped in docs/, beside it, and notes the figure it cannot draw.
func TestPlotShippedCSV(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "cifar_vgg11_sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "vgg.csv")
	os.WriteFile(name, src, 0o644)
	code, out := quartz("plot", name, "--format", "svg")
	if code != 0 || !strings.Contains(out, "per-layer figure needs") || !strings.Contains(out, "chose its best point on the test set") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	for _, f := range []string{"fig2_error_vs_tmax.svg", "fig3_error_vs_ops.svg", "fig4_error_vs_energy.svg", "fig7_percentile.svg"} {
		if _, err := os.Stat(filepath.Join(strings.TrimSuffix(name, ".csv")+"-plots", f)); err != nil {
			t.Error(err)
		}
	}
}
