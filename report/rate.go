package report

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/quartz-snn/quartz/energy"
	"github.com/quartz-snn/quartz/pipeline"
)

// Energy writes the energy estimates per image, one row per profile, with
// the paper's Loihi measurement (Table 3) below for reference.
func Energy(w io.Writer, est map[string]energy.Estimate) error {
	ew := &errWriter{w: w}
	writeEnergy(ew, est, true)
	return ew.err
}

func writeEnergy(ew *errWriter, est map[string]energy.Estimate, paper bool) {
	ew.printf("energy per image (dynamic: arithmetic and spikes; static: powered cores × latency):\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "profile\tSNN dynamic\tstatic\ttotal\tlatency\tEDP\tANN dynamic\tANN/SNN\tassumptions")
	for _, name := range sortedKeys(est) {
		e := est[name]
		static, lat, edp, ann, ratio := "—", "—", "—", "—", "—"
		if e.Static > 0 {
			static = unit(e.Static, e.Unit)
		}
		if e.LatencyS > 0 {
			lat = fmt.Sprintf("%.3g ms", e.LatencyS*1e3)
			edp = fmt.Sprintf("%.3g µJ·s", e.EDP*1e6)
		}
		if e.ANNDynamic > 0 {
			ann = unit(e.ANNDynamic, e.Unit)
			ratio = fmt.Sprintf("%.1f×", e.Ratio())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, unit(e.Dynamic, e.Unit), static, unit(e.Total, e.Unit),
			lat, edp, ann, ratio, e.Params)
	}
	tw.Flush()
	if paper {
		ew.printf("paper, Loihi MNIST (Table 3, Tmax 16, 91 steps): cores %.1f µJ dynamic + %.1f µJ static in %.2f ms; %.2f µJ with x86; EDP %.1f µJ·s\n",
			energy.PaperDynamicCoresW*energy.PaperLatencyS*1e6, energy.PaperStaticCoresW*energy.PaperLatencyS*1e6,
			energy.PaperLatencyS*1e3, energy.PaperEnergyJ*1e6, energy.PaperEDPJs*1e6)
	}
}

// Rate writes the rate-coded baseline: accuracy and costs at every
// checkpoint, and, when q is not nil, Quartz's costs beside it.
func Rate(w io.Writer, rr *pipeline.RateResult, q *pipeline.Result) error {
	ew := &errWriter{w: w}
	writeRate(ew, rr, q)
	return ew.err
}

func writeRate(ew *errWriter, rr *pipeline.RateResult, q *pipeline.Result) {
	p := ew.printf
	p("rate-coded baseline (IF neurons, reset by subtraction, analog input current, max-pool by spike-count gating),\n")
	p("same normalized network (percentile %g), %d samples, %d steps; class = largest output potential:\n", rr.Percentile, rr.Samples, rr.Steps)
	ann := "—"
	if rr.ANN != nil {
		ann = fmt.Sprintf("%.2f %%", *rr.ANN)
	}
	p("ANN accuracy %s; ν = %d IF neurons (+%d max-pool gates); first layer's current: %d MACs per sample\n",
		ann, rr.Neurons, rr.RelayNeurons, rr.AnalogMACs)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "steps\taccuracy\tby count (ties)\tspikes\trelayed\tσ\tν·steps\tΩ-eq\tloihi total\t")
	for _, c := range rr.Checkpoints {
		loihi := "—"
		if e, ok := c.Energy["loihi"]; ok {
			loihi = unit(e.Total, e.Unit)
		}
		fmt.Fprintf(tw, "%d\t%.2f %%\t%.2f %% (%.2f %%)\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Steps, c.Accuracy, c.CountAccuracy, c.CountTieRate,
			si(c.Spikes), si(c.RelaySpikes), si(c.SynapticEvents), si(c.NeuronUpdates), si(c.OmegaEq), loihi)
	}
	tw.Flush()
	if rr.MatchSteps != nil {
		p("within %.1f pp of the ANN from %d steps\n", pipeline.MatchPP, *rr.MatchSteps)
	} else if rr.ANN != nil {
		p("not within %.1f pp of the ANN at any checkpoint\n", pipeline.MatchPP)
	}
	if q != nil && len(rr.Checkpoints) > 0 {
		c := rr.Checkpoints[len(rr.Checkpoints)-1]
		if rr.MatchSteps != nil {
			for _, m := range rr.Checkpoints {
				if m.Steps == *rr.MatchSteps {
					c = m
				}
			}
		}
		p("\nQuartz (Tmax %d) vs rate coding at %d steps, per image:\n", q.Tmax, c.Steps)
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tQuartz\trate\trate/Quartz\t")
		row := func(name string, a, b float64, f func(float64) string) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, f(a), f(b), ratio(b, a))
		}
		pct := func(v float64) string { return fmt.Sprintf("%.2f %%", v) }
		row("accuracy", q.SNNAccuracy, c.Accuracy, pct)
		row("spikes (+relayed)", q.Spikes+q.RelaySpikes, c.Spikes+c.RelaySpikes, si)
		row("synaptic events σ", q.SynapticEvents, c.SynapticEvents, si)
		row("neuron updates", q.OmegaEvents-q.SynapticEvents, c.NeuronUpdates, si)
		row("Ω (σ = events)", q.OmegaEvents, c.OmegaEq, si)
		row("time steps", q.Steps, float64(c.Steps), func(v float64) string { return fmt.Sprintf("%.0f", v) })
		for _, name := range sortedKeys(q.Energy) {
			if e, ok := c.Energy[name]; ok {
				qe := q.Energy[name]
				row(name+" total", qe.Total, e.Total, func(v float64) string { return unit(v, e.Unit) })
			}
		}
		tw.Flush()
	}
	for _, wmsg := range rr.Warnings {
		p("warning: %s\n", wmsg)
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3g×", a/b)
}

func sortedKeys(m map[string]energy.Estimate) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unit formats an energy: joules with an SI prefix, or bit-op units with
// k/M/G.
func unit(v float64, u string) string {
	if u != "J" {
		return si(v) + " " + u
	}
	switch {
	case v == 0:
		return "0 J"
	case v < 1e-9:
		return fmt.Sprintf("%.3g pJ", v*1e12)
	case v < 1e-6:
		return fmt.Sprintf("%.3g nJ", v*1e9)
	case v < 1e-3:
		return fmt.Sprintf("%.3g µJ", v*1e6)
	case v < 1:
		return fmt.Sprintf("%.3g mJ", v*1e3)
	}
	return fmt.Sprintf("%.3g J", v)
}
