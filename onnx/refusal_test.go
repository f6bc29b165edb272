package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// extModel is a Conv whose weight lives in external data at loc.
func extModel(loc string) *Model {
	b := convNet(13)
	w := b.m.Graph.Initializer[0]
	w.FloatData = nil
	w.DataLocation = 1
	w.ExternalData = []KeyValue{{"location", loc}}
	return b.done()
}

// TestRefusals: external data that leaves the model's folder, a cycle, a
// folded constant over the size limit and an unknown operator are refused
// with errors that say what and where.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	weights := make([]byte, 54*4)
	if err := os.WriteFile(filepath.Join(outside, "w.bin"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.bin")
	if err := os.Symlink(filepath.Join(outside, "w.bin"), link); err != nil {
		t.Skipf("symlink: %v", err)
	}
	rel, err := filepath.Rel(dir, filepath.Join(outside, "w.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		model *Model
		want  []string
		is    error
	}{
		{"external dotdot", extModel(rel), []string{"leaves the model's folder"}, ErrExternalData},
		{"external dotdot inside", extModel("sub/../../x.bin"), []string{"leaves the model's folder"}, ErrExternalData},
		{"external absolute", extModel(filepath.Join(outside, "w.bin")), []string{"absolute paths are refused"}, ErrExternalData},
		{"external symlink out", extModel("link.bin"), []string{"leads out of the model's folder"}, ErrExternalData},
		{"external missing", extModel("nope.bin"), []string{`"nope.bin"`}, ErrExternalData},
		{"cycle", newBuilder(13, 1, 2, 2).node("Relu", "a", []string{"x", "c"}).node("Relu", "b", []string{"a"}).
			node("Relu", "c", []string{"b"}).done(), []string{"cycle", `node "a"`}, nil},
		{"huge constant", newBuilder(13, 1, 2, 2).initInt("shape", 1<<20, 1<<20, 1<<4).
			node("ConstantOfShape", "big", []string{"shape"}).node("Add", "a", []string{"x", "big"}).done(),
			[]string{`node "big" (ConstantOfShape)`}, nil}, // over the folding limit
		{"unknown op", newBuilder(15, 1, 2, 2).node("Relu", "r", []string{"x"}).node("Frobnicate", "f", []string{"r"}).done(),
			[]string{`node "f" (Frobnicate)`, "op Frobnicate (opset 15)"}, ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ConvertWith(c.model, Options{Dir: dir})
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to contain %q", err, w)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("errors.Is(%q, %v) = false", err, c.is)
			}
		})
	}
	// The same weight beside the model reads.
	if _, _, err := ConvertWith(extModel("w.bin"), Options{Dir: dir}); err != nil {
		t.Errorf("external data beside the model: %v", err)
	}
	// Without a folder, external data is refused.
	if _, _, err := Convert(extModel("w.bin")); err == nil || !errors.Is(err, ErrExternalData) {
		t.Errorf("external data with no folder: %v", err)
	}
}

// TestMissingInputs: a node with fewer inputs than its op needs is refused
// with an error, not a panic (found by FuzzConvert: a MatMul with one
// input).
func TestMissingInputs(t *testing.T) {
	m := newBuilder(13, 4).node("MatMul", "mm", []string{"x"}).done()
	if _, _, err := Convert(m); err == nil || !strings.Contains(err.Error(), `node "mm" (MatMul): 1 inputs: want 2`) {
		t.Errorf("Convert: %v, want the MatMul refused for its missing input", err)
	}
}
