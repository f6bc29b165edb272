package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

// TestEvalResidualONNX: quartz eval and convert run a ResNet-shaped ONNX
// file (ResNet-20 of width 0.25 with BatchNorm, random weights, identity
// and projection shortcuts): the Adds become Sum layers with delays; the
// hardware emulation runs it and quartz map places it on cores; the
// rate-coded baseline refuses the branching network with one line naming
// the layer or node.
func TestEvalResidualONNX(t *testing.T) {
	dir := t.TempDir()
	m, err := nn.Zoo("resnet20", []int{1, 28, 28}, 10, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	nn.Init(m, 1)
	om, err := onnx.FromGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	path := writeONNX(t, dir, "resnet20.onnx", om)
	data := randomMNISTDir(t, 40, 20)
	r := run(t, "eval", "--model", path, "--data-dir", data, "--calib", "40", "--workers", "1", "--tmax", "8")
	if r.code != 0 || !strings.Contains(r.stdout, "_add") {
		t.Fatalf("eval: want exit 0 and the Sum layers in the table\n%v", r)
	}
	r = run(t, "eval", "--model", path, "--data-dir", data, "--calib", "40", "--workers", "1", "--tmax", "8", "--json")
	if r.code != 0 {
		t.Fatalf("eval --json: %v", r)
	}
	b := []byte(r.stdout)
	var res struct {
		Layers []struct {
			Kind            string  `json:"kind"`
			DelayedSynapses float64 `json:"delayed_synapses"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	sums, delayed := 0, 0
	for _, l := range res.Layers {
		if l.Kind == "Sum" {
			sums++
		}
		if l.DelayedSynapses > 0 {
			delayed++
		}
	}
	if sums != 9 || delayed == 0 {
		t.Errorf("eval JSON: %d Sum layers, %d with delayed synapses; want 9 and some", sums, delayed)
	}
	out := filepath.Join(dir, "resnet20.snn.json")
	if r := run(t, "convert", "--model", path, "--data-dir", data, "--calib", "40", "--workers", "1", "--tmax", "8", "-o", out); r.code != 0 {
		t.Fatalf("convert: %v", r)
	}
	// The written network (input groups and delays in JSON) evaluates.
	if r := run(t, "eval", "--snn", out, "--data-dir", data, "--workers", "1"); r.code != 0 || !strings.Contains(r.stdout, "_add") {
		t.Errorf("eval --snn: %v", r)
	}
	// The refusal is the one error line; notes (calibration cache, chosen
	// percentile) may come before it.
	errLines := func(r result) int { return strings.Count(r.stderr, "\n") - strings.Count(r.stderr, "note: ") }
	r = run(t, "eval", "--snn", out, "--data-dir", data, "--workers", "1", "--hw", "loihi2")
	if r.code != 0 || !strings.Contains(r.stdout, "Fixed-point emulation on loihi2") || !strings.Contains(r.stdout, "_add") {
		t.Errorf("eval --hw loihi2: want exit 0 and the emulation table with the Sum layers\n%v", r)
	}
	r = run(t, "map", "--snn", out, "--hw", "loihi1")
	if r.code != 0 || !strings.Contains(r.stdout, "Core map on loihi1") || !strings.Contains(r.stdout, "_add") {
		t.Errorf("map --snn: want exit 0 and a plan with the Sum layers\n%v", r)
	}
	r = run(t, "eval", "--model", path, "--data-dir", data, "--calib", "40", "--workers", "1", "--tmax", "8", "--coding", "rate")
	if r.code != 1 || !strings.Contains(r.stderr, "branching networks are not supported yet") || errLines(r) != 1 {
		t.Errorf("eval --coding rate: want exit 1 and one line saying branching networks are not supported yet\n%v", r)
	}
}
