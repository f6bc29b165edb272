package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
)

// TestExportImportNIR: convert → export --snn → import gives the same network.
func TestExportImportNIR(t *testing.T) {
	m := &graph.Model{Name: "tiny", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		{Name: "conv", Op: graph.Conv, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1,
			WShape: []int{2, 1, 3, 3}, W: []float32{.25, 0, -.25, .5, 0, 0, .125, .25, 0, 0, .5, 0, -.5, .25, 0, 0, 0, .125}, B: []float32{0, .0625}},
		{Name: "relu", Op: graph.ReLU},
		{Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 8}, W: []float32{1, -1, .5, 0, 0, .5, -.5, 1, 0, 0, 1, 1, -1, 0, .25, .25}, B: []float32{0, 0}},
	}}
	n, err := snn.Convert(m, snn.Config{Tmax: 8})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "snn.json")
	js, _ := json.Marshal(snnFile{Format: snnFormat, Version: 1, Network: n})
	if err := os.WriteFile(in, js, 0o644); err != nil {
		t.Fatal(err)
	}
	nirPath, back := filepath.Join(dir, "net.nir"), filepath.Join(dir, "back.json")
	for _, args := range [][]string{
		{"export", "--format", "nir", "--snn", in, "-o", nirPath},
		{"import", "--format", "nir", "-i", nirPath, "-o", back},
	} {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
	}
	data, err := os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseSNNFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Network, n) {
		t.Errorf("network changed by export and import")
	}
	var stderr bytes.Buffer
	if code := Run(context.Background(), []string{"import", "-i", in, "-o", back}, &bytes.Buffer{}, &stderr); code != 1 {
		t.Errorf("importing a JSON file: exit %d, want 1 (%s)", code, stderr.String())
	}
	if code := Run(context.Background(), []string{"export", "--snn", in}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("export without -o: exit %d, want 2", code)
	}
}
