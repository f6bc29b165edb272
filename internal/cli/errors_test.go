package cli_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/train"
)

// badModels writes, into dir, models that quartz must refuse, keyed by a
// short name, with the words the error must contain.
func badModels(t *testing.T, dir string) map[string]struct{ path, want string } {
	t.Helper()
	out := map[string]struct{ path, want string }{}

	// An op quartz cannot convert (it imports and runs as an ANN): the ReLU
	// becomes a Sigmoid.
	om := tinyONNX(t)
	for _, n := range om.Graph.Node {
		if n.OpType == "Relu" {
			n.OpType = "Sigmoid"
		}
	}
	out["sigmoid"] = struct{ path, want string }{writeONNX(t, dir, "sigmoid.onnx", om), `node 1 "relu1" (Sigmoid): not convertible to Quartz (ANN only): ` + graph.Sigmoid.AnnOnly()}

	// A residual branch: pool1 takes relu1 + conv1 (it imports; the sum
	// has no ReLU, a signed pair, and max-pooling one is not built).
	om = tinyONNX(t)
	var nodes []*onnx.Node
	for _, n := range om.Graph.Node {
		if n.OpType == "MaxPool" {
			nodes = append(nodes, &onnx.Node{Name: "add1", OpType: "Add", Input: []string{n.Input[0], "conv1"}, Output: []string{"add1"}})
			n.Input = []string{"add1"}
		}
		nodes = append(nodes, n)
	}
	om.Graph.Node = nodes
	out["branch"] = struct{ path, want string }{writeONNX(t, dir, "branch.onnx", om), `node 3 "pool1" (MaxPool): a MaxPool of a value without ReLU (a signed pair) is not supported yet`}

	// Non-finite weights.
	for _, v := range []struct {
		name string
		x    float32
	}{{"nan", float32(math.NaN())}, {"inf", float32(math.Inf(-1))}} {
		m := tinyModel(1, 28, 28)
		m.Nodes[4].W[7] = v.x
		om, err := onnx.FromGraph(m)
		if err != nil {
			t.Fatal(err)
		}
		out[v.name] = struct{ path, want string }{writeONNX(t, dir, v.name+".onnx", om),
			fmt.Sprintf(`node 4 "fc" weight[7] = %v: non-finite value`, v.x)}
	}

	// Random bytes.
	junk := make([]byte, 4096)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, "junk.onnx")
	if err := os.WriteFile(p, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	out["corrupt"] = struct{ path, want string }{p, "junk.onnx: "}

	// An empty file.
	p = filepath.Join(dir, "empty.onnx")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out["empty"] = struct{ path, want string }{p, "empty.onnx: "}

	out["missing"] = struct{ path, want string }{filepath.Join(dir, "nope.onnx"), "nope.onnx: no such file"}
	return out
}

// TestBadModel checks that inspect, eval and convert refuse each bad
// model with exit 1, one line on stderr that names the problem, and no
// output file.
func TestBadModel(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	for name, bm := range badModels(t, dir) {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name+".snn.json")
			for _, args := range [][]string{
				{"inspect", bm.path},
				append([]string{"eval", "--model", bm.path}, light("eval")...),
				append([]string{"convert", "--model", bm.path, "-o", out}, light("convert")...),
			} {
				r := run(t, args...)
				if r.code != 1 {
					t.Errorf("%v: exit %d, want 1\n%v", args, r.code, r)
					continue
				}
				if !strings.Contains(r.stderr, bm.want) {
					t.Errorf("%v: stderr does not contain %q:\n%s", args, bm.want, r.stderr)
				}
				if want := "quartz " + args[0] + ": "; !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%v: stderr is not one line starting %q:\n%s", args, want, r.stderr)
				}
				// inspect may list the file's nodes; the others print nothing.
				if r.stdout != "" && args[0] != "inspect" {
					t.Errorf("%v: stdout not empty:\n%s", args, r.stdout)
				}
			}
			mustNotExist(t, out)
		})
	}
}

