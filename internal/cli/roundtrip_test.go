package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evalJSON runs quartz eval --json with args and decodes the result
// generically, so that the comparison sees every field, present and future.
func evalJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := run(t, append([]string{"eval", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("eval %v: %v", args, r)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("eval %v --json: %v\n%s", args, err, r.stdout)
	}
	return m
}

// dropKeys deletes, at every depth of a decoded JSON value, the object
// keys for which drop is true.
func dropKeys(v any, drop func(key string) bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if drop(k) {
				delete(v, k)
			} else {
				dropKeys(x, drop)
			}
		}
	case []any:
		for _, x := range v {
			dropKeys(x, drop)
		}
	}
}

// jsonDiff is a line diff of the indented encodings of a and b.
func jsonDiff(a, b any) string {
	ja, _ := json.MarshalIndent(a, "", "  ")
	jb, _ := json.MarshalIndent(b, "", "  ")
	return lineDiff(string(ja)+"\n", string(jb)+"\n")
}

// TestConvertEvalRoundTrip checks that quartz convert followed by
// quartz eval --snn gives the same SNN as quartz eval --model with the same
// flags: same accuracy, same counts, layer by layer.
func TestConvertEvalRoundTrip(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	snnPath := filepath.Join(dir, "lenet5.snn.json")
	conv := []string{"--tmax", "8", "--percentile", "99.5", "--calib", "300", "--calib-seed", "7", "--workers", "2"}
	r := run(t, append([]string{"convert", "--model", lenetPath, "-o", snnPath}, conv...)...)
	if r.code != 0 {
		t.Fatalf("convert: %v", r)
	}
	if !strings.HasPrefix(r.stdout, "wrote "+snnPath+": 6 layers, 4354 neurons (+1056 relay), Tmax 8, percentile 99.5\n") {
		t.Errorf("convert stdout:\n%s", r.stdout)
	}

	direct := evalJSON(t, append([]string{"--model", lenetPath, "--limit", "300"}, conv...)...)
	fromFile := evalJSON(t, "--snn", snnPath, "--model", lenetPath, "--limit", "300", "--workers", "2")
	snnOnly := evalJSON(t, "--snn", snnPath, "--limit", "300", "--workers", "2")

	if direct["tmax"] != 8.0 || direct["percentile"] != 99.5 || direct["calibration_samples"] != 300.0 || direct["samples"] != 300.0 {
		t.Errorf("eval --model did not take the flags: tmax %v percentile %v calibration %v samples %v",
			direct["tmax"], direct["percentile"], direct["calibration_samples"], direct["samples"])
	}
	if snnOnly["ann_accuracy"] != nil {
		t.Errorf("eval --snn without --model reports an ANN accuracy %v", snnOnly["ann_accuracy"])
	}
	// The model's name and wall times differ; without --model, so does
	// everything about the ANN (ann_accuracy, ann_macs, …).
	volatile := func(k string) bool { return k == "model" || strings.HasPrefix(k, "seconds") }
	ann := func(k string) bool { return strings.HasPrefix(k, "ann_") }
	dropKeys(direct, volatile)
	dropKeys(fromFile, volatile)
	if d := jsonDiff(direct, fromFile); d != "" {
		t.Errorf("eval --snn --model differs from eval --model (-model +snn):\n%s", d)
	}
	dropKeys(direct, ann)
	dropKeys(snnOnly, func(k string) bool { return volatile(k) || ann(k) })
	if d := jsonDiff(direct, snnOnly); d != "" {
		t.Errorf("eval --snn differs from eval --model (-model +snn):\n%s", d)
	}
}

// TestEvalSNNBadFile checks that eval --snn refuses damaged files with
// exit 1 and an error naming the file.
func TestEvalSNNBadFile(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if r := run(t, "convert", "--model", lenetPath, "-o", good, "--calib", "100", "--workers", "2"); r.code != 0 {
		t.Fatalf("convert: %v", r)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(f map[string]any)) []byte {
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		fn(f)
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	layer := func(f map[string]any, i int) map[string]any {
		return f["network"].(map[string]any)["layers"].([]any)[i].(map[string]any)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", data[:len(data)/2], "not a quartz SNN file (JSON written by quartz convert): unexpected end of JSON input"},
		{"not-json", []byte("\x00\x01 garbage"), "not a quartz SNN file"},
		{"onnx", mustRead(t, lenetPath), "not a quartz SNN file"},
		{"format", edit(func(f map[string]any) { f["format"] = "something-else" }), `not a quartz SNN file (format "something-else" version 1`},
		{"version", edit(func(f map[string]any) { f["version"] = 2 }), "version 2, want"},
		{"no-network", edit(func(f map[string]any) { delete(f, "network") }), "no network"},
		{"weights", edit(func(f map[string]any) {
			l := layer(f, 0)
			l["w"] = l["w"].([]any)[:10]
		}), "conv1"},
		{"tmax", edit(func(f map[string]any) { layer(f, 2)["t"] = 0 }), "conv2"},
		{"in-shape", edit(func(f map[string]any) { f["network"].(map[string]any)["in_shape"] = []int{1, 20, 20} }), "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".json")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, "eval", "--snn", p, "--limit", "50", "--workers", "2")
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%v", r.code, r)
			}
			if !strings.HasPrefix(r.stderr, "quartz eval: ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not name the problem (want %q):\n%s", tc.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
