package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/sweep"
)

// checkGolden and -update are report_test.go's.

// fixed reads the made-up sweep that package sweep's tests write
// (sweep/testdata/results.json.golden).
func fixed(t *testing.T) *sweep.Results {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "sweep", "testdata", "results.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var s sweep.Results
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestMarkdownGolden(t *testing.T) {
	s := fixed(t)
	var b bytes.Buffer
	res := s.Points[s.Best]
	res.Warnings = []string{"conv1: 1.00 % of activations above 1 | after normalization"}
	if err := report.Markdown(&b, res); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "eval.md.golden", b.String())
	if !strings.Contains(b.String(), `above 1 \| after`) {
		t.Error("a pipe in a warning is not escaped")
	}
}

func TestMarkdownSweepGolden(t *testing.T) {
	s := fixed(t)
	var b bytes.Buffer
	figs := []report.Figure{{Title: "Figure 2: error vs Tmax", Path: "plots/fig2_error_vs_tmax.png"}}
	if err := report.MarkdownSweep(&b, s, figs); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sweep.md.golden", b.String())
}

func TestSweepTextGolden(t *testing.T) {
	s := fixed(t)
	var b bytes.Buffer
	if err := report.SweepText(&b, s); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sweep.txt.golden", b.String())
}
