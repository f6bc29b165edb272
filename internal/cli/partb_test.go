package cli_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/internal/hdf5"
	"github.com/quartz-snn/quartz/nir"
)

// lenetSNN writes the LeNet-5 SNN converted from models/lenet5.onnx (the
// fixture testdata/lenet5.snn.json.gz) to dir and returns its path and
// contents.
func lenetSNN(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/lenet5.snn.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "lenet.json")
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, js
}

// oneLine checks a refusal: exit 1, and stderr is one line naming the file
// and the problem.
func oneLine(t *testing.T, r result, file, problem string) {
	t.Helper()
	msg := strings.TrimSpace(r.stderr)
	if r.code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, file) || !strings.Contains(msg, problem) {
		t.Fatalf("want exit 1 and one line naming %q and %q; got %v", file, problem, r)
	}
}

// TestRefusalsPartB: inputs that used to give silently wrong results, a
// panic or a hang are refused with one line, exit 1, and no output.
func TestRefusalsPartB(t *testing.T) {
	dir := t.TempDir()
	data := mnistDir(t, 20, 20)
	lenet, js := lenetSNN(t, dir)
	other := writeONNX(t, dir, "other.onnx", tinyONNX(t))

	// A crafted SNN file: a relay of 2^61 positions (looped ~2^61 times
	// before the size limits), and one whose weight shape overflows.
	crafted := func(name, network string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(`{"format":"quartz-snn","version":1,"network":`+network+`}`), 0o644)
		return p
	}
	loop := crafted("loop.json", `{"in_shape":[1,1,2305843009213693952],"layers":[{"kind":"MaxPool","in_shape":[1,1,2305843009213693952],"out_shape":[1,1,2305843009213693952],"kernel":[1,1],"stride":[1,1]},{"kind":"Conv","in_shape":[1,1,2305843009213693952],"out_shape":[1,1,1],"kernel":[1,1],"stride":[1,2305843009213693952],"dilation":[1,1],"group":1,"w":[0],"w_shape":[1,1,1,1],"b":[0.5],"t":4,"t_out":4,"theta":3.5,"counter":[0.5],"output":true}]}`)
	overflow := crafted("overflow.json", `{"in_shape":[1,1,1],"layers":[{"kind":"Conv","in_shape":[1,1,1],"out_shape":[1,1,1],"kernel":[4294967296,4294967296],"stride":[8589934592,8589934592],"pad":[4294967296,4294967296,4294967296,4294967296],"dilation":[1,1],"group":1,"w_shape":[1,1,4294967296,4294967296],"b":[0.5],"t":4,"t_out":4,"theta":3.5,"counter":[0.5],"output":true}]}`)

	// NIR files: sealed, then with one weight changed (a corrupted file).
	var f struct {
		Network json.RawMessage `json:"network"`
	}
	json.Unmarshal(js, &f)
	r := run(t, "export", "--format", "nir", "--snn", lenet, "-o", filepath.Join(dir, "lenet.nir"))
	if r.code != 0 {
		t.Fatalf("export: %v", r)
	}
	nirData, _ := os.ReadFile(filepath.Join(dir, "lenet.nir"))
	root, err := hdf5.Read(nirData)
	if err != nil {
		t.Fatal(err)
	}
	w := root.Lookup("node/nodes/l0_conv/weight").Dataset
	w.F32[3] += 1.0 / 64
	bad, _ := hdf5.Marshal(root)
	corrupt := filepath.Join(dir, "corrupt.nir")
	os.WriteFile(corrupt, bad, 0o644)

	// A sweep directory that recorded LeNet's SHA-256.
	sw := filepath.Join(dir, "sweep")
	os.MkdirAll(sw, 0o755)
	golden, _ := os.ReadFile(filepath.Join("..", "..", "sweep", "testdata", "results.json.golden"))
	os.WriteFile(filepath.Join(sw, "results.json"), golden, 0o644)
	lenetBytes, _ := os.ReadFile(lenetPath)
	sum := sha256.Sum256(lenetBytes)
	os.WriteFile(filepath.Join(sw, "sweep.json"), []byte(`{"format":"quartz-sweep","version":1,"model":"lenet5.onnx","model_id":"sha256:`+hex.EncodeToString(sum[:])+`"}`), 0o644)

	for _, c := range []struct {
		name          string
		args          []string
		file, problem string
		out           string // must not exist afterwards
	}{
		{"eval --snn with another model", []string{"eval", "--snn", lenet, "--model", other, "--data-dir", data, "--limit", "5", "--report", filepath.Join(dir, "r.md")},
			lenet, "converted from a model with SHA-256", filepath.Join(dir, "r.md")},
		{"eval --snn looping file", []string{"eval", "--snn", loop, "--data-dir", data, "--limit", "5"}, loop, "input shape", ""},
		{"export --snn overflowing file", []string{"export", "--format", "nir", "--snn", overflow, "-o", filepath.Join(dir, "o.nir")},
			overflow, "weight shape", filepath.Join(dir, "o.nir")},
		{"map --snn looping file", []string{"map", "--snn", loop}, loop, "input shape", ""},
		{"import corrupted NIR", []string{"import", "-i", corrupt, "-o", filepath.Join(dir, "c.json")}, corrupt, "checksum mismatch", filepath.Join(dir, "c.json")},
		{"plot with another model", []string{"plot", sw, "--model", other, "-o", filepath.Join(dir, "plots")},
			other, "the sweep in", filepath.Join(dir, "plots")},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.args...)
			oneLine(t, r, c.file, c.problem)
			if c.out != "" {
				mustNotExist(t, c.out)
			}
		})
	}

	// A NIR file without the checksum imports with a warning.
	root, _ = hdf5.Read(nirData)
	root.DeleteAttr(nir.ChecksumAttr)
	unsealed, _ := hdf5.Marshal(root)
	old := filepath.Join(dir, "old.nir")
	os.WriteFile(old, unsealed, 0o644)
	r = run(t, "import", "-i", old, "-o", filepath.Join(dir, "old.json"))
	if r.code != 0 || !strings.Contains(r.stderr, "warning: "+old+": the file has no quartz_sha256") {
		t.Fatalf("import without checksum: %v", r)
	}
}

// TestPlotOnePoint: a sweep of one Tmax and one percentile plots (it
// panicked on the log axes).
func TestPlotOnePoint(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	r := run(t, "sweep", "--model", lenetPath, "--data", "mnist", "--limit", "20", "--calib", "50",
		"--tmax", "4", "--percentile", "99", "-o", dir)
	if r.code != 0 {
		t.Fatalf("sweep: %v", r)
	}
	r = run(t, "plot", dir, "--model", lenetPath, "--calib", "50", "--limit", "5")
	if r.code != 0 {
		t.Fatalf("plot: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "plots", "fig2_error_vs_tmax.png")); err != nil {
		ents, _ := os.ReadDir(filepath.Join(dir, "plots"))
		t.Fatalf("%v; plots: %v", err, ents)
	}
}
