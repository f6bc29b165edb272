package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

// TestFinetuneCommand fine-tunes the shipped LeNet for Tmax 2 on a few
// MNIST training images and checks the file: marked normalized, with the
// window, percentile and source digest in its metadata, and a log beside
// it. eval, convert and export then keep its weights (every P_l 1) and
// say so.
func TestFinetuneCommand(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "lenet-t2.onnx")
	r := run(t, "finetune", "--model", lenetPath, "--data", "mnist", "--tmax", "2", "--limit", "512", "--epochs", "1",
		"--calib", "300", "--percentile", "99", "--probe", "200", "--no-cache", "--workers", "2", "-o", out)
	if r.code != 0 {
		t.Fatalf("finetune: %v", r)
	}
	for _, want := range []string{"wrote " + out + ": fine-tuned for Tmax 2 in 1 epochs", "quantized network on 200 training samples",
		"evaluate it with: quartz eval --model " + out + " --tmax 2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "values above 1") {
		t.Errorf("stderr lacks the saturation lines:\n%s", r.stderr)
	}
	m, err := onnx.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{graph.MetaNormalized: "1", graph.MetaTmax: "2", "quartz.percentile": "99", "quartz.finetune_epochs": "1"} {
		if got := m.Metadata[k]; got != want {
			t.Errorf("metadata %s = %q, want %q", k, got, want)
		}
	}
	if len(m.Metadata["quartz.source_sha256"]) != 64 {
		t.Errorf("metadata source digest %q", m.Metadata["quartz.source_sha256"])
	}
	for _, n := range m.Nodes {
		if n.Op == graph.Quant {
			t.Errorf("node %q: a Quant node was written", n.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lenet-t2.finetune.json")); err != nil {
		t.Error(err)
	}
	r = run(t, append([]string{"eval", "--model", out, "--data", "mnist", "--tmax", "2"}, light("eval")...)...)
	if r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	if !strings.Contains(r.stderr, "already normalized (quartz finetune): every layer's scale is 1") || strings.Contains(r.stderr, "another window") {
		t.Errorf("eval does not note the normalized model:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "weights normalized by quartz finetune (every scale 1, no percentile)") || strings.Contains(r.stdout, "percentile 99") {
		t.Errorf("eval's header does not say the percentile is not used:\n%s", r.stdout)
	}
	r = run(t, append([]string{"eval", "--model", out, "--data", "mnist", "--tmax", "4"}, light("eval")...)...)
	if r.code != 0 || !strings.Contains(r.stderr, "converted with another window") {
		t.Errorf("eval at another window does not say so: %v", r)
	}
	// export keeps the metadata: the copy is still marked normalized.
	cp := filepath.Join(dir, "copy.onnx")
	if r := run(t, "export", "--format", "onnx", "--model", out, "-o", cp); r.code != 0 {
		t.Fatalf("export: %v", r)
	}
	if m2, err := onnx.ReadFile(cp); err != nil || !m2.Normalized() {
		t.Errorf("exported copy: %v, normalized %v", err, m2 != nil && m2.Normalized())
	}
}

// TestFinetuneRefusals: flags checked before any work, and no output file
// on failure.
func TestFinetuneRefusals(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.onnx")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"finetune", "--model", lenetPath}, "--model FILE.onnx and -o OUT.onnx are required"},
		{[]string{"finetune", "--model", lenetPath, "-o", lenetPath}, "that is the --model file"},
		{[]string{"finetune", "--model", lenetPath, "-o", out, "--epochs", "0"}, "--epochs 0: want 1 to"},
		{[]string{"finetune", "--model", lenetPath, "-o", out, "--lr", "-1"}, "--lr -1: want a learning rate above 0"},
		{[]string{"finetune", "--model", lenetPath, "-o", out, "--threshold", "truncate"}, "only the round threshold"},
		{[]string{"finetune", "--model", lenetPath, "-o", out, "--logit-scale", "-2"}, "--logit-scale -2"},
		{[]string{"finetune", "--model", filepath.Join(dir, "missing.onnx"), "-o", out}, "missing.onnx"},
	} {
		t.Run(strings.Join(tc.args[1:], "_"), func(t *testing.T) {
			r := run(t, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want a failure mentioning %q: %v", tc.want, r)
			}
			mustNotExist(t, out)
		})
	}
}
