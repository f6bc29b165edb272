package cli_test

import (
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

// TestFlatInputModel: a model that takes flat vectors of 784 values reads
// MNIST's 1×28×28 images flattened; eval and convert say so once, inspect
// notes it.
func TestFlatInputModel(t *testing.T) {
	dir := t.TempDir()
	tm := tinyModel(1, 28, 28)
	m := &graph.Model{Name: "flat", InputShape: []int{784, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, W: make([]float32, 8*784), B: make([]float32, 8), WShape: []int{8, 784}},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, W: tm.Nodes[4].W[:80], B: make([]float32, 10), WShape: []int{10, 8}},
	}}
	for i := range m.Nodes[1].W {
		m.Nodes[1].W[i] = float32(i%7) * 0.01
	}
	om, err := onnx.FromGraph(m)
	if err != nil {
		t.Skipf("onnx cannot write the model: %v", err)
	}
	path := writeONNX(t, dir, "flat.onnx", om)
	data := randomMNISTDir(t, 20, 10)
	const note = "note: images of 1×28×28 fed flattened to the model input 784×1×1"
	for _, args := range [][]string{
		{"eval", "--model", path, "--data-dir", data, "--calib", "20", "--workers", "1"},
		{"convert", "--model", path, "--data-dir", data, "--calib", "20", "--workers", "1", "-o", dir + "/flat.json"},
	} {
		r := run(t, args...)
		if r.code != 0 || strings.Count(r.stderr, note) != 1 {
			t.Errorf("%v: want exit 0 and the note once\n%v", args[0], r)
		}
	}
	r := run(t, "inspect", path)
	if r.code != 0 || !strings.Contains(r.stdout, "the model takes flat vectors of 784 values") {
		t.Errorf("inspect: want exit 0 and the flat-input note\n%v", r)
	}
}
