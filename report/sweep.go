package report

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/sweep"
)

// SweepText writes a sweep's summary: one row per point in the columns of
// the paper's Table 1 (plus ties and early spikes), the best point marked
// with *, the grid of SNN errors, and the best point beside the paper's
// MNIST row.
func SweepText(w io.Writer, s *sweep.Results) error {
	ew := &errWriter{w: w}
	ew.printf("sweep %s on %s: %d samples, %d points (%d Tmax × %d percentiles)\n", s.Model, s.Data, s.Samples,
		len(s.Points), len(s.Tmax), len(s.Percentiles))
	if len(s.Points) == 0 {
		return ew.err
	}
	p0 := s.Points[0]
	if p0.ANNAccuracy != nil {
		ew.printf("ANN error %.2f %%, %d MACs per sample\n", 100-*p0.ANNAccuracy, p0.ANNMACs)
	}
	ew.printf("\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tTmax\tpercentile\tSNN error %\tdrop pp\tties %\tearly %\tneurons\tspikes\ttime steps\tΩ\t")
	for i, r := range s.Points {
		mark := ""
		if i == s.Best {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%d\t%g\t%.2f\t%s\t%.2f\t%.3f\t%s\t%s\t%.1f\t%s\t\n", mark, r.Tmax, r.Percentile, 100-r.SNNAccuracy,
			drop(r), r.TieRate, r.EarlySpikePct, si(float64(r.Neurons)), si(r.Spikes), r.FirstSpike, si(r.Omega))
	}
	tw.Flush()
	ew.printf("time steps: mean step of the first output spike; Ω = σ + 2νT with σ = current updates.\n")

	ew.printf("\nSNN error %% (rows Tmax, columns percentile):\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "Tmax\t")
	for _, p := range s.Percentiles {
		fmt.Fprintf(tw, "%g\t", p)
	}
	fmt.Fprintln(tw)
	grid := Grid(s)
	for i, t := range s.Tmax {
		fmt.Fprintf(tw, "%d\t", t)
		for j := range s.Percentiles {
			if r := grid[i][j]; r != nil {
				fmt.Fprintf(tw, "%.2f\t", 100-r.SNNAccuracy)
			} else {
				fmt.Fprint(tw, "—\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	b := s.Points[s.Best]
	ew.printf("\nbest point: Tmax %d, percentile %g (highest SNN accuracy; ties: fewest Ω)\n", b.Tmax, b.Percentile)
	if ew.err != nil {
		return ew.err
	}
	return Table1(w, b)
}

// Grid arranges a sweep's points as [Tmax index][percentile index]; a
// missing point is nil.
func Grid(s *sweep.Results) [][]*pipeline.Result {
	ti := map[int]int{}
	for i, t := range s.Tmax {
		ti[t] = i
	}
	pi := map[float64]int{}
	for j, p := range s.Percentiles {
		pi[p] = j
	}
	g := make([][]*pipeline.Result, len(s.Tmax))
	for i := range g {
		g[i] = make([]*pipeline.Result, len(s.Percentiles))
	}
	for _, r := range s.Points {
		i, ok1 := ti[r.Tmax]
		j, ok2 := pi[r.Percentile]
		if ok1 && ok2 {
			g[i][j] = r
		}
	}
	return g
}

func drop(r *pipeline.Result) string {
	if r.ANNAccuracy == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f", *r.ANNAccuracy-r.SNNAccuracy)
}
