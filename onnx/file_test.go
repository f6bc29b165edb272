package onnx

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

func TestWriteReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.onnx")
	want := testNet()
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want.InferShapes()
	got.Producer, got.Opset = "", 0
	if !reflect.DeepEqual(got, want) {
		t.Error("file round trip changed the model")
	}
	// A failing write leaves the old file and no temporary behind.
	bad := &graph.Model{InputShape: []int{1, 2, 2}, Nodes: []*graph.Node{{Op: graph.Op(99)}}}
	if err := WriteFile(path, bad); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name the file", err)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.onnx"), want); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("write into a missing dir: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only net.onnx", len(entries))
	}
	if _, err := ReadFile(path); err != nil {
		t.Errorf("old file damaged: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "nope.onnx")); err == nil || !strings.Contains(err.Error(), "nope.onnx") {
		t.Errorf("missing file error %v", err)
	}
	os.WriteFile(path, []byte{0x08}, 0o644)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt file error %v", err)
	}
}
