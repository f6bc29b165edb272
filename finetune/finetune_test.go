package finetune_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/finetune"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/graphtest"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/train"
)

// quadrants is n images of 1×12×12 in 4 classes with low contrast, so
// that a window of 2 steps loses information (graphtest.Quadrants).
func quadrants(n int, seed uint64) *dataset.Set { return graphtest.Quadrants(n, seed, 120, 20, 40) }

// smallNet is a LeNet-like chain for 1×12×12 inputs and 4 classes.
func smallNet() *graph.Model {
	return &graph.Model{Name: "small", InputShape: []int{1, 12, 12}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{6, 1, 3, 3}, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Group: 1,
			W: make([]float32, 54), B: make([]float32, 6)},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{16, 150}, W: make([]float32, 16*150), B: make([]float32, 16)},
		{Name: "relu2", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, WShape: []int{4, 16}, W: make([]float32, 64), B: make([]float32, 4)},
	}}
}

// TestFinetuneEndToEnd: a small chain trained on low-contrast images,
// converted at Tmax 2, fine-tuned for that window, written as ONNX and read
// back. The file converts with every scale 1 and its weights unchanged;
// its SNN agrees with the quantized network it was trained as on every
// test sample when no neuron fires early; and SNN accuracy does not drop.
func TestFinetuneEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name      string
		floatLoss float64
	}{{"rounded loss", 0}, {"with float loss", 1}} {
		t.Run(tc.name, func(t *testing.T) { finetuneEndToEnd(t, tc.floatLoss) })
	}
}

