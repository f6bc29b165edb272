package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/sweep"
)

// Markdown writes one evaluation as a Markdown report: the ANN vs SNN
// summary table and the per-layer table, ready to paste into an appendix.
func Markdown(w io.Writer, res *pipeline.Result) error {
	ew := &errWriter{w: w}
	p := ew.printf
	p("# Quartz evaluation: %s on %s\n\n", mdEscape(res.Model), mdEscape(res.Data))
	if res.PreNormalized {
		p("%d samples; Tmax %s, threshold %s, weights normalized by quartz finetune (every scale 1, no percentile)", res.Samples,
			tmaxString(res), res.Threshold)
	} else {
		p("%d samples; Tmax %s, threshold %s, normalization percentile %s on %d calibration samples", res.Samples,
			tmaxString(res), res.Threshold, percentileOf(res), res.CalibSize)
	}
	if res.Analog {
		p("; analog first layer")
	}
	p(".\n\n## Summary\n\n")
	mdSummary(ew, res)
	p("\n## Per layer\n\nMeans per sample; σ includes the bias, readout and rectifier synapses.\n\n")
	mdLayers(ew, res)
	if len(res.Warnings) > 0 {
		p("\n## Warnings\n\n")
		for _, w := range res.Warnings {
			p("- %s\n", mdEscape(w))
		}
	}
	return ew.err
}

func tmaxString(res *pipeline.Result) string {
	if len(res.TmaxLayers) > 0 {
		return strings.Trim(strings.ReplaceAll(fmt.Sprint(res.TmaxLayers), " ", ","), "[]") + " (per layer)"
	}
	return fmt.Sprint(res.Tmax)
}

func mdSummary(ew *errWriter, res *pipeline.Result) {
	p := ew.printf
	ann, annErr, drop := "—", "—", ""
	if res.ANNAccuracy != nil {
		ann = fmt.Sprintf("%.2f %%", *res.ANNAccuracy)
		annErr = fmt.Sprintf("%.2f %%", 100-*res.ANNAccuracy)
		drop = fmt.Sprintf(" (drop %.2f pp)", *res.ANNAccuracy-res.SNNAccuracy)
	}
	p("| metric | ANN | SNN (Quartz) |\n| --- | ---: | ---: |\n")
	p("| accuracy | %s | %.2f %%%s |\n", ann, res.SNNAccuracy, drop)
	p("| error | %s | %.2f %% |\n", annErr, 100-res.SNNAccuracy)
	p("| ties / no class | | %.2f %% / %.2f %% |\n", res.TieRate, res.NoClassRate)
	p("| neurons | | %d (+%d relay) |\n", res.Neurons, res.RelayNeurons)
	p("| spikes | | %.0f (+%.0f relayed) |\n", res.Spikes, res.RelaySpikes)
	p("| operations | %d MACs | σ = %.0f synaptic events, %.0f current updates |\n", res.ANNMACs, res.SynapticEvents, res.CurrentUpdates)
	p("| Ω = σ + 2νT | | %.0f (σ = current updates), %.0f (σ = events) |\n", res.Omega, res.OmegaEvents)
	p("| early spikes | | %.3f %% of hidden neurons |\n", res.EarlySpikePct)
	p("| latency | | first output spike at step %.1f, %.1f steps per sample |\n", res.FirstSpike, res.Steps)
	profiles := make([]string, 0, len(res.Energy))
	for k := range res.Energy {
		profiles = append(profiles, k)
	}
	sort.Strings(profiles)
	for _, k := range profiles {
		e := res.Energy[k]
		ann := ""
		if e.ANNDynamic > 0 {
			ann = energyString(e.ANNDynamic, e.Unit)
		}
		p("| dynamic energy, %s | %s | %s |\n", k, ann, energyString(e.Dynamic, e.Unit))
	}
}

