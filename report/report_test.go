package report_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/energy"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/report"
)

// update rewrites the golden files: go test ./report -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

func ptr(v float64) *float64 { return &v }

// fixedResult is a hand-built result shaped like the shipped LeNet-5's, with
// every field set so that the golden files show all of the layout.
func fixedResult() *pipeline.Result {
	return &pipeline.Result{
		Model: "models/lenet5.onnx", Data: "mnist/test", Samples: 10000,
		Tmax: 16, Percentile: 99, Threshold: "round", CalibSize: 10000,
		ANNAccuracy: ptr(99.12), SNNAccuracy: 99.05, TieRate: 0.31, NoClassRate: 0.02, Agreement: ptr(99.6),
		Neurons: 4354, RelayNeurons: 1056, Spikes: 4346.7, RelaySpikes: 1056,
		SynapticEvents: 243116, InputEvents: 230000, BiasEvents: 4354, ReadoutEvents: 4354, RectifierEvents: 4408,
		CurrentUpdates: 36218.4, Omega: 175546.4, OmegaEvents: 382444,
		EarlySpikePct: 0.676, FirstSpike: 68.51, Steps: 81, ClampedInputs: 0,
		ANNMACs: 225840, SecondsANN: 1.234, SecondsSNN: 5.678,
		Layers: []pipeline.LayerResult{
			{Name: "conv1", Kind: "Conv", Shape: []int{6, 24, 24}, Neurons: 3456, T: 16, Scale: 2.2404, AboveOne: 0.01,
				Spikes: 3456, SynapticEvents: 96768, CurrentUpdates: 19421.3, EarlyPct: 0.658, RectifiedPct: 40.1, MACs: 86400},
			{Name: "pool1", Kind: "MaxPool", Shape: []int{6, 12, 12}, Neurons: 864, Spikes: 864, SynapticEvents: 3456},
			{Name: "conv2", Kind: "Conv", Shape: []int{12, 8, 8}, Neurons: 768, T: 16, Scale: 5.7123, AboveOne: 0.0101,
				Spikes: 768, SynapticEvents: 117504, CurrentUpdates: 14299, EarlyPct: 0.757, MACs: 115200},
			{Name: "fc1", Kind: "Linear", Shape: []int{10}, Neurons: 10, T: 16, Scale: 15.71, AboveOne: 0.01,
				Spikes: 2, SynapticEvents: 1220, CurrentUpdates: 146, EarlyPct: 0.65, MACs: 1200},
		},
		Warnings: []string{"conv2: 1.01 % of activations above 1 after normalization"},
		Stats:    fixedStats(true),
	}
}

// fixedStats are the statistics of fixedResult's accuracies: 9912 and 9905
// of 10000 correct, 25 samples right by the ANN only and 18 by the SNN only.
func fixedStats(withANN bool) *pipeline.AccuracyStats {
	pct := func(lo, hi float64) [2]float64 { return [2]float64{100 * lo, 100 * hi} }
	st := &pipeline.AccuracyStats{SNNAccuracyCI: pct(pipeline.Wilson(9905, 10000, pipeline.Z95))}
	if withANN {
		ann := pct(pipeline.Wilson(9912, 10000, pipeline.Z95))
		st.ANNAccuracyCI = &ann
		st.Paired = &pipeline.PairedStats{ANNOnly: 25, SNNOnly: 18, McNemarP: pipeline.McNemarExact(25, 18),
			DropCI: pct(pipeline.NewcombePaired(9887, 25, 18, 70, pipeline.Z95))}
	}
	return st
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./report -update creates it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test ./report -update accepts the new text):\n%s", path, diffLines(string(want), got))
	}
}

// diffLines lists the lines that differ, by line number.
func diffLines(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	var sb strings.Builder
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y || i >= len(a) || i >= len(b) {
			sb.WriteString("line " + itoa(i+1) + ":\n- " + x + "\n+ " + y + "\n")
		}
	}
	return sb.String()
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

func TestTextGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*pipeline.Result)
	}{
		{"text.golden", func(*pipeline.Result) {}},
		// eval --snn without --model: no ANN column; per-layer T; analog layer 1.
		{"text_snn_only.golden", func(r *pipeline.Result) {
			r.ANNAccuracy, r.Agreement, r.ANNMACs, r.SecondsANN = nil, nil, 0, 0
			r.Stats = fixedStats(false)
			r.Tmax, r.TmaxLayers, r.Analog = 16, []int{8, 16, 4}, true
			r.Layers[0].Kind = "analog Conv"
			r.Warnings = nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := fixedResult()
			tc.edit(res)
			var b bytes.Buffer
			if err := report.Text(&b, res); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.String())
		})
	}
}

// TestHeaderPercentile: the header names what normalized the network: one
// percentile, the per-layer ones --percentile-layers auto chose, or none
// for a fine-tuned (pre-normalized) model; text and Markdown alike.
func TestHeaderPercentile(t *testing.T) {
	for _, tc := range []struct {
		edit func(*pipeline.Result)
		want string
	}{
		{func(r *pipeline.Result) { r.Percentile = 99.9 }, "percentile 99.9 on"},
		{func(r *pipeline.Result) {
			r.PercentileAuto = &pipeline.AutoChoice{Chosen: 99.99, Layers: []float64{99.99, 99.95, 99.9}, LayersChosen: true}
		}, "percentile 99.99,99.95,99.9 (per layer) on"},
		{func(r *pipeline.Result) { r.PreNormalized = true }, "weights normalized by quartz finetune (every scale 1, no percentile)"},
	} {
		res := fixedResult()
		tc.edit(res)
		for name, write := range map[string]func(*bytes.Buffer, *pipeline.Result) error{
			"text":     func(b *bytes.Buffer, r *pipeline.Result) error { return report.Text(b, r) },
			"markdown": func(b *bytes.Buffer, r *pipeline.Result) error { return report.Markdown(b, r) },
		} {
			var b bytes.Buffer
			if err := write(&b, res); err != nil {
				t.Fatal(err)
			}
			if head := b.String()[:min(b.Len(), 400)]; !strings.Contains(head, tc.want) {
				t.Errorf("%s header lacks %q:\n%s", name, tc.want, head)
			}
		}
	}
}

func TestTable1Golden(t *testing.T) {
	var b bytes.Buffer
	if err := report.Table1(&b, fixedResult()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "table1.golden", b.String())
	if !strings.Contains(b.String(), "0.75") || !strings.Contains(b.String(), "177k") {
		t.Errorf("Table1 lacks the paper's MNIST row:\n%s", b.String())
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteError checks that a failing writer's error comes back.
func TestWriteError(t *testing.T) {
	for _, n := range []int{0, 10, 300} {
		if err := report.Text(&failWriter{n: n}, fixedResult()); !errors.Is(err, errFull) {
			t.Errorf("Text with a writer failing after %d bytes: %v, want %v", n, err, errFull)
		}
		if err := report.Table1(&failWriter{n: n}, fixedResult()); !errors.Is(err, errFull) {
			t.Errorf("Table1 with a writer failing after %d bytes: %v, want %v", n, err, errFull)
		}
	}
}

// TestPaperEnergyRow: the paper's Loihi energy row (measured on MNIST) is
// printed beside MNIST runs only, never beside another data set's.
func TestPaperEnergyRow(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{{"mnist/test", true}, {"cifar10/test", false}, {"folder/test", false}} {
		res := fixedResult()
		res.Data = tc.data
		res.Energy = map[string]energy.Estimate{"loihi": {Profile: "loihi", Unit: "J", Dynamic: 1e-5, Total: 1e-5}}
		var b bytes.Buffer
		if err := report.Text(&b, res); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "paper, Loihi MNIST"); got != tc.want {
			t.Errorf("%s: paper's Loihi row shown = %v, want %v", tc.data, got, tc.want)
		}
	}
}
