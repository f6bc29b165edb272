package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/quartz-snn/quartz/pipeline"
)

// Text writes res as a readable report.
func Text(w io.Writer, res *pipeline.Result) error {
	ew := &errWriter{w: w}
	p := ew.printf
	tmax := fmt.Sprint(res.Tmax)
	if len(res.TmaxLayers) > 0 {
		tmax = strings.Trim(strings.ReplaceAll(fmt.Sprint(res.TmaxLayers), " ", ","), "[]") + " (per layer)"
	}
	p("model %s on %s: %d samples\n", res.Model, res.Data, res.Samples)
	if res.PreNormalized {
		p("Tmax %s, threshold %s, weights normalized by quartz finetune (every scale 1, no percentile)", tmax, res.Threshold)
	} else {
		p("Tmax %s, threshold %s, percentile %s on %d calibration samples", tmax, res.Threshold, percentileOf(res), res.CalibSize)
	}
	if res.Analog {
		p(", analog first layer")
	}
	p("\n\n")

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\tANN\tSNN (Quartz)\n")
	ann := "—"
	drop := ""
	if res.ANNAccuracy != nil {
		ann = fmt.Sprintf("%.2f %%", *res.ANNAccuracy)
		drop = fmt.Sprintf("  (drop %.2f pp)", *res.ANNAccuracy-res.SNNAccuracy)
		if res.Agreement != nil {
			drop = fmt.Sprintf("  (drop %.2f pp; same class as the ANN on %.2f %%)", *res.ANNAccuracy-res.SNNAccuracy, *res.Agreement)
		}
	}
	fmt.Fprintf(tw, "accuracy\t%s\t%.2f %%%s\n", ann, res.SNNAccuracy, drop)
	fmt.Fprintf(tw, "error\t%s\t%.2f %%\n", errString(res.ANNAccuracy), 100-res.SNNAccuracy)
	if st := res.Stats; st != nil {
		// In the last column, so that the table keeps its width.
		ci := "SNN " + interval(st.SNNAccuracyCI, " %")
		if st.ANNAccuracyCI != nil {
			ci = "ANN " + interval(*st.ANNAccuracyCI, " %") + ", " + ci
		}
		if pr := st.Paired; pr != nil {
			ci += ", drop " + interval(pr.DropCI, " pp") + " (Newcombe)"
		}
		fmt.Fprintf(tw, "95 %% intervals\t\t%s\n", ci)
		if pr := st.Paired; pr != nil {
			fmt.Fprintf(tw, "McNemar (exact)\t\tp = %.3g; right by the ANN only %d, by the SNN only %d\n", pr.McNemarP, pr.ANNOnly, pr.SNNOnly)
		}
	}
	fmt.Fprintf(tw, "ties / no class\t\t%.2f %% / %.2f %%\n", res.TieRate, res.NoClassRate)
	fmt.Fprintf(tw, "neurons\t\t%d (+%d relay)\n", res.Neurons, res.RelayNeurons)
	fmt.Fprintf(tw, "spikes\t\t%.0f (+%.0f relayed)\n", res.Spikes, res.RelaySpikes)
	fmt.Fprintf(tw, "operations\t%s\tσ %.0f synaptic events, %.0f current updates\n", annOr(res, fmt.Sprintf("%d MACs", res.ANNMACs)), res.SynapticEvents, res.CurrentUpdates)
	fmt.Fprintf(tw, "Ω = σ + 2νT\t\t%.0f (σ = current updates), %.0f (σ = events)\n", res.Omega, res.OmegaEvents)
	fmt.Fprintf(tw, "early spikes\t\t%.3f %% of hidden neurons\n", res.EarlySpikePct)
	fmt.Fprintf(tw, "latency\t\tfirst output spike at step %.1f, %.1f steps per sample\n", res.FirstSpike, res.Steps)
	fmt.Fprintf(tw, "wall time\t%s\t%.2f s\n", annOr(res, fmt.Sprintf("%.2f s", res.SecondsANN)), res.SecondsSNN)
	tw.Flush()

	p("\nper layer (means per sample; σ includes bias, readout and rectifier synapses):\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tkind\tshape\tneurons\tT\tP_l\t>1 %\tspikes\tσ\tcurrent upd.\tearly %\tMACs\t")
	for _, l := range res.Layers {
		t, scale, above := "", "", ""
		if l.T > 0 {
			t = fmt.Sprint(l.T)
		}
		if l.Scale > 0 {
			scale = fmt.Sprintf("%.3g", l.Scale)
			above = fmt.Sprintf("%.3f", 100*l.AboveOne)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.3f\t%d\t\n", l.Name, l.Kind, shape(l.Shape), l.Neurons,
			t, scale, above, l.Spikes, l.SynapticEvents, l.CurrentUpdates, l.EarlyPct, l.MACs)
	}
	tw.Flush()
	if len(res.Energy) > 0 {
		p("\n")
		// The paper measured Loihi on MNIST only: its row is the
		// reference for MNIST runs alone.
		writeEnergy(ew, res.Energy, strings.HasPrefix(res.Data, "mnist"))
	}
	if res.Rate != nil {
		p("\n")
		writeRate(ew, res.Rate, res)
	}
	if o := res.Oracle; o != nil {
		p("\noracle check (SPEC §6): %d samples, %d of %d spike times differ from the time-stepped oracle", o.Samples, o.Differ, o.SpikeTimes)
		if o.Differ > 0 {
			p(" (in %d samples; first in layer %s; %d classes differ)", o.SamplesDiffer, firstDiffer(res, o.LayerDiff), o.Classes)
		}
		p("\n")
	}
	for _, wmsg := range res.Warnings {
		p("warning: %s\n", wmsg)
	}
	return ew.err
}

