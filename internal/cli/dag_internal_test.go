package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
)

// verdictModels are models on 1×28×28 inputs that inspect and convert
// must judge alike: "no activation", "tanh" and "signed pool" do not
// convert.
func verdictModels() map[string]*graph.Model {
	r := rand.New(rand.NewPCG(3, 4))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 0.2 * (2*r.Float32() - 1)
		}
		return v
	}
	conv := func(name string, cin, cout int) *graph.Node {
		return &graph.Node{Name: name, Op: graph.Conv, W: vec(cout * cin * 9), B: vec(cout), WShape: []int{cout, cin, 3, 3},
			Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	}
	same := func(n *graph.Node) *graph.Node { n.Stride = [2]int{1, 1}; return n }
	fc := func(in int) *graph.Node {
		return &graph.Node{Name: "fc", Op: graph.Linear, W: vec(10 * in), B: vec(10), WShape: []int{10, in}}
	}
	return map[string]*graph.Model{
		"chain": {Name: "chain", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
			conv("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, {Name: "flatten", Op: graph.Flatten}, fc(2 * 14 * 14)}},
		"no activation": {Name: "noact", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
			conv("conv1", 1, 2), {Name: "flatten", Op: graph.Flatten}, fc(2 * 14 * 14)}},
		"tanh": {Name: "tanh", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
			conv("conv1", 1, 2), {Name: "tanh1", Op: graph.Tanh}, {Name: "flatten", Op: graph.Flatten}, fc(2 * 14 * 14)}},
		"residual": {Name: "residual", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
			conv("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, same(conv("conv2", 2, 2)),
			{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}}, {Name: "relu2", Op: graph.ReLU},
			{Name: "flatten", Op: graph.Flatten}, fc(2 * 14 * 14)}},
		"bottleneck": {Name: "bottleneck", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
			conv("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, same(conv("conv2", 2, 2)),
			{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}}, same(conv("conv3", 2, 2)), {Name: "relu3", Op: graph.ReLU},
			{Name: "flatten", Op: graph.Flatten}, fc(2 * 14 * 14)}},
		"signed pool": {Name: "signedpool", InputShape: []int{1, 28, 28}, Nodes: []*graph.Node{
			conv("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, same(conv("conv2", 2, 2)),
			{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}}, {Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
			{Name: "flatten", Op: graph.Flatten}, fc(2 * 7 * 7)}},
	}
}

// randomSet is n random 1×28×28 images of 10 classes.
func randomSet(n int) *dataset.Set {
	r := rand.New(rand.NewPCG(7, 8))
	s := &dataset.Set{Name: "random", C: 1, H: 28, W: 28, Classes: strings.Split("0 1 2 3 4 5 6 7 8 9", " ")}
	s.Pix = make([]uint8, n*28*28)
	for i := range s.Pix {
		s.Pix[i] = uint8(r.Uint32())
	}
	s.Labels = make([]uint8, n)
	for i := range s.Labels {
		s.Labels[i] = uint8(i % 10)
	}
	return s
}

// defaultConfig is convert's configuration with every flag at its
// default, on few calibration samples.
func defaultConfig(t *testing.T) pipeline.Config {
	var c convFlags
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	c.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.config(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Calib = 20
	return cfg
}

// TestInspectAgreesWithConvert: inspect's verdict is convert's, error for
// error, on a chain that converts, a net with no activation, a Tanh net,
// a residual net and a linear bottleneck (a signed pair; both convert), a
// MaxPool on a signed pair (not built) and the shipped LeNet-5.
func TestInspectAgreesWithConvert(t *testing.T) {
	models := verdictModels()
	lenet, err := onnx.ReadFile("../../models/lenet5.onnx")
	if err != nil {
		t.Fatal(err)
	}
	models["lenet5"] = lenet
	want := map[string]string{
		"no activation": `"conv1" (Conv): not followed by ReLU`,
		"tanh":          `node 1 "tanh1" (Tanh)`,
		"signed pool":   `node 4 "pool" (MaxPool): a MaxPool of a value without ReLU (a signed pair) is not supported yet`,
	}
	for name, m := range models {
		if err := m.InferShapes(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		ierr := inspectGraph(&env{stdout: &out, stderr: io.Discard}, name+".onnx", m, nil, false)
		_, cerr := pipeline.Convert(context.Background(), m.Clone(), randomSet(20), defaultConfig(t))
		if want[name] == "" {
			if ierr != nil || cerr != nil || !strings.Contains(out.String(), "every layer converts") {
				t.Errorf("%s: inspect %v, convert %v; want both to convert\n%s", name, ierr, cerr, out.String())
			}
			continue
		}
		if ierr == nil || cerr == nil || !strings.HasSuffix(ierr.Error(), ": "+cerr.Error()) || !strings.Contains(cerr.Error(), want[name]) {
			t.Errorf("%s: inspect %v, convert %v; want convert's error %q from both", name, ierr, cerr, want[name])
		}
		if !strings.Contains(out.String(), "does not convert: "+cerr.Error()) {
			t.Errorf("%s: the table does not give convert's error:\n%s", name, out.String())
		}
		switch name {
		case "tanh":
			if !strings.Contains(out.String(), "ANN only: "+graph.Tanh.AnnOnly()) {
				t.Errorf("tanh: Tanh not marked ANN only:\n%s", out.String())
			}
		case "signed pool":
			if !strings.Contains(out.String(), "inputs") || !strings.Contains(out.String(), "1,2") || !strings.Contains(out.String(), " in ") ||
				!strings.Contains(out.String(), "unsupported: a MaxPool of a value without ReLU") {
				t.Errorf("signed pool: %v; want an inputs column and pool marked:\n%s", ierr, out.String())
			}
		case "no activation":
			if !strings.Contains(out.String(), "unsupported: not followed by ReLU") {
				t.Errorf("no activation: conv1 not marked:\n%s", out.String())
			}
		}
	}
}