// TestBadInput checks flag values and data sets that eval and convert
// refuse, with exit 1 and no output file.
func TestBadInput(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	// A model for 1×20×20 images and one for CIFAR-shaped 3×32×32 images.
	small, err := onnx.FromGraph(tinyModel(1, 20, 20))
	if err != nil {
		t.Fatal(err)
	}
	smallPath := writeONNX(t, dir, "small.onnx", small)
	cifar, err := onnx.FromGraph(tinyModel(3, 32, 32))
	if err != nil {
		t.Fatal(err)
	}
	cifarPath := writeONNX(t, dir, "cifar.onnx", cifar)
	emptyTrain := mnistDir(t, 0, 5)

	for _, tc := range []struct {
		name  string
		model string
		flags []string
		want  string
	}{
		{"tmax0", lenetPath, []string{"--tmax", "0"}, "--tmax 0: must be ≥ 1"},
		{"tmax-3", lenetPath, []string{"--tmax", "-3"}, "--tmax -3: must be ≥ 1"},
		{"tmax-layers", lenetPath, []string{"--tmax-layers", "16,0"}, `--tmax-layers "16,0"`},
		{"tmax-layers-count", lenetPath, []string{"--tmax-layers", "16,16"}, "2"},
		{"percentile0", lenetPath, []string{"--percentile", "0"}, "--percentile 0: must be in (0, 100]"},
		{"percentile101", lenetPath, []string{"--percentile", "101"}, "--percentile 101: must be in (0, 100]"},
		{"percentileNaN", lenetPath, []string{"--percentile", "NaN"}, "--percentile NaN: must be in (0, 100]"},
		{"percentile-layers", lenetPath, []string{"--percentile-layers", "99,200"}, `--percentile-layers "99,200"`},
		{"percentile-layers-count", lenetPath, []string{"--percentile-layers", "99,99"}, "2 layer percentiles given, model has 4"},
		{"percentile-layers-auto-fixed", lenetPath, []string{"--percentile-layers", "auto", "--percentile", "99"}, "--percentile-layers auto goes with --percentile auto"},
		{"percentile-layers-auto-tmax-layers", lenetPath, []string{"--percentile-layers", "auto", "--tmax-layers", "4,4,4,4"}, "needs one --tmax for every layer"},
		{"calib0", lenetPath, []string{"--calib", "0"}, "--calib 0: must be ≥ 1"},
		{"threshold", lenetPath, []string{"--threshold", "floor"}, `--threshold "floor": want round or truncate`},
		{"data", lenetPath, []string{"--data", "imagenet"}, `unknown spec "imagenet"`},
		{"empty-calibration", lenetPath, []string{"--data-dir", emptyTrain}, "calibration set mnist/train is empty"},
		{"shape-20x20", smallPath, nil, "has images of 1×28×28, model \"small.onnx\" expects 1×20×20"},
		{"shape-cifar", cifarPath, nil, "has images of 1×28×28, model \"cifar.onnx\" expects 3×32×32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".snn.json")
			for _, cmd := range []string{"eval", "convert"} {
				args := []string{cmd, "--model", tc.model}
				if cmd == "convert" {
					args = append(args, "-o", out)
				}
				args = append(append(args, light(cmd)...), tc.flags...)
				r := run(t, args...)
				if r.code != 1 {
					t.Errorf("%v: exit %d, want 1\n%v", args, r.code, r)
					continue
				}
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("%v: stderr does not contain %q:\n%s", args, tc.want, r.stderr)
				}
				// inspect may list the file's nodes; the others print nothing.
				if r.stdout != "" && args[0] != "inspect" {
					t.Errorf("%v: stdout not empty:\n%s", args, r.stdout)
				}
			}
			mustNotExist(t, out)
		})
	}
}