// energyString writes an energy per image in its unit ("J" with an SI
// prefix, or bit-op units with a k/M/G suffix).
func energyString(v float64, unit string) string {
	if unit != "J" {
		return si(v) + " " + unit
	}
	for _, u := range []struct {
		f float64
		s string
	}{{1, "J"}, {1e-3, "mJ"}, {1e-6, "µJ"}, {1e-9, "nJ"}, {1e-12, "pJ"}} {
		if v >= u.f {
			return fmt.Sprintf("%.3g %s", v/u.f, u.s)
		}
	}
	return fmt.Sprintf("%.3g J", v)
}

func mdLayers(ew *errWriter, res *pipeline.Result) {
	p := ew.printf
	p("| layer | kind | shape | neurons | T | P_l | > 1 %% | spikes | σ | current updates | early %% | MACs |\n")
	p("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, l := range res.Layers {
		t, scale, above := "", "", ""
		if l.T > 0 {
			t = fmt.Sprint(l.T)
		}
		if l.Scale > 0 {
			scale = fmt.Sprintf("%.3g", l.Scale)
			above = fmt.Sprintf("%.3f", 100*l.AboveOne)
		}
		p("| %s | %s | %s | %d | %s | %s | %s | %.0f | %.0f | %.0f | %.3f | %d |\n", mdEscape(l.Name), l.Kind, shape(l.Shape),
			l.Neurons, t, scale, above, l.Spikes, l.SynapticEvents, l.CurrentUpdates, l.EarlyPct, l.MACs)
	}
}

// Figure is a picture that a Markdown report links: its title and its
// path relative to the report.
type Figure struct {
	Title, Path string
}

// MarkdownSweep writes a sweep as a Markdown report: the best point (Table 1
// columns and its full summary), the grid of SNN errors, every point, and
// the figures given (those quartz plot wrote; none is fine).
func MarkdownSweep(w io.Writer, s *sweep.Results, figs []Figure) error {
	ew := &errWriter{w: w}
	p := ew.printf
	p("# Quartz sweep: %s on %s\n\n", mdEscape(s.Model), mdEscape(s.Data))
	p("%d samples; %d points: Tmax %s × percentile %s.", s.Samples, len(s.Points), joinInts(s.Tmax), joinFloats(s.Percentiles))
	if len(s.Rate) > 0 {
		p(" Rate-coded baseline: %d steps, once per percentile.", s.Rate[0].Steps)
	}
	if len(s.Points) == 0 {
		p("\n")
		return ew.err
	}
	if a := s.Points[0].ANNAccuracy; a != nil {
		p(" ANN error %.2f %%, %d MACs per sample.", 100-*a, s.Points[0].ANNMACs)
	}
	b := s.Points[s.Best]
	p("\n\n## Best point\n\nTmax %d, percentile %g: the %s.\n\n", b.Tmax, b.Percentile, BestRule(s))
	if s.SelectOn != sweep.SelectVal {
		p("Caveat: chosen on the test set it reports, so its test error is biased low; `--select-on val` chooses on held-out training images.\n\n")
	}
	p("| | ANN error | SNN error | neurons | spikes | time steps | Ω |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	p("| this sweep, best | %s | %.2f | %s | %s | %.0f | %s |\n", strings.TrimSuffix(errString(b.ANNAccuracy), " %"),
		100-b.SNNAccuracy, si(float64(b.Neurons)), si(b.Spikes), b.FirstSpike, si(b.Omega))
	for _, r := range PaperRows(b.Data) {
		p("| paper, %s | %s | %s | %s | %s | %s | %s |\n", r.Name, r.ANNError, r.SNNError, r.Neurons, r.Spikes, r.Steps, r.Ops)
	}
	p("\n")
	p("Errors in %%; time steps: mean step of the first output spike; Ω = σ + 2νT with σ = current updates.\n\n")
	mdSummary(ew, b)
	p("\n### Per layer at the best point\n\n")
	mdLayers(ew, b)

	p("\n## SNN error (%%) over the grid\n\n| Tmax |")
	for _, pc := range s.Percentiles {
		p(" p = %g |", pc)
	}
	p("\n| ---: |%s\n", strings.Repeat(" ---: |", len(s.Percentiles)))
	for i, row := range Grid(s) {
		p("| %d |", s.Tmax[i])
		for _, r := range row {
			if r == nil {
				p(" — |")
			} else {
				p(" %.2f |", 100-r.SNNAccuracy)
			}
		}
		p("\n")
	}

	if rows := RateRows(s); len(rows) > 0 {
		mdRate(ew, rows)
	}

	p("\n## All points\n\n")
	p("| Tmax | percentile | SNN acc. %% | drop pp | ties %% | early %% | spikes | σ (events) | current updates | Ω | first spike | steps |\n")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, r := range s.Points {
		mark := ""
		if i == s.Best {
			mark = " **best**"
		}
		p("| %d | %g%s | %.2f | %s | %.2f | %.3f | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f |\n", r.Tmax, r.Percentile, mark,
			r.SNNAccuracy, drop(r), r.TieRate, r.EarlySpikePct, r.Spikes, r.SynapticEvents, r.CurrentUpdates, r.Omega, r.FirstSpike, r.Steps)
	}
	if len(figs) > 0 {
		p("\n## Figures\n")
		for _, f := range figs {
			p("\n### %s\n\n![%s](%s)\n", mdEscape(f.Title), mdEscape(f.Title), f.Path)
		}
	}
	return ew.err
}

