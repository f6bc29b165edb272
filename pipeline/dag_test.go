package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/graphtest"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/ratecode"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/train"
)

// halves is ExampleConvert's model on 1×4×4 inputs; flat, it takes the
// same 16 values as a [16 1 1] vector, without the Flatten.
func halves(flat bool) *graph.Model {
	w1 := make([]float32, 2*16)
	for i := range 16 {
		if i%4 < 2 {
			w1[i] = 0.125
		} else {
			w1[16+i] = 0.125
		}
	}
	m := &graph.Model{Name: "halves", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, W: w1, B: []float32{0, 0}, WShape: []int{2, 16}},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, W: []float32{1, -1, -1, 1}, B: []float32{0, 0}, WShape: []int{2, 2}},
	}}
	if flat {
		m.InputShape = []int{16, 1, 1}
		m.Nodes = m.Nodes[1:]
	}
	return m
}

func conv3(name string, cin, cout int) *graph.Node {
	w := make([]float32, cout*cin*9)
	for i := range w {
		w[i] = 0.05
	}
	return &graph.Node{Name: name, Op: graph.Conv, W: w, B: make([]float32, cout), WShape: []int{cout, cin, 3, 3},
		Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
}

// TestFlatInput: a model that takes flat vectors of C·H·W values reads
// the images flattened, with a note, and scores as the model with a
// Flatten; a size that differs is still an error.
func TestFlatInput(t *testing.T) {
	ctx := context.Background()
	cfg := pipeline.Config{Tmax: 8, Percentile: 100, Calib: 16, CalibSeed: 1, Workers: 1}
	var acc [2]float64
	for k, flat := range []bool{false, true} {
		conv, err := pipeline.Convert(ctx, halves(flat), stripes(64), cfg)
		if err != nil {
			t.Fatalf("flat %v: %v", flat, err)
		}
		if wantNote := flat; (len(conv.Notes) == 1) != wantNote || (flat && !strings.Contains(conv.Notes[0], "fed flattened")) {
			t.Errorf("flat %v: notes %q", flat, conv.Notes)
		}
		res, err := pipeline.Evaluate(ctx, conv, stripes(20))
		if err != nil {
			t.Fatalf("flat %v: %v", flat, err)
		}
		if _, err := pipeline.EvaluateRate(ctx, conv, stripes(20), ratecode.Config{Steps: 20}); err != nil {
			t.Fatalf("flat %v: rate: %v", flat, err)
		}
		if _, err := pipeline.CheckOracle(ctx, conv, stripes(4), 4); err != nil {
			t.Fatalf("flat %v: oracle: %v", flat, err)
		}
		acc[k] = res.SNNAccuracy
	}
	if acc[0] != acc[1] || acc[0] != 100 {
		t.Errorf("SNN accuracy %v flattened by the model, %v fed flat; want 100 both", acc[0], acc[1])
	}
	m := halves(true)
	m.InputShape = []int{15, 1, 1}
	m.Nodes[0].WShape = []int{2, 15}
	m.Nodes[0].W = m.Nodes[0].W[:30]
	if _, err := pipeline.Convert(ctx, m, stripes(8), cfg); err == nil || !strings.Contains(err.Error(), `has images of 1×4×4, model "halves" expects 15×1×1`) {
		t.Errorf("15 values for 16: %v", err)
	}
}

// TestCheckConvertibleAgrees: CheckConvertible (quartz inspect's verdict)
// and Convert (quartz convert) accept and refuse the same models with the
// same error.
func TestCheckConvertibleAgrees(t *testing.T) {
	noAct := halves(false)
	noAct.Nodes = append(noAct.Nodes[:2], noAct.Nodes[3:]...)
	tanh := halves(false)
	tanh.Nodes[2] = &graph.Node{Name: "tanh1", Op: graph.Tanh}
	fc := &graph.Node{Name: "fc", Op: graph.Linear, W: make([]float32, 2*32), B: make([]float32, 2), WShape: []int{2, 32}}
	for i := range fc.W {
		fc.W[i] = 0.05 * float32(1-2*(i%2))
	}
	fcNode := func() *graph.Node { c := *fc; return &c }
	residual := &graph.Model{Name: "residual", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		conv3("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, conv3("conv2", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}}, {Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten}, fc,
	}}
	// A sum without ReLU read by a conv: a signed pair.
	bottleneck := &graph.Model{Name: "bottleneck", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		conv3("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, conv3("conv2", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}}, conv3("conv3", 2, 2), {Name: "relu3", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten}, fcNode(),
	}}
	// A MaxPool on a sum without ReLU (a signed pair) is not built.
	signedPool := &graph.Model{Name: "signedpool", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		conv3("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, conv3("conv2", 2, 2),
		{Name: "add1", Op: graph.Add, Inputs: []int{1, 2}}, {Name: "pool", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		conv3("conv3", 2, 2), {Name: "relu3", Op: graph.ReLU}, {Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: make([]float32, 2*8), B: make([]float32, 2), WShape: []int{2, 8}},
	}}
	// A product of two activations has no Quartz equivalent.
	product := &graph.Model{Name: "product", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		conv3("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, conv3("conv2", 2, 2),
		{Name: "mul1", Op: graph.Mul, Inputs: []int{1, 2}}, {Name: "relu2", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten}, fcNode(),
	}}
	// An Affine between relu1 and fc2 folds into fc2 (graph.Simplify).
	affineMid := halves(false)
	affineMid.Nodes = append(affineMid.Nodes[:3], append([]*graph.Node{{Name: "scale", Op: graph.Affine, Scale: []float32{2, 2}, Shift: []float32{1, 1}}}, affineMid.Nodes[3:]...)...)
	for _, tc := range []struct {
		name, want string
		m          *graph.Model
	}{
		{"halves", "", halves(false)},
		{"flat", "", halves(true)},
		{"no activation", `"fc1" (Linear): not followed by ReLU`, noAct},
		{"tanh", `node 2 "tanh1" (Tanh)`, tanh},
		{"residual", "", residual},
		{"linear bottleneck", "", bottleneck},
		{"pool on a signed pair", `node 4 "pool" (MaxPool): a MaxPool of a value without ReLU (a signed pair) is not supported yet`, signedPool},
		{"product", `node 3 "mul1" (Mul): not convertible to Quartz (ANN only)`, product},
		{"affine folded", "", affineMid},
	} {
		cfg := pipeline.Config{Calib: 16, Workers: 1}
		check := pipeline.CheckConvertible(tc.m, cfg)
		_, err := pipeline.Convert(context.Background(), tc.m, stripes(32), cfg)
		if tc.want == "" {
			if check != nil || err != nil {
				t.Errorf("%s: CheckConvertible %v, Convert %v; want both nil", tc.name, check, err)
			}
			continue
		}
		if check == nil || err == nil || check.Error() != err.Error() || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckConvertible %v, Convert %v; want the same error containing %q", tc.name, check, err, tc.want)
		}
	}
}

// quadrants is n images of 1×12×12 in 4 classes, each with its quadrant
// bright on noise (graphtest.Quadrants).
func quadrants(n int, seed uint64) *dataset.Set { return graphtest.Quadrants(n, seed, 90, 100, 60) }

// trainedZoo trains the zoo model name at width 0.25 on quadrant images for
// 6 epochs (initialized and trained with seed; the training images drawn
// with seed 2·seed−1, the test images with 2·seed) and converts it at
// Tmax 16; it returns the conversion and the test images.
func trainedZoo(t *testing.T, name string, seed uint64) (*pipeline.Converted, *dataset.Set) {
	t.Helper()
	m, err := nn.Zoo(name, []int{1, 12, 12}, 4, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	nn.Init(m, seed)
	net, err := nn.New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet := quadrants(512, 2*seed-1), quadrants(128, 2*seed)
	if _, err := train.Run(context.Background(), net, trainSet, testSet, train.Config{Epochs: 6, Batch: 32, LR: 1e-2, Seed: seed}, nil); err != nil {
		t.Fatal(err)
	}
	net.Close()
	conv, err := pipeline.Convert(context.Background(), m, trainSet, pipeline.Config{Tmax: 16, Calib: 256, CalibSeed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return conv, testSet
}

// TestResidualEndToEnd: a ResNet-20 of width 0.25 (identity and
// projection shortcuts, BatchNorm folded), trained briefly on synthetic
// quadrant images, converts at Tmax 16 (Add nodes as Sum layers with
// delays) and its SNN agrees with the ANN; the oracle check runs on it.
func TestResidualEndToEnd(t *testing.T) {
	ctx := context.Background()
	conv, testSet := trainedZoo(t, "resnet20", 1)
	sums, delayed := 0, 0
	for _, l := range conv.SNN.Layers {
		if l.Kind == snn.Sum {
			sums++
		}
	}
	res, err := pipeline.Evaluate(ctx, conv, testSet)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Layers {
		if l.DelayedSynapses > 0 {
			delayed++
		}
	}
	t.Logf("ANN %.1f %%, SNN %.1f %%, agreement %.1f %%, %d Sum layers (%d with delays), early %.2f %%",
		*res.ANNAccuracy, res.SNNAccuracy, *res.Agreement, sums, delayed, res.EarlySpikePct)
	if sums != 9 || delayed == 0 {
		t.Errorf("%d Sum layers, %d with delays; want 9 (one per basic block), some delayed", sums, delayed)
	}
	// Every ANN MAC is in some layer's row: a Sum layer carries the convs
	// merged into it as input groups.
	var macs int64
	for _, l := range res.Layers {
		macs += l.MACs
		if l.Kind == snn.Sum.String() && l.MACs == 0 {
			t.Errorf("Sum layer %s shows no MACs", l.Name)
		}
	}
	if want := conv.Simplified.MACs(); macs != want {
		t.Errorf("layer MACs sum to %d, the model has %d", macs, want)
	}
	if *res.ANNAccuracy < 60 || *res.Agreement < 90 {
		t.Errorf("ANN %.1f %%, agreement %.1f %%: want ≥ 60 %% and ≥ 90 %%", *res.ANNAccuracy, *res.Agreement)
	}
	oc, err := pipeline.CheckOracle(ctx, conv, testSet, 2)
	if err != nil {
		t.Fatal(err)
	}
	if oc.SpikeTimes == 0 || oc.Differ > oc.SpikeTimes/1000 {
		t.Errorf("oracle check: %d of %d spike times differ", oc.Differ, oc.SpikeTimes)
	}
}

// TestMobileNetV2EndToEnd: a MobileNet-V2 of width 0.25 (linear
// bottlenecks: signed pairs), trained briefly on quadrant images, converts
// at Tmax 16 and its SNN agrees with the ANN.
func TestMobileNetV2EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	ctx := context.Background()
	conv, testSet := trainedZoo(t, "mobilenet-v2", 2)
	res, err := pipeline.Evaluate(ctx, conv, testSet)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ANN %.1f %%, SNN %.1f %%, agreement %.1f %%, %d of %d neurons in signed pairs, early %.2f %%",
		*res.ANNAccuracy, res.SNNAccuracy, *res.Agreement, res.SignedNeurons, res.Neurons, res.EarlySpikePct)
	if res.SignedNeurons == 0 || res.DelayedSynapses == 0 {
		t.Errorf("%d signed-pair neurons, %v delayed synapses; want some", res.SignedNeurons, res.DelayedSynapses)
	}
	if *res.ANNAccuracy < 60 || *res.Agreement < 90 {
		t.Errorf("ANN %.1f %%, agreement %.1f %%: want ≥ 60 %% and ≥ 90 %%", *res.ANNAccuracy, *res.Agreement)
	}
}
