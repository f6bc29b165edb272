package cli_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// normDir holds the Normalize-trained MNIST model made by PyTorch
// (tools/make_normalized_fixture.py), 100 test images as PyTorch
// standardized them (test.npz) and PyTorch's outputs on them.
var normDir = filepath.Join("..", "..", "testdata", "normalized_mnist")

// TestTorchTensorsExact: the PyTorch-exported model on the tensors PyTorch
// preprocessed gives exactly PyTorch's accuracy, and every sample's ANN
// class is PyTorch's. The logits agree within 1e-4·max|logit| (float32
// sums in another order; the same tolerance as the ONNX fixture tests),
// and no sample's top two PyTorch logits are closer than twice that, so
// the logit bound alone implies the class match: it is not luck.
func TestTorchTensorsExact(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(normDir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Accuracy    float64     `json:"accuracy"`
		Predictions []int       `json:"predictions"`
		Logits      [][]float64 `json:"logits"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	pred := filepath.Join(t.TempDir(), "pred.csv")
	r := run(t, "eval", "--model", filepath.Join(normDir, "model.onnx"), "--data", "npz:"+filepath.Join(normDir, "test.npz"),
		"--calib", "100", "--auto-samples", "50", "--tmax", "16", "--no-cache", "--workers", "2", "--json", "--predictions", pred, "--logits")
	if r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	var sum evalSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("eval --json: %v", err)
	}
	if sum.Samples != 100 || sum.ANN == nil || *sum.ANN != ref.Accuracy {
		t.Fatalf("ANN accuracy %v on %d samples, PyTorch %v on 100", sum.ANN, sum.Samples, ref.Accuracy)
	}
	// The tensors are negative in places: the first layer runs analog.
	if !strings.Contains(r.stderr, "the first layer runs analog") || !strings.Contains(r.stderr, "no training split") {
		t.Errorf("stderr lacks the analog-first and no-split notes:\n%s", r.stderr)
	}
	f, err := os.Open(pred)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows[1:] {
		cls, _ := strconv.Atoi(row[2])
		if cls != ref.Predictions[i] {
			t.Errorf("sample %d: ANN class %d, PyTorch %d", i, cls, ref.Predictions[i])
		}
		top, second, scale := math.Inf(-1), math.Inf(-1), 0.0
		for _, v := range ref.Logits[i] {
			scale = max(scale, math.Abs(v))
			if v > top {
				top, second = v, top
			} else if v > second {
				second = v
			}
		}
		tol := 1e-4 * scale
		if top-second <= 2*tol {
			t.Errorf("sample %d: PyTorch's top two logits are %g apart, too close for the test to mean anything", i, top-second)
		}
		for j, s := range row[6:16] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(v - ref.Logits[i][j]); d > tol {
				t.Errorf("sample %d logit %d: %g, PyTorch %g (|Δ| %g > %g)", i, j, v, ref.Logits[i][j], d, tol)
			}
		}
	}
}

// TestInputCheckWarns: the Normalize-trained model run on MNIST pixels
// without --input-* flags gets a warning that names the flags to use (and
// the setting is not changed: the run goes on as given); with
// --input-preset mnist there is none.
func TestInputCheckWarns(t *testing.T) {
	needMNIST(t)
	base := []string{"eval", "--model", filepath.Join(normDir, "model.onnx"), "--data", "mnist", "--limit", "100",
		"--calib", "100", "--auto-samples", "50", "--tmax", "8", "--no-cache", "--workers", "2", "--json"}
	r := run(t, base...)
	if r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	for _, want := range []string{"warning: model.onnx probably expects another input convention", "--input-preset mnist", "the input as given", "McNemar"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "the model standardizes its input") {
		t.Errorf("the input was changed without a flag:\n%s", r.stderr)
	}
	r = run(t, append(base, "--input-preset", "mnist")...)
	if r.code != 0 {
		t.Fatalf("eval --input-preset mnist: %v", r)
	}
	if strings.Contains(r.stderr, "warning:") {
		t.Errorf("a warning with --input-preset mnist:\n%s", r.stderr)
	}
	r = run(t, append(base, "--input-preset", "mnist", "--input-mean", "0.5")...)
	if r.code != 1 || !strings.Contains(r.stderr, "give either the preset or --input-mean/--input-std") {
		t.Errorf("--input-preset with --input-mean: %v", r)
	}
}

// TestProgressLines: off a terminal (the test's buffer), eval and sweep
// print one line per phase with its count and time on stderr; --quiet and
// --progress none print none, and keep the notes.
func TestProgressLines(t *testing.T) {
	needMNIST(t)
	phase := regexp.MustCompile(`(?m)^(calibrate|ANN|simulate|sweep): \d+/\d+ in [0-9.]+m?s`)
	eval := []string{"eval", "--model", lenetPath, "--data", "mnist", "--limit", "100", "--calib", "200",
		"--percentile", "99", "--tmax", "8", "--no-cache", "--workers", "2"}
	r := run(t, eval...)
	if r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	for _, want := range []string{"calibrate: 200/200 in ", "ANN: 100/100 in ", "simulate: 100/100 in "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("eval stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, quiet := range [][]string{{"--quiet"}, {"--progress", "none"}} {
		r := run(t, append(eval, quiet...)...)
		if r.code != 0 || phase.MatchString(r.stderr) {
			t.Errorf("eval %v printed progress: %v", quiet, r)
		}
	}
	if r := run(t, append(eval, "--progress", "dots")...); r.code != 1 || !strings.Contains(r.stderr, `--progress "dots": want bar, lines or none`) {
		t.Errorf("--progress dots: %v", r)
	}
	out := t.TempDir()
	r = run(t, "sweep", "--model", lenetPath, "--data", "mnist", "--limit", "100", "--calib", "200", "--tmax", "4,8",
		"--percentile", "99", "--no-cache", "--workers", "2", "-o", out)
	if r.code != 0 {
		t.Fatalf("sweep: %v", r)
	}
	for _, want := range []string{"calibrate: 200/200 in ", "ANN: 100/100 in ", "sweep: 2/2 in "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("sweep stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestModelNamedByFile: messages name a PyTorch export by its file, not
// by the exporter's graph name "torch_jit".
func TestModelNamedByFile(t *testing.T) {
	// Labels up to 11: more classes than the model's 10 outputs.
	dir := t.TempDir()
	x, y := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	writeNPY(t, x, "<f4", "(2, 1, 28, 28)", make([]byte, 2*784*4))
	writeNPY(t, y, "<i8", "(2,)", []byte{0, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0})
	r := run(t, "eval", "--model", filepath.Join(normDir, "model.onnx"), "--data", "npy:"+x+","+y,
		"--calib", "2", "--percentile", "99", "--no-cache", "--quiet")
	if r.code != 1 || !strings.Contains(r.stderr, `model "model.onnx" has 10 outputs`) || strings.Contains(r.stderr, "torch_jit") {
		t.Errorf("want an error naming model.onnx, not torch_jit: %v", r)
	}
}

// writeNPY writes a version 1.0 .npy file.
func writeNPY(t *testing.T, path, descr, shape string, data []byte) {
	t.Helper()
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }\n", descr, shape)
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	if err := os.WriteFile(path, append(append(b, h...), data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestClipEarlySpikes: a Hardtanh(0, 1) model (ONNX Clip(0, 1); PyTorch,
// tools/make_hardtanh_fixture.py) has many pre-activations above the
// clip. The per-layer "> 1 %" share is measured before the clip (after
// it, it would always be 0), agrees with the early-spike share it causes
// within 3 points (the calibration and test images differ), and eval
// warns about the early spikes.
func TestClipEarlySpikes(t *testing.T) {
	needMNIST(t)
	r := run(t, "eval", "--model", filepath.Join("..", "..", "testdata", "hardtanh_mnist", "model.onnx"), "--data", "mnist",
		"--limit", "300", "--calib", "1000", "--percentile", "99.5", "--tmax", "16", "--no-cache", "--workers", "2", "--json", "--quiet")
	if r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	var res struct {
		Warnings []string `json:"warnings"`
		Layers   []struct {
			Name     string  `json:"name"`
			AboveOne float64 `json:"norm_above_one"`
			Early    float64 `json:"early_spike_pct"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	conv2 := res.Layers[2]
	if conv2.Name != "/3/Conv" || conv2.Early < 5 || math.Abs(100*conv2.AboveOne-conv2.Early) > 3 {
		t.Errorf("second conv %+v: want ≥ 5 %% early spikes and a > 1 share (before the clip) within 3 points of it", conv2)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "/3/Conv: ") && strings.Contains(w, "of its neurons fire early")
	}
	if !found {
		t.Errorf("no early-spike warning for /3/Conv: %q", res.Warnings)
	}
}