// mdRate writes the rate-coded baseline beside Quartz, and its every
// checkpoint.
func mdRate(ew *errWriter, rows []RateRow) {
	p := ew.printf
	n := rows[0].Rate.Steps
	p("\n## Rate coding beside Quartz\n\n")
	p("The rate-coded baseline (IF neurons, reset by subtraction, analog input current) on the same normalized network and samples, ")
	p("run for N = %d steps once per percentile, at its most accurate checkpoint; Quartz at the best Tmax of that percentile.\n\n", n)
	p("| percentile | coding | steps | error %% | error %% at N | spikes | σ | Ω | spikes × | σ × | Ω × |\n")
	p("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		q, c := r.Quartz, r.Best
		p("| %g | Quartz, Tmax %d | %.0f | %.2f | | %.0f | %.0f | %.0f | | | |\n", r.Percentile, q.Tmax, q.Steps, 100-q.SNNAccuracy,
			q.Spikes, q.SynapticEvents, q.OmegaEvents)
		p("| %g | rate | %d | %.2f | %.2f | %.0f | %.0f | %.0f | %s | %s | %s |\n", r.Percentile, c.Steps, 100-c.Accuracy, 100-r.Last.Accuracy,
			c.Spikes, c.SynapticEvents, c.OmegaEq, ratio(c.Spikes, q.Spikes), ratio(c.SynapticEvents, q.SynapticEvents), ratio(c.OmegaEq, q.OmegaEvents))
	}
	p("\nSteps per sample; spikes of IF neurons (max-pool relays apart); σ = synaptic events; ")
	p("Ω = σ + 2νT for Quartz, σ + ν·steps for rate coding; × = rate / Quartz.\n")
	p("\n### Rate-coded baseline at every checkpoint\n\n")
	p("| percentile | steps | accuracy %% | by count %% (ties %%) | spikes | relayed | σ | ν·steps | Ω-eq |\n")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		for _, c := range r.Rate.Checkpoints {
			mark := ""
			if c.Steps == r.Best.Steps {
				mark = " **best**"
			}
			p("| %g | %d%s | %.2f | %.2f (%.2f) | %.0f | %.0f | %.0f | %.0f | %.0f |\n", r.Percentile, c.Steps, mark, c.Accuracy,
				c.CountAccuracy, c.CountTieRate, c.Spikes, c.RelaySpikes, c.SynapticEvents, c.NeuronUpdates, c.OmegaEq)
		}
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// mdEscape keeps table cells and headings intact: pipes and newlines.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
