package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/pipeline"
)

func TestWriteMarkdown(t *testing.T) {
	acc := 99.0
	res := &pipeline.Result{Model: "m.onnx", Data: "mnist/test", Samples: 10, Tmax: 16, Percentile: 99, ANNAccuracy: &acc, SNNAccuracy: 98,
		Layers: []pipeline.LayerResult{{Name: "fc", Kind: "Linear", Shape: []int{10}, Neurons: 10, T: 16}}}
	path := filepath.Join(t.TempDir(), "report.md")
	if err := writeMarkdown(path, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Quartz evaluation: m.onnx on mnist/test", "| accuracy | 99.00 % | 98.00 % (drop 1.00 pp) |", "| fc | Linear | 10 |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
	if err := writeMarkdown(filepath.Join(t.TempDir(), "no", "such", "dir.md"), res); err == nil {
		t.Error("unwritable path: want an error")
	}
}