func finetuneEndToEnd(t *testing.T, floatLoss float64) {
	ctx := context.Background()
	m := smallNet()
	nn.Init(m, 3)
	net, err := nn.New(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet := quadrants(1024, 1), quadrants(400, 2)
	if _, err := train.Run(ctx, net, trainSet, nil, train.Config{Epochs: 4, Batch: 32, LR: 3e-3, Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	net.Close()
	const tmax = 2
	pcfg := pipeline.Config{Tmax: tmax, Calib: 512, CalibSeed: 1, Workers: 2}
	conv, err := pipeline.Convert(ctx, m, trainSet, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	before, err := pipeline.Evaluate(ctx, conv, testSet)
	if err != nil {
		t.Fatal(err)
	}
	res, err := finetune.Run(ctx, conv, trainSet, finetune.Config{Workers: 2, Probe: 256, FloatLoss: floatLoss,
		Train: train.Config{Epochs: 3, Batch: 32, LR: 1e-3, Seed: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Saturation) != 3 {
		t.Errorf("saturation of %d layers, want 3 (conv1, fc1, fc2): %+v", len(res.Saturation), res.Saturation)
	}
	var buf bytes.Buffer
	om, err := onnx.FromGraph(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Encode(om)
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(b)
	dm, err := onnx.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := onnx.Convert(dm)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Normalized() || back.Metadata[graph.MetaTmax] != "2" {
		t.Fatalf("metadata %v: want normalized, tmax 2", back.Metadata)
	}
	conv2, err := pipeline.Convert(ctx, back, trainSet, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range conv2.Norm.Layers {
		if st.Scale != 1 {
			t.Errorf("layer %s: scale %v, want 1", st.Name, st.Scale)
		}
	}
	wl := 0
	for _, l := range conv2.Normalized.Nodes {
		if l.W == nil {
			continue
		}
		var ref *graph.Node
		for _, r := range res.Model.Nodes {
			if r.Name == l.Name {
				ref = r
			}
		}
		if ref == nil || !slices.Equal(l.W, ref.W) || !slices.Equal(l.B, ref.B) {
			t.Errorf("layer %s: weights differ from the fine-tuned model's", l.Name)
		}
		wl++
	}
	if wl != 3 {
		t.Errorf("%d weight layers compared, want 3", wl)
	}
	after, err := pipeline.EvaluateWith(ctx, conv2, testSet, pipeline.EvalOptions{PerSample: true})
	if err != nil {
		t.Fatal(err)
	}
	// The quantized network as trained (Quant nodes, no loss scale needed
	// for the class).
	q, err := finetune.Build(conv2, 1)
	if err != nil {
		t.Fatal(err)
	}
	qnet, err := nn.New(q, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer qnet.Close()
	x := make([]float32, 0, testSet.Len()*testSet.SampleSize())
	all := make([]int, testSet.Len())
	for i := range all {
		all[i] = i
	}
	if err := testSet.Chunks(all, 100, func(b []float32, _ []int32, _ int) error { x = append(x, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	qc := nn.Argmax(qnet.Predict(x, testSet.Len()), testSet.Len(), nil)
	differ := 0
	for i, s := range after.PerSample {
		if s.SNN != int(qc[i]) {
			differ++
		}
	}
	t.Logf("Tmax %d: SNN %.2f %% → %.2f %% (ANN %.2f %%); early spikes %.3f %% → %.3f %%; SNN vs quantized network: %d of %d differ; saturation %+v",
		tmax, before.SNNAccuracy, after.SNNAccuracy, *before.ANNAccuracy, before.EarlySpikePct, after.EarlySpikePct, differ, testSet.Len(), res.Saturation)
	if after.EarlySpikePct == 0 && differ > 0 {
		t.Errorf("no early spikes, yet %d of %d samples differ between the SNN and the quantized network", differ, testSet.Len())
	}
	if differ > testSet.Len()/100 {
		t.Errorf("%d of %d samples differ between the SNN and the quantized network (early spikes %.3f %%)", differ, testSet.Len(), after.EarlySpikePct)
	}
	if after.SNNAccuracy < before.SNNAccuracy {
		t.Errorf("SNN accuracy dropped: %.2f %% → %.2f %%", before.SNNAccuracy, after.SNNAccuracy)
	}
}

// TestBuildStrip: Build puts a Quant on the input and after every spiking
// layer with that layer's window (clipped at 0 in hidden layers, only
// above in the output layer), none after MaxPool, and the loss scale last;
// Strip gives back the normalized model node for node, weights equal.
func TestBuildStrip(t *testing.T) {
	m := smallNet()
	nn.Init(m, 5)
	conv, err := pipeline.Convert(context.Background(), m, quadrants(200, 3), pipeline.Config{Tmax: 3, Calib: 200, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := finetune.Build(conv, 7)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range b.Nodes {
		s := l.Name
		if l.Op == graph.Quant {
			s += fmt.Sprintf("(%d,%v)", l.Levels, l.Min == 0)
		}
		got = append(got, s)
	}
	want := []string{"quant:input(3,true)", "conv1", "quant:conv1(3,true)", "relu1", "pool1", "flat", "fc1", "quant:fc1(3,true)",
		"relu2", "fc2", "quant:fc2(3,false)", "finetune:output_scale"}
	if !slices.Equal(got, want) {
		t.Errorf("Build nodes\n%v, want\n%v", got, want)
	}
	if s := b.Nodes[len(b.Nodes)-1].Scale; len(s) != 4 || s[0] != 7 {
		t.Errorf("loss scale %v, want 4 × 7", s)
	}
	back, err := finetune.Strip(b)
	if err != nil {
		t.Fatal(err)
	}
	nm := conv.Normalized
	if len(back.Nodes) != len(nm.Nodes) {
		t.Fatalf("Strip: %d nodes, want %d", len(back.Nodes), len(nm.Nodes))
	}
	for i, l := range back.Nodes {
		r := nm.Nodes[i]
		if l.Name != r.Name || l.Op != r.Op || !slices.Equal(l.W, r.W) || !slices.Equal(l.B, r.B) || !slices.Equal(l.Inputs, r.Inputs) {
			t.Errorf("node %d: %s %v %v, want %s %v %v", i, l.Name, l.Op, l.Inputs, r.Name, r.Op, r.Inputs)
		}
	}
}
