package cli_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/onnx"
)

// export --format onnx rewrites a model quartz wrote byte for byte, and
// with --float16 writes the weights rounded to float16 (half a float16
// step) in a smaller file that reads back as the same layer chain.
func TestExportONNX(t *testing.T) {
	dir := t.TempDir()
	in := writeONNX(t, dir, "tiny.onnx", tinyONNX(t))
	out32 := filepath.Join(dir, "tiny32.onnx")
	if r := run(t, "export", "--format", "onnx", "--model", in, "-o", out32); r.code != 0 {
		t.Fatal(r)
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(out32)
	if !bytes.Equal(a, b) {
		t.Errorf("float32 export of a quartz-written file differs from it (%d vs %d bytes)", len(b), len(a))
	}

	out16 := filepath.Join(dir, "tiny16.onnx")
	r := run(t, "export", "--format", "onnx", "--model", in, "--float16", "-o", out16)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stdout, "float16 weights") {
		t.Errorf("stdout %q: want it to say float16 weights", r.stdout)
	}
	c, _ := os.ReadFile(out16)
	if len(c) >= len(a)*3/5 {
		t.Errorf("float16 file %d bytes, float32 %d: want under 60 %%", len(c), len(a))
	}
	want, err := onnx.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := onnx.ReadFile(out16)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != len(want.Nodes) {
		t.Fatalf("%d layers, want %d", len(got.Nodes), len(want.Nodes))
	}
	for i, l := range want.Nodes {
		g := got.Nodes[i]
		if g.Op != l.Op || g.Name != l.Name || len(g.W) != len(l.W) {
			t.Fatalf("layer %d: %v %q (%d weights), want %v %q (%d)", i, g.Op, g.Name, len(g.W), l.Op, l.Name, len(l.W))
		}
		for j, w := range l.W {
			// Half a float16 step: 2^-11 relative for normal values,
			// 2^-25 absolute below 2^-14 (the subnormal grid).
			if math.Abs(float64(g.W[j]-w)) > max(math.Abs(float64(w))*0x1p-11, 0x1p-25) {
				t.Fatalf("layer %s weight %d: %g read back as %g", l.Name, j, w, g.W[j])
			}
		}
		for j, v := range l.B { // biases stay float32
			if g.B[j] != v {
				t.Fatalf("layer %s bias %d: %g read back as %g", l.Name, j, v, g.B[j])
			}
		}
	}
}

func TestExportONNXErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeONNX(t, dir, "tiny.onnx", tinyONNX(t))
	out := filepath.Join(dir, "out.onnx")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "onnx", "--model", in, "--tmax", "16", "-o", out}, "--tmax: not used with --format onnx"},
		{[]string{"--format", "onnx", "--snn", "x.json", "-o", out}, "--format onnx needs --model"},
		{[]string{"--format", "nir", "--model", in, "--float16", "-o", out}, "--float16 applies to --format onnx only"},
		{[]string{"--format", "tflite", "--model", in, "-o", out}, `"tflite": want nir or onnx`},
	} {
		r := run(t, append([]string{"export"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("export %q: %v\nwant stderr with %q", c.args, r, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("export %q left %s", c.args, out)
		}
	}
	r := run(t, "export", "--format", "onnx", "--model", filepath.Join(dir, "missing.onnx"), "-o", out)
	if r.code == 0 || !strings.Contains(r.stderr, "missing.onnx") {
		t.Errorf("missing model: %v", r)
	}
}

// train --float16 writes float16 weights, says so with both accuracies
// (as written and before rounding), and records it in the log.
func TestTrainFloat16(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "l.onnx")
	r := run(t, "train", "--model", "lenet5", "--data", "mnist", "--epochs", "1", "--limit", "256", "--workers", "2", "--float16", "-o", out)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !regexp.MustCompile(`float16 weights\): test accuracy [0-9.]+ % \(float32 weights: [0-9.]+ %\) on 10000 `).MatchString(r.stdout) {
		t.Errorf("stdout %q: want the float16 accuracy beside the float32 one", r.stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	om, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	half := 0
	for _, in := range om.Graph.Initializer {
		if in.DataType == onnx.Float16 {
			half++
		}
	}
	if half != 4 { // conv1-3 and fc weights
		t.Errorf("%d float16 initializers, want 4", half)
	}
	js, err := os.ReadFile(filepath.Join(dir, "l.train.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"float16": true`) {
		t.Errorf("train log lacks \"float16\": true:\n%s", js)
	}
	// The checkpoint stays float32, so a resume continues exactly.
	ck, err := os.ReadFile(filepath.Join(dir, "l.ckpt.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ck, []byte("_fp16")) {
		t.Error("the checkpoint holds float16 weights")
	}

	// A resume keeps the setting unless told otherwise. (The second finds
	// both epochs done and only writes the model.)
	for _, c := range []struct {
		flags []string
		half  bool
	}{{nil, true}, {[]string{"--float16=false"}, false}} {
		args := append([]string{"train", "--resume", "--data", "mnist", "--epochs", "2", "--limit", "256", "--workers", "2", "-o", out}, c.flags...)
		r := run(t, args...)
		if r.code != 0 {
			t.Fatal(r)
		}
		if got := strings.Contains(r.stdout, "float16 weights"); got != c.half {
			t.Errorf("resume %q: stdout %q, want float16 %v", c.flags, r.stdout, c.half)
		}
	}
}
