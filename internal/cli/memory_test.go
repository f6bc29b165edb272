package cli_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

// TestBoundsRefuseCleanly is issue 18 item 5: flags and models whose
// buffers would not fit are refused with one line, before anything large
// is allocated, and no output file is written.
func TestBoundsRefuseCleanly(t *testing.T) {
	dir := t.TempDir()
	data := mnistDir(t, 300, 50)
	out := filepath.Join(dir, "out.json")

	// 20,000 chained layers.
	long := tinyModel(1, 28, 28)
	for range 20000 {
		long.Nodes = append(long.Nodes, &graph.Node{Op: graph.ReLU})
	}
	for i, n := range long.Nodes {
		n.Name = "n" + strconv.Itoa(i)
	}
	om, err := onnx.FromGraph(long)
	if err != nil {
		t.Fatal(err)
	}
	longPath := writeONNX(t, dir, "long.onnx", om)

	// A tiny model whose calibration needs ≈ 13 GB even one sample at a
	// time (two live 4×20028×20028 activations, 6.4 GB each): a 1×1 conv
	// padded by 10000 on every side, then a global average.
	wide := &graph.Model{Name: "padded", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
		{Name: "conv", Op: graph.Conv, W: []float32{1, 1, 1, 1}, B: make([]float32, 4), WShape: []int{4, 1, 1, 1},
			Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Pad: [4]int{10000, 10000, 10000, 10000}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu", Op: graph.ReLU},
		{Name: "gap", Op: graph.GlobalAvgPool},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 40), B: make([]float32, 10), WShape: []int{10, 4}},
	}}
	om, err = onnx.FromGraph(wide)
	if err != nil {
		t.Fatal(err)
	}
	widePath := writeONNX(t, dir, "padded.onnx", om)

	lenet := "../../models/lenet5.onnx"
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "--model", lenet, "--tmax", "10000000"}, 1, "--tmax 10000000: at most 65536"},
		{[]string{"convert", "--model", lenet, "-o", out, "--tmax", "10000000"}, 1, "--tmax 10000000: at most 65536"},
		{[]string{"eval", "--model", lenet, "--workers", "100000"}, 1, "--workers 100000: at most 1024"},
		{[]string{"sweep", "--model", lenet, "-o", filepath.Join(dir, "sw"), "--tmax", "4,10000000"}, 1, "Tmax 10000000: at most 65536"},
		{[]string{"train", "--model", "vgg11", "--width", "1000", "-o", filepath.Join(dir, "m.onnx")}, 2, "--width 1000: at most 16"},
		{[]string{"train", "--model", "lenet5", "--width", "16", "--max-memory", "0.01", "-o", filepath.Join(dir, "m.onnx")}, 1, "needs about"},
		{[]string{"map", "--zoo", "vgg11", "--in", "3,4096,4096", "-o", out}, 1, "at most 16777216 values per sample"},
		{[]string{"map", "--zoo", "vgg11", "--classes", "1000000000", "-o", out}, 1, "classes 1000000000: want 1..1048576"},
		{[]string{"map", "--zoo", "vgg11", "--in", "3,2048,2048", "--max-memory", "1", "-o", out}, 1, "needs about"},
		{[]string{"eval", "--model", longPath}, 1, "20005 nodes, at most 10000"},
		{[]string{"convert", "--model", widePath, "-o", out, "--max-memory", "4"}, 1, "needs about"},
		{[]string{"eval", "--model", widePath, "--max-memory", "4"}, 1, "the limit is 4.0 GB"},
	} {
		t.Run(strings.Join(c.args[:3], " "), func(t *testing.T) {
			args := append(c.args, "--data-dir", data)
			if c.args[0] == "train" {
				args = append(c.args, "--data", "mnist:"+data, "--epochs", "1")
			}
			r := run(t, args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("want exit %d with %q:\n%v", c.code, c.want, r)
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want one line:\n%s", r.stderr)
			}
			mustNotExist(t, out)
		})
	}
}
