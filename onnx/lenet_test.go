package onnx

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

const lenetPath = "../../shared/data/quartz-reference-lenet5/model.onnx"

func TestReferenceLeNet(t *testing.T) {
	if _, err := os.Stat(lenetPath); err != nil {
		t.Skipf("reference LeNet-5 not available: %v", err)
	}
	g, notes, err := Load(lenetPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes = %q, want none", notes)
	}
	if got := g.Params(); got != 26338 {
		t.Errorf("Params = %d, want 26338", got)
	}
	// conv1 6·24·24·25 + conv2 12·8·8·150 + conv3 120·1·1·192 + fc 1200.
	const macs = 86400 + 115200 + 23040 + 1200
	if got := g.MACs(); got != macs {
		t.Errorf("MACs = %d, want %d", got, macs)
	}
	if !reflect.DeepEqual(g.InputShape, []int{1, 28, 28}) || g.InputName != "input" || g.OutputName != "output" {
		t.Errorf("input %q %v, output %q", g.InputName, g.InputShape, g.OutputName)
	}
	if g.Opset != 13 || g.Producer != "pytorch 1.13.0" {
		t.Errorf("opset %d producer %q", g.Opset, g.Producer)
	}
	want := []struct {
		op  graph.Op
		out []int
	}{
		{graph.Conv, []int{6, 24, 24}}, {graph.ReLU, []int{6, 24, 24}}, {graph.MaxPool, []int{6, 12, 12}},
		{graph.Conv, []int{12, 8, 8}}, {graph.ReLU, []int{12, 8, 8}}, {graph.MaxPool, []int{12, 4, 4}},
		{graph.Conv, []int{120, 1, 1}}, {graph.ReLU, []int{120, 1, 1}}, {graph.Flatten, []int{120}},
		{graph.Linear, []int{10}},
	}
	if len(g.Nodes) != len(want) {
		t.Fatalf("%d layers, want %d", len(g.Nodes), len(want))
	}
	for i, w := range want {
		l := g.Nodes[i]
		if l.Op != w.op || !reflect.DeepEqual(l.OutShape, w.out) {
			t.Errorf("layer %d %q: %v %v, want %v %v", i, l.Name, l.Op, l.OutShape, w.op, w.out)
		}
	}
	if l := g.Nodes[0]; l.Name != "/0/Conv" || !reflect.DeepEqual(l.WShape, []int{6, 1, 5, 5}) || l.Stride != [2]int{1, 1} || l.Group != 1 {
		t.Errorf("conv1 = %q %v stride %v group %d", l.Name, l.WShape, l.Stride, l.Group)
	}

	// Writing and reading back keeps every parameter.
	path := filepath.Join(t.TempDir(), "lenet.onnx")
	if err := WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	back.Producer, back.Opset = g.Producer, g.Opset
	if !reflect.DeepEqual(back, g) {
		t.Error("LeNet changed in a write/read round trip")
	}
}
