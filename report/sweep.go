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
// with *, the grid of SNN errors, the best point beside the paper's MNIST
// row and, when the sweep ran it, the rate-coded baseline of every
// percentile beside Quartz's best point at that percentile.
func SweepText(w io.Writer, s *sweep.Results) error {
	return sweepText(w, s)
}

// BestRule says how and on which samples a sweep chose its best point.
func BestRule(s *sweep.Results) string {
	if s.SelectOn == sweep.SelectVal && s.Validation != nil && len(s.Validation.Accuracy) == len(s.Points) {
		v := s.Validation
		return fmt.Sprintf("highest SNN accuracy on a validation slice, %d %s images outside the calibration draw: %.2f %% there; ties: fewest Ω",
			v.Samples, v.Data, v.Accuracy[s.Best])
	}
	return "highest SNN accuracy on the test set; ties: fewest Ω"
}

func sweepText(w io.Writer, s *sweep.Results) error {
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
	ew.printf("\nbest point: Tmax %d, percentile %g (%s)\n", b.Tmax, b.Percentile, BestRule(s))
	if s.SelectOn != sweep.SelectVal {
		ew.printf("caveat: chosen on the test set it reports, so its test error is biased low; --select-on val chooses on held-out training images\n")
	}
	if ew.err != nil {
		return ew.err
	}
	if err := Table1(w, b); err != nil {
		return err
	}
	rows := RateRows(s)
	if len(rows) == 0 {
		return nil
	}
	ew.printf("\nrate coding beside Quartz, per percentile (rate: N = %d steps, at its most accurate checkpoint;\n", rows[0].Rate.Steps)
	ew.printf("Quartz: the best Tmax at that percentile; same normalized network and samples):\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "percentile\tcoding\tsteps\terror %%\terror %% at N\tspikes\tσ\tΩ\tspikes ×\tσ ×\tΩ ×\t\n")
	for _, r := range rows {
		q, c := r.Quartz, r.Best
		fmt.Fprintf(tw, "%g\tQuartz, Tmax %d\t%.0f\t%.2f\t\t%s\t%s\t%s\t\n", r.Percentile, q.Tmax, q.Steps,
			100-q.SNNAccuracy, si(q.Spikes), si(q.SynapticEvents), si(q.OmegaEvents))
		fmt.Fprintf(tw, "%g\trate\t%d\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Percentile, c.Steps, 100-c.Accuracy,
			100-r.Last.Accuracy, si(c.Spikes), si(c.SynapticEvents), si(c.OmegaEq),
			ratio(c.Spikes, q.Spikes), ratio(c.SynapticEvents, q.SynapticEvents), ratio(c.OmegaEq, q.OmegaEvents))
	}
	tw.Flush()
	ew.printf("steps: per sample; spikes: of IF neurons (max-pool relays apart); σ: synaptic events;\n")
	ew.printf("Ω: σ + 2νT for Quartz, σ + ν·steps for rate; ×: rate / Quartz. Every checkpoint: rate.csv.\n")
	return ew.err
}

// RateRow is one percentile's rate-coded baseline beside Quartz.
type RateRow struct {
	Percentile float64
	Rate       *pipeline.RateResult
	// Best is the rate baseline's most accurate checkpoint (ties: fewest
	// steps, sweep.BestCheckpoint), Last the one at N.
	Best, Last pipeline.RateCheckpoint
	// Quartz is the best point at this percentile (sweep.Best over its
	// Tmax values); nil when the sweep holds none.
	Quartz *pipeline.Result
}

// RateRows pairs every rate baseline of a sweep with Quartz's best point at
// its percentile, in the order of the percentiles; nil when the sweep has no
// rate baseline or no point of its percentile.
func RateRows(s *sweep.Results) []RateRow {
	var rows []RateRow
	for _, rr := range s.Rate {
		if rr == nil || len(rr.Checkpoints) == 0 {
			continue
		}
		var at []*pipeline.Result
		for _, r := range s.Points {
			if r != nil && r.Percentile == rr.Percentile {
				at = append(at, r)
			}
		}
		b := sweep.Best(at)
		if b < 0 {
			continue
		}
		rows = append(rows, RateRow{Percentile: rr.Percentile, Rate: rr, Best: rr.Checkpoints[sweep.BestCheckpoint(rr)],
			Last: rr.Checkpoints[len(rr.Checkpoints)-1], Quartz: at[b]})
	}
	return rows
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