// TestEvalDataFlags checks eval's --limit and --split, which convert does
// not have (it calibrates on the whole training split).
func TestEvalDataFlags(t *testing.T) {
	needMNIST(t)
	for _, tc := range []struct {
		flags []string
		code  int
		want  string
	}{
		{[]string{"--limit", "-1"}, 1, "--limit -1: must be ≥ 0"},
		{[]string{"--split", "valid"}, 1, `split "valid"`},
	} {
		r := run(t, append(append([]string{"eval", "--model", lenetPath}, light("eval")...), tc.flags...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("eval %v: want exit %d and %q\n%v", tc.flags, tc.code, tc.want, r)
		}
	}
	for _, f := range []string{"--limit", "--split"} {
		r := run(t, "convert", "--model", lenetPath, "-o", filepath.Join(t.TempDir(), "x.json"), f, "1")
		if r.code != 2 || !strings.Contains(r.stderr, "flag provided but not defined: "+f[1:]) {
			t.Errorf("convert %s: want a usage error\n%v", f, r)
		}
	}
}

func TestTrainUnknownModel(t *testing.T) {
	needMNIST(t)
	out := filepath.Join(t.TempDir(), "m.onnx")
	r := run(t, "train", "--model", "resnet50", "--limit", "64", "--epochs", "1", "-o", out)
	if r.code != 2 || !strings.Contains(r.stderr, `--model "resnet50": want one of lenet5`) {
		t.Errorf("want exit 2 (usage) and an error naming resnet50:\n%v", r)
	}
	mustNotExist(t, out)
	mustNotExist(t, strings.TrimSuffix(out, ".onnx")+".train.json")
}

// TestTrainResumeExtends trains one epoch, then resumes to two: the log
// holds both epochs, the model name and width from the checkpoint, the
// first command and the resume, and the time of both runs; a --model or
// --width that contradicts the checkpoint, or fewer epochs than done, is
// refused.
func TestTrainResumeExtends(t *testing.T) {
	needMNIST(t)
	out := filepath.Join(t.TempDir(), "m.onnx")
	base := []string{"train", "--data", "mnist", "--limit", "128", "--batch", "32", "--workers", "1", "-o", out}
	if r := run(t, append(base, "--model", "lenet5", "--epochs", "1")...); r.code != 0 {
		t.Fatalf("first run:\n%v", r)
	}
	if r := run(t, append(base, "--model", "vgg11", "--epochs", "2", "--resume")...); r.code != 1 || !strings.Contains(r.stderr, "holds a lenet5") {
		t.Errorf("resume with another --model: want exit 1 naming lenet5\n%v", r)
	}
	if r := run(t, append(base, "--width", "2", "--epochs", "2", "--resume")...); r.code != 1 || !strings.Contains(r.stderr, "holds a lenet5 of width 1") {
		t.Errorf("resume with another --width: want exit 1 naming width 1\n%v", r)
	}
	if r := run(t, append(base, "--epochs", "0", "--resume")...); r.code != 2 || !strings.Contains(r.stderr, "--epochs 0: want 1 to") {
		t.Errorf("resume to 0 epochs: want a usage error\n%v", r)
	}
	resume := slices.Concat(base, []string{"--epochs", "2", "--resume"})
	r := run(t, resume...)
	if r.code != 0 || !strings.Contains(r.stderr, "after epoch 1 of 2") {
		t.Fatalf("resume:\n%v", r)
	}
	b, err := os.ReadFile(strings.TrimSuffix(out, ".onnx") + ".train.json")
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Command    string
		Resumed    []string
		Model      string
		Width      float64
		Config     map[string]any
		Seconds    float64
		RunSeconds float64 `json:"run_seconds"`
		Epochs     []struct {
			Epoch    int
			Seconds  float64
			TestSecs float64 `json:"test_seconds"`
		}
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	if log.Model != "lenet5" || log.Width != 1 || len(log.Epochs) != 2 || log.Epochs[0].Epoch != 1 || log.Epochs[1].Epoch != 2 {
		t.Errorf("log: model %q width %g, epochs %+v; want lenet5 of width 1 with epochs 1 and 2", log.Model, log.Width, log.Epochs)
	}
	first := "quartz " + strings.Join(slices.Concat(base, []string{"--model", "lenet5", "--epochs", "1"}), " ")
	if log.Command != first || !slices.Equal(log.Resumed, []string{"quartz " + strings.Join(resume, " ")}) {
		t.Errorf("log: command %q, resumed %q; want the first run's command and the one resume", log.Command, log.Resumed)
	}
	if _, ok := log.Config["notes"]; ok {
		t.Error("log: config repeats the run record as notes")
	}
	// Seconds sums both runs' epochs: the same float64 sum, so exact.
	var sum float64
	for _, ep := range log.Epochs {
		sum += ep.Seconds + ep.TestSecs
	}
	if log.Seconds != sum || log.Seconds <= 0 || log.RunSeconds <= 0 {
		t.Errorf("log: seconds %g (epochs sum to %g), run_seconds %g", log.Seconds, sum, log.RunSeconds)
	}
}

// TestTrainResumeOldCheckpoint resumes from a checkpoint written before
// checkpoints kept the run record: the resume command stands for the run,
// with no resumes listed and the width unknown (omitted) unless given.
func TestTrainResumeOldCheckpoint(t *testing.T) {
	needMNIST(t)
	out := filepath.Join(t.TempDir(), "m.onnx")
	prefix := strings.TrimSuffix(out, ".onnx") + ".ckpt"
	base := []string{"train", "--data", "mnist", "--limit", "64", "--batch", "32", "--workers", "1", "-o", out}
	if r := run(t, slices.Concat(base, []string{"--model", "lenet5", "--epochs", "1"})...); r.code != 0 {
		t.Fatalf("first run:\n%v", r)
	}
	// Rewrite the checkpoint without the record.
	ck, err := train.LoadCheckpoint(prefix)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(ck.Model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	opt, err := ck.Restore(net)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ck.Config
	cfg.Notes = nil
	if err := train.SaveCheckpoint(prefix, net, cfg, ck.Epoch, ck.History, opt); err != nil {
		t.Fatal(err)
	}
	resume := slices.Concat(base, []string{"--epochs", "2", "--resume"})
	if r := run(t, resume...); r.code != 0 {
		t.Fatalf("resume:\n%v", r)
	}
	b, err := os.ReadFile(strings.TrimSuffix(out, ".onnx") + ".train.json")
	if err != nil {
		t.Fatal(err)
	}
	var log map[string]any
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	_, hasWidth := log["width"]
	_, hasResumed := log["resumed"]
	if log["command"] != "quartz "+strings.Join(resume, " ") || hasWidth || hasResumed {
		t.Errorf("log: command %q, width %v, resumed %v; want the resume command alone, no width", log["command"], log["width"], log["resumed"])
	}
}

// TestLeakyReLUModel checks a model that imports and runs as an ANN but
// has no Quartz equivalent: inspect marks the LeakyReLU "ANN only" and
// exits 1 with convert's error; eval and convert fail with snn.Convert's
// error naming the node (before calibrating), exit 1, no output file.
func TestLeakyReLUModel(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(1, 28, 28)
	m.Nodes[1] = &graph.Node{Name: "leaky1", Op: graph.LeakyReLU, Alpha: 0.01}
	om, err := onnx.FromGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	path := writeONNX(t, dir, "leaky.onnx", om)

	const want = `snn: convert: node 1 "leaky1" (LeakyReLU): LeakyReLU (alpha 0.01): not convertible to Quartz (ANN only): negative outputs need a second spike; retrain with ReLU`
	r := run(t, "inspect", path)
	if r.code != 1 || !strings.Contains(r.stdout, "ANN only: "+graph.LeakyReLU.AnnOnly()) ||
		strings.Contains(r.stdout, "every layer converts") || !strings.Contains(r.stderr, "does not convert to Quartz: "+want) {
		t.Errorf("inspect: want exit 1 and the ANN-only verdict\n%v", r)
	}

	// A small MNIST-shaped data set of random images, so that the
	// calibration activations are not all zero.
	data := randomMNISTDir(t, 20, 5)
	out := filepath.Join(dir, "leaky.snn.json")
	for _, args := range [][]string{
		{"eval", "--model", path, "--data-dir", data, "--calib", "20", "--workers", "1"},
		{"convert", "--model", path, "--data-dir", data, "--calib", "20", "--workers", "1", "-o", out},
	} {
		r := run(t, args...)
		if r.code != 1 || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Errorf("%v: want exit 1, no output and the convert error %q\n%v", args, want, r)
		}
	}
	mustNotExist(t, out)
}

// TestTrainInit starts a run from a model file written by an earlier one:
// the warm-started network must score what the file scores (its BatchNorms
// were folded into the file and are recalibrated), the log must name the
// file, and a file of another shape must be refused, naming it.
func TestTrainInit(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	base := []string{"train", "--data", "mnist", "--limit", "256", "--batch", "32", "--workers", "1", "--model", "mobilenet-v1", "--width", "0.125", "--epochs", "1"}
	r := run(t, append(base, "-o", first)...)
	if r.code != 0 {
		t.Fatalf("first run:\n%v", r)
	}
	acc := regexp.MustCompile(`test accuracy ([0-9.]+) %`).FindStringSubmatch(r.stdout)
	if acc == nil {
		t.Fatalf("first run: no test accuracy in\n%v", r)
	}
	r = run(t, append(base, "--init", first, "-o", second)...)
	if r.code != 0 {
		t.Fatalf("--init run:\n%v", r)
	}
	// The file's accuracy, to the printed two decimals: the warm start is
	// the same function (eval mode), so no rounding can move a prediction
	// except a tie, which random weights on 10k test images do not make.
	if want := "starting from " + first + ": test accuracy " + acc[1] + " % (27 folded BatchNorm layers"; !strings.Contains(r.stderr, want) {
		t.Errorf("--init run: want %q in stderr\n%v", want, r)
	}
	b, err := os.ReadFile(filepath.Join(dir, "b.train.json"))
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Init struct {
			File         string
			SHA256       string
			TestAccuracy float64 `json:"test_accuracy"`
			Calibrated   int     `json:"calibrated_batchnorms"`
		}
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	if log.Init.File != first || len(log.Init.SHA256) != 64 || log.Init.Calibrated != 27 || fmt.Sprintf("%.2f", log.Init.TestAccuracy) != acc[1] {
		t.Errorf("log init = %+v, want file %s, a sha256, 27 BatchNorms, accuracy %s", log.Init, first, acc[1])
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"with --resume", []string{"--init", first, "--resume"}, "--init and --resume"},
		{"other width", []string{"--init", first, "--width", "0.25"}, "--init " + first + ": layer 0 \"conv1\""},
		{"other model", []string{"--init", first, "--model", "lenet5", "--width", "1"}, "--init " + first},
		{"missing file", []string{"--init", filepath.Join(dir, "none.onnx")}, "none.onnx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "c.onnx")
			r := run(t, slices.Concat(base, c.args, []string{"-o", out})...)
			if r.code != 1 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("want exit 1 with %q\n%v", c.want, r)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a model file was written")
			}
		})
	}
}

