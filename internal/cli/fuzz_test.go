package cli

import (
	"encoding/json"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
)

// FuzzParseSNNFile feeds arbitrary bytes to the reader of `quartz convert`
// files. Whatever it accepts must be safe to simulate: Validate is the only
// gate between a file and the simulator's unchecked index arithmetic.
func FuzzParseSNNFile(f *testing.F) {
	m := &graph.Model{InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		{Name: "c", Op: graph.Conv, WShape: []int{2, 1, 3, 3}, W: make([]float32, 18), B: []float32{0.25, -0.5},
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "r", Op: graph.ReLU},
		{Name: "p", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		{Name: "f", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{3, 8}, W: make([]float32, 24), B: make([]float32, 3)},
	}}
	for i := range m.Nodes[0].W {
		m.Nodes[0].W[i] = float32(i%5-2) / 8
	}
	n, err := snn.Convert(m, snn.Config{Tmax: 4})
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(snnFile{Format: snnFormat, Version: 1, Network: n})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"quartz-snn","version":1,"network":{"in_shape":[1,1,1],"layers":[]}}`))
	f.Add([]byte(`{"format":"quartz-snn","version":1,"network":{"in_shape":[1,1000000000,1000000000],"layers":[{"kind":"Linear","in_shape":[1],"out_shape":[1],"t":1,"t_out":1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := parseSNNFile(data)
		if err != nil {
			return
		}
		sim, err := snn.NewSim(sf.Network, 1)
		if err != nil {
			return
		}
		x := make([]float32, graph.Size(sf.Network.InShape))
		var r snn.SampleResult
		if err := sim.NewWorker().Simulate(x, &r); err != nil {
			return
		}
	})
}
