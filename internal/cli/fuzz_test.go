package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/shard"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/sweep"
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
	// A real file: models/lenet5.onnx converted on MNIST.
	f.Add(readGzip(f, "testdata/lenet5.snn.json.gz"))
	// Crafted files that hung or panicked before the size limits.
	f.Add([]byte(`{"format":"quartz-snn","version":1,"network":{"in_shape":[1,1,2305843009213693952],"layers":[{"kind":"MaxPool","in_shape":[1,1,2305843009213693952],"out_shape":[1,1,2305843009213693952],"kernel":[1,1],"stride":[1,1]},{"kind":"Conv","in_shape":[1,1,2305843009213693952],"out_shape":[1,1,1],"kernel":[1,1],"stride":[1,2305843009213693952],"dilation":[1,1],"group":1,"w":[0],"w_shape":[1,1,1,1],"b":[0.5],"t":4,"t_out":4,"theta":3.5,"counter":[0.5],"output":true}]}}`))
	f.Add([]byte(`{"format":"quartz-snn","version":1,"network":{"in_shape":[1,1,1],"layers":[{"kind":"Conv","in_shape":[1,1,1],"out_shape":[1,1,1],"kernel":[4294967296,4294967296],"stride":[8589934592,8589934592],"pad":[4294967296,4294967296,4294967296,4294967296],"dilation":[1,1],"group":1,"w_shape":[1,1,4294967296,4294967296],"b":[0.5],"t":4,"t_out":4,"theta":3.5,"counter":[0.5],"output":true}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := parseSNNFile(data)
		if err != nil {
			return
		}
		// Accepted networks are within snn's limits, which still allow
		// minutes of simulation; simulate only the small ones.
		sp, relay := sf.Network.Neurons()
		if sp+relay > 1<<16 || graph.Size(sf.Network.InShape) > 1<<16 || sf.Network.EndStep() > 1<<12 {
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

// readGzip returns the decompressed contents of a gzip file.
func readGzip(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// FuzzDecodePart feeds arbitrary bytes to the reader of part files (quartz
// merge). Whatever it accepts must merge without a panic: the slices,
// layouts and counters are checked before pipeline.MergeParts reads them.
func FuzzDecodePart(f *testing.F) {
	base := &pipeline.Result{Model: "m.onnx", Data: "d", Samples: 4, Tmax: 2, Percentile: 99, Threshold: "round"}
	lay := &pipeline.Layout{Neurons: 2, Layers: []pipeline.LayerLayout{{Name: "fc", Kind: "linear", Shape: []int{2}, Neurons: 2, T: 2, Spiking: true}}}
	id := shard.Identity{Kind: "eval", Model: "m.onnx", ModelSHA256: "sha256:00", Data: "d", DataFingerprint: "fp", Samples: 4, Config: "tmax=2"}
	for i := 0; i < 2; i++ {
		sp := shard.Spec{Index: i, Count: 2}
		lo, hi := sp.Range(4)
		p := &partFile{Header: shard.NewHeader(sp, id), Eval: &pipeline.Part{Lo: int(lo), Hi: int(hi), Base: base, Layout: lay,
			Tally: pipeline.Tally{SNN: snn.Summary{Samples: hi - lo, Correct: 1, Layers: make([]snn.LayerStats, 1)}}}}
		js, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	f.Add([]byte(`{"format":"quartz-part","version":1,"shard":{"index":0,"count":1},"identity":{"kind":"sweep","samples":1},"sweep":{"manifest":{"samples":1}}}`))
	f.Add([]byte(`{"format":"quartz-part","version":1,"shard":{"index":0,"count":1},"identity":{"kind":"eval","samples":0},` +
		`"eval":{"lo":0,"hi":0,"base":{"samples":0},"layout":{"layers":[{"name":"fc","neurons":1}]},"tally":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePart(data)
		if err != nil {
			return
		}
		if p.Eval != nil {
			// A lone part merges when it covers the run; either way no panic.
			_, _ = pipeline.MergeParts([]*pipeline.Part{p.Eval}, true)
		}
		if p.Sweep != nil {
			_, _ = sweep.MergeShards(t.TempDir(), []*sweep.Partial{p.Sweep})
		}
	})
}