// PaperMNIST is the paper's Table 1 MNIST row (Lenz et al.), for reference.
// Time steps are to the first output spike; Ops is Ω.
const PaperMNIST = "LeNet-5 26k params, Quartz: ANN error 0.75 %, SNN error 0.80 %, 4.4k neurons, 4.4k spikes, 50 time steps, Ω 177k"

// firstDiffer names the first layer with a differing spike time: where a
// potential met the threshold within float rounding; later layers may
// differ because of it.
func firstDiffer(res *pipeline.Result, diff []int64) string {
	for i, d := range diff {
		if d > 0 {
			if i < len(res.Layers) {
				return res.Layers[i].Name
			}
			return fmt.Sprint(i + 1)
		}
	}
	return "—"
}

// annOr returns s, or "—" when res has no ANN (eval --snn alone).
func annOr(res *pipeline.Result, s string) string {
	if res.ANNAccuracy == nil {
		return "—"
	}
	return s
}

// interval formats a 95 % interval with two decimals.
func interval(ci [2]float64, unit string) string {
	return fmt.Sprintf("[%.2f, %.2f]%s", ci[0], ci[1], unit)
}

func errString(acc *float64) string {
	if acc == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f %%", 100-*acc)
}

func shape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "×")
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }

// Table1 writes res as a row in the layout of the paper's Table 1, with the
// paper's MNIST row below it for reference.
func Table1(w io.Writer, res *pipeline.Result) error {
	ew := &errWriter{w: w}
	ew.printf("\nTable 1 layout (error in %%, Ω = σ + 2νT with σ = current updates):\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tANN error\tSNN error\tneurons\tspikes\ttime steps\tΩ\t")
	fmt.Fprintf(tw, "quartz (this run)\t%s\t%.2f\t%s\t%s\t%.0f\t%s\t\n", strings.TrimSuffix(errString(res.ANNAccuracy), " %"),
		100-res.SNNAccuracy, si(float64(res.Neurons)), si(res.Spikes), res.FirstSpike, si(res.Omega))
	for _, r := range PaperRows(res.Data) {
		fmt.Fprintf(tw, "paper, %s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.ANNError, r.SNNError, r.Neurons, r.Spikes, r.Steps, r.Ops)
	}
	tw.Flush()
	ew.printf("time steps: mean step of the first output spike.\n")
	return ew.err
}

// PaperRow is one Quartz row of the paper's Table 1, as printed there.
type PaperRow struct {
	Name                                            string
	ANNError, SNNError, Neurons, Spikes, Steps, Ops string
}

// PaperRows returns the paper's Table 1 Quartz rows for the data set named
// by data ("mnist/test", "cifar10/test", …): the reference a run on that
// data set is read against. Other data sets have none.
func PaperRows(data string) []PaperRow {
	switch {
	case strings.HasPrefix(data, "mnist"):
		return []PaperRow{{"LeNet-5 26k", "0.75", "0.80", "4.4k", "4.4k", "50", "177k"}}
	case strings.HasPrefix(data, "cifar10"):
		return []PaperRow{
			{"VGG-11 28M, Tmax 32", "7.61", "7.77", "160k", "160k", "258", "12M"},
			{"VGG-11 28M, Tmax 64", "7.61", "7.62", "160k", "160k", "514", "22M"},
			{"MobileNet-V1 2M", "11.41", "13.40", "313k", "313k", "1153", "40M"},
		}
	}
	return nil
}

// si formats a count with a k/M/G suffix, as the paper's tables do.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// percentileOf is the normalization percentile of res as the header gives
// it: one number, or the per-layer values --percentile-layers auto chose.
func percentileOf(res *pipeline.Result) string {
	if a := res.PercentileAuto; a != nil && a.LayersChosen {
		return pipeline.PercentileList(a.Layers) + " (per layer)"
	}
	return strconv.FormatFloat(res.Percentile, 'g', -1, 64)
}