// TestTrainSWA: --swa-from switched on at a resume averages the later
// epochs, and the log records the per-epoch count and the final (averaged)
// accuracy; an epoch already done, or a change once averaging has begun,
// is refused.
func TestTrainSWA(t *testing.T) {
	needMNIST(t)
	out := filepath.Join(t.TempDir(), "m.onnx")
	base := []string{"train", "--data", "mnist", "--limit", "64", "--batch", "32", "--workers", "1", "--model", "lenet5", "-o", out}
	if r := run(t, slices.Concat(base, []string{"--epochs", "1"})...); r.code != 0 {
		t.Fatalf("first run:\n%v", r)
	}
	if r := run(t, slices.Concat(base, []string{"--epochs", "3", "--resume", "--swa-from", "1"})...); r.code != 1 || !strings.Contains(r.stderr, "1 epochs done; average from a later one") {
		t.Errorf("--swa-from an epoch already done: want exit 1\n%v", r)
	}
	r := run(t, slices.Concat(base, []string{"--epochs", "3", "--resume", "--swa-from", "2", "--swa-lr", "5e-4"})...)
	if r.code != 0 || !strings.Contains(r.stderr, "weights averaged over 2 epochs") {
		t.Fatalf("resume with --swa-from 2:\n%v", r)
	}
	if r := run(t, slices.Concat(base, []string{"--epochs", "4", "--resume", "--swa-from", "3"})...); r.code != 1 || !strings.Contains(r.stderr, "averages from epoch 2 already (2 epochs)") {
		t.Errorf("moving --swa-from once averaging began: want exit 1\n%v", r)
	}
	b, err := os.ReadFile(strings.TrimSuffix(out, ".onnx") + ".train.json")
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Config struct {
			SWAFrom int     `json:"swa_from"`
			SWALR   float64 `json:"swa_lr"`
		}
		Epochs []struct {
			LR        float64
			SWAModels int `json:"swa_models"`
		}
		TestAccuracy float64 `json:"test_accuracy"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	if log.Config.SWAFrom != 2 || log.Config.SWALR != 5e-4 || len(log.Epochs) != 3 {
		t.Fatalf("log: config %+v, %d epochs; want averaging from 2 at lr 5e-4 over 3 epochs", log.Config, len(log.Epochs))
	}
	for i, e := range log.Epochs {
		if want := []int{0, 1, 2}[i]; e.SWAModels != want || (i > 0) != (e.LR == 5e-4) {
			t.Errorf("log epoch %d: lr %v, %d epochs averaged; want %d averaged", i+1, e.LR, e.SWAModels, want)
		}
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("test accuracy %.2f %%", log.TestAccuracy)) {
		t.Errorf("log: test accuracy %v, not the one reported:\n%s", log.TestAccuracy, r.stdout)
	}
}
