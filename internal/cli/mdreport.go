package cli

import (
	"bytes"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"os"
	"path/filepath"
	"sort"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/plot"
	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/sweep"
)

// writeMarkdown writes res as a Markdown report to path, atomically
// (quartz eval --report md).
func writeMarkdown(path string, res *pipeline.Result) error {
	var b bytes.Buffer
	if err := report.Markdown(&b, res); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes())
}

// writeSweepMarkdown writes DIR/report.md, linking the figures that
// quartz plot wrote under DIR/plots, and returns its name.
func writeSweepMarkdown(dir string, res *sweep.Results) (string, error) {
	var b bytes.Buffer
	if err := report.MarkdownSweep(&b, res, sweepFigures(dir)); err != nil {
		return "", err
	}
	name := filepath.Join(dir, "report.md")
	return name, atomicfile.Write(name, b.Bytes())
}

// sweepFigures lists the PNG figures under DIR/plots, in the order of
// plot.Names, with paths relative to DIR.
func sweepFigures(dir string) []report.Figure {
	files, _ := filepath.Glob(filepath.Join(dir, plotsDir, "*.png"))
	rank := map[string]int{}
	for i, n := range plot.Names {
		rank[n] = i + 1
	}
	stem := func(f string) string { b := filepath.Base(f); return b[:len(b)-len(".png")] }
	sort.SliceStable(files, func(i, j int) bool {
		ri, rj := rank[stem(files[i])], rank[stem(files[j])]
		if ri == 0 || rj == 0 {
			return ri != 0 // known figures first
		}
		return ri < rj
	})
	var figs []report.Figure
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			continue
		}
		figs = append(figs, report.Figure{Title: plot.Title(stem(f)), Path: filepath.ToSlash(filepath.Join(plotsDir, filepath.Base(f)))})
	}
	return figs
}
