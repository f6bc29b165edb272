package plot_test

import (
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/plot"
	"github.com/quartz-snn/quartz/snn"
)

// TestRasterDAG: the raster and the membrane traces take a branching
// network (a residual Sum layer with a delayed identity): one band per
// layer, τ of each from the network.
func TestRasterDAG(t *testing.T) {
	conv := func(name string, cin, cout int) *graph.Node {
		w := make([]float32, cout*cin*9)
		for i := range w {
			w[i] = 0.05 * float32(1+i%3)
		}
		return &graph.Node{Name: name, Op: graph.Conv, W: w, B: make([]float32, cout), WShape: []int{cout, cin, 3, 3},
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1}
	}
	fc := &graph.Node{Name: "fc", Op: graph.Linear, W: make([]float32, 3*32), B: make([]float32, 3), WShape: []int{3, 32}}
	for i := range fc.W {
		fc.W[i] = 0.02 * float32(i%5)
	}
	m := &graph.Model{Name: "residual", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		conv("conv1", 1, 2), {Name: "relu1", Op: graph.ReLU}, conv("conv2", 2, 2), {Name: "relu2", Op: graph.ReLU}, conv("conv3", 2, 2),
		{Name: "add", Op: graph.Add, Inputs: []int{4, 1}}, {Name: "relu3", Op: graph.ReLU}, {Name: "flatten", Op: graph.Flatten}, fc,
	}}
	n, err := snn.Convert(m, snn.Config{Tmax: 8})
	if err != nil {
		t.Fatal(err)
	}
	o, err := snn.NewOracle(n)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 16)
	for i := range x {
		x[i] = float32(i%4) / 4
	}
	var r snn.SampleResult
	if err := o.Simulate(x, &r); err != nil {
		t.Fatal(err)
	}
	if _, err := plot.Raster(n, &r, "residual"); err != nil {
		t.Fatal(err)
	}
	var traces []*snn.Trace
	for _, c := range plot.PickTraces(n, &r) {
		tr, err := o.TraceNeuron(&r, c.Layer, c.Neuron)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Spike != r.Times[c.Layer][c.Neuron] {
			t.Errorf("trace of layer %d neuron %d fires at %d, the simulation at %d", c.Layer, c.Neuron, tr.Spike, r.Times[c.Layer][c.Neuron])
		}
		traces = append(traces, tr)
	}
	// The Sum layer's neurons replay with their delayed identity input.
	if l := n.Layers[2]; l.Kind != snn.Sum || len(l.Groups) != 2 || l.Groups[1].Delay != 8 {
		t.Fatalf("layer 2: %+v, want the Sum with the identity delayed by 8", l)
	}
	for k := 0; k < n.Layers[2].Size(); k++ {
		tr, err := o.TraceNeuron(&r, 2, k)
		if err != nil || tr.Spike != r.Times[2][k] {
			t.Fatalf("Sum layer neuron %d: %v, trace fires at %v, the simulation at %d", k, err, tr, r.Times[2][k])
		}
	}
	if _, err := plot.Membrane(n, traces, "residual"); err != nil {
		t.Fatal(err)
	}
}
