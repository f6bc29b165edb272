package pipeline

import (
	"context"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/energy"
	"github.com/quartz-snn/quartz/snn"
)

// Result is the outcome of an evaluation: `quartz eval --json` prints it.
// Counts are means per sample.
type Result struct {
	Model      string  `json:"model"`
	Data       string  `json:"data"`
	Samples    int     `json:"samples"`
	Tmax       int     `json:"tmax"`
	TmaxLayers []int   `json:"tmax_layers,omitempty"`
	Percentile float64 `json:"percentile"`
	// PreNormalized: the model's weights were already normalized (quartz
	// finetune), so every scale is 1 and Percentile was not used.
	PreNormalized bool   `json:"pre_normalized,omitempty"`
	Threshold     string `json:"threshold"`
	Analog        bool   `json:"analog_first"`
	CalibSize     int    `json:"calibration_samples"`
	// PercentileAuto says how --percentile auto chose Percentile; absent
	// for a fixed percentile.
	PercentileAuto *AutoChoice `json:"percentile_auto,omitempty"`

	ANNAccuracy *float64 `json:"ann_accuracy"` // nil without the ANN (eval --snn alone)
	SNNAccuracy float64  `json:"snn_accuracy"`
	TieRate     float64  `json:"tie_rate"`
	NoClassRate float64  `json:"no_class_rate"`
	// Agreement is the % of samples where SNN and ANN predict the same class.
	Agreement *float64 `json:"ann_snn_agreement"`
	// Stats holds 95 % intervals of the accuracies and, with the ANN, the
	// paired comparison (McNemar's test, the drop's interval); see
	// AccuracyStats. Set by EvaluateWith with EvalOptions.Stats (quartz
	// eval), not by Evaluate (a sweep's points).
	Stats *AccuracyStats `json:"accuracy_stats,omitempty"`

	Neurons      int `json:"neurons"`
	RelayNeurons int `json:"relay_neurons"`
	// SignedNeurons: neurons of signed pairs (both halves, within Neurons;
	// branching networks with values without ReLU, SPEC §7).
	SignedNeurons int `json:"signed_neurons,omitempty"`
	// DelayedSynapses and DelaySteps: synapses with a synaptic delay and
	// the sum of their delays, per sample (branching networks).
	DelayedSynapses float64 `json:"delayed_synapses,omitempty"`
	DelaySteps      float64 `json:"delay_steps,omitempty"`
	Spikes          float64 `json:"spikes"`          // spikes of spiking neurons (ν layers)
	RelaySpikes     float64 `json:"relay_spikes"`    // spikes relayed by max-pool neurons
	SynapticEvents  float64 `json:"synaptic_events"` // σ, bias/readout/rectifier included
	InputEvents     float64 `json:"input_synaptic_events"`
	BiasEvents      float64 `json:"bias_events"`
	ReadoutEvents   float64 `json:"readout_events"`
	RectifierEvents float64 `json:"rectifier_events"`
	CurrentUpdates  float64 `json:"current_updates"`
	Omega           float64 `json:"omega"`        // current_updates + 2·Σν_l·T_l
	OmegaEvents     float64 `json:"omega_events"` // synaptic_events + 2·Σν_l·T_l
	EarlySpikePct   float64 `json:"early_spike_pct"`
	FirstSpike      float64 `json:"first_spike_latency"` // global step of the first output spike
	Steps           float64 `json:"steps_per_sample"`
	ClampedInputs   float64 `json:"clamped_inputs"`
	ANNMACs         int64   `json:"ann_macs"`
	SecondsANN      float64 `json:"seconds_ann"`
	SecondsSNN      float64 `json:"seconds_snn"`

	Layers   []LayerResult `json:"layers"`
	Warnings []string      `json:"warnings,omitempty"`

	// Energy per image of the Quartz SNN per profile (package energy, with
	// QuartzActivity and ANNMACs).
	Energy map[string]energy.Estimate `json:"energy,omitempty"`
	// Rate is the rate-coded baseline on the same model and data, when it
	// was run (eval --coding both).
	Rate *RateResult `json:"rate,omitempty"`
	// Oracle compares the fast simulator with the time-stepped oracle on
	// the first samples, when CheckOracle was run (eval --oracle N).
	Oracle *snn.OracleCheck `json:"oracle_check,omitempty"`

	// PerSample holds one record per test sample, in order (eval
	// --predictions, EvalOptions.PerSample); not part of the JSON summary.
	PerSample []SamplePrediction `json:"-"`
}

// SamplePrediction is one test sample's outcome.
type SamplePrediction struct {
	Index int
	Label int
	// ANN is the ANN's class, −1 without the ANN; SNN the SNN's, −1 if no
	// output neuron fired.
	ANN, SNN int
	// Tie: more than one output neuron fired at the first output spike.
	Tie bool
	// FirstSpike is the global step of the first output spike, −1 if none.
	FirstSpike int
	// ANNOut holds the ANN's outputs and SNNOut the SNN's decoded outputs
	// (EvalOptions.Outputs): output neuron j spiking at global step t
	// decodes to (EndStep − t)/TOut of the output layer, the value whose
	// spike lands t − (τ+T) steps after the readout (SPEC §2; above 1 for
	// an early spike, negative after the window); NaN if it did not fire.
	ANNOut []float32
	SNNOut []float64
}

// EvalOptions are the optional outputs of EvaluateWith; Evaluate sets
// none, so that its Result (and a sweep point's) is unchanged.
type EvalOptions struct {
	// Stats sets Result.Stats: the 95 % intervals and, with the ANN, the
	// paired comparison.
	Stats bool
	// PerSample keeps one record per sample in Result.PerSample.
	PerSample bool
	// Outputs adds every sample's ANN outputs and decoded SNN outputs to
	// the records (it implies PerSample).
	Outputs bool
}

// LayerResult is one SNN layer's share, means per sample.
type LayerResult struct {
	Name           string  `json:"name"`
	Kind           string  `json:"kind"`
	Shape          []int   `json:"shape"`
	Neurons        int     `json:"neurons"` // relay neurons for max-pool layers
	T              int     `json:"t,omitempty"`
	Scale          float64 `json:"norm_scale,omitempty"`     // P_l
	AboveOne       float64 `json:"norm_above_one,omitempty"` // fraction of calibration activations > 1
	Spikes         float64 `json:"spikes"`
	SynapticEvents float64 `json:"synaptic_events"` // delivered into this layer, bias/readout/rectifier included
	CurrentUpdates float64 `json:"current_updates"`
	EarlyPct       float64 `json:"early_spike_pct"`
	RectifiedPct   float64 `json:"rectified_pct"`
	MACs           int64   `json:"ann_macs"`
	// DelayedSynapses and DelaySteps: synapses into the layer with a
	// synaptic delay and the sum of their delays (branching networks,
	// SPEC §7; zero in a chain).
	DelayedSynapses float64 `json:"delayed_synapses,omitempty"`
	DelaySteps      float64 `json:"delay_steps,omitempty"`
}

// Evaluate runs the ANN (when c.ANN is set) and the SNN on every sample of
// test and returns the metrics.
func Evaluate(ctx context.Context, c *Converted, test *dataset.Set) (*Result, error) {
	return EvaluateWith(ctx, c, test, EvalOptions{})
}

// EarlyWarnPct is the share of a hidden layer's neurons (percent, per
// sample) firing early at which the result warns: a few early spikes are
// normal (values just above a percentile), a tenth of a layer is not.
const EarlyWarnPct = 5.0

// EvaluateWith is Evaluate with optional outputs.
func EvaluateWith(ctx context.Context, c *Converted, test *dataset.Set, opt EvalOptions) (*Result, error) {
	if test.Len() == 0 {
		return nil, fmt.Errorf("data set %s is empty", test.Name)
	}
	if err := checkSNNShape(c.SNN, test); err != nil {
		return nil, err
	}
	t, per, err := tally(ctx, c, test, opt)
	if err != nil {
		return nil, err
	}
	res := Finish(Base(c, test), LayoutOf(c), t, opt.Stats)
	res.PerSample = per
	return res, nil
}

// decodeOutputs returns the output layer's decoded values from its spike
// times: (end − t)/tout, NaN where a neuron did not fire.
func decodeOutputs(times []int32, end, tout int) []float64 {
	out := make([]float64, len(times))
	for j, t := range times {
		out[j] = math.NaN()
		if t != snn.NoSpike {
			out[j] = float64(end-int(t)) / float64(tout)
		}
	}
	return out
}

// fill sets res's counts from the summed counters: means per sample,
// percentages, Ω and the energy estimates.
func fill(res *Result, lay *Layout, sum *snn.Summary) {
	n := float64(sum.Samples)
	pct := func(k int64) float64 { return 100 * float64(k) / n }
	res.SNNAccuracy = pct(sum.Correct)
	res.TieRate = pct(sum.Ties)
	res.NoClassRate = pct(sum.NoClass)
	res.Neurons, res.RelayNeurons = lay.Neurons, lay.RelayNeurons
	res.SignedNeurons = lay.SignedNeurons
	if withClass := sum.Samples - sum.NoClass; withClass > 0 {
		res.FirstSpike = float64(sum.FirstSpike) / float64(withClass)
	}
	res.Steps = float64(sum.Steps) / n
	res.ClampedInputs = float64(sum.Clamped) / n

	var early, hidden int64
	for i, l := range lay.Layers {
		st := sum.Layers[i]
		lr := LayerResult{Name: l.Name, Kind: l.Kind, Shape: l.Shape, Neurons: l.Neurons, T: l.T,
			Spikes: float64(st.Spikes) / n, CurrentUpdates: float64(st.CurrentUpdates) / n,
			DelayedSynapses: float64(st.DelayedSynapses) / n, DelaySteps: float64(st.DelaySteps) / n}
		ev := st.SynEvents + st.BiasEvents + st.ReadoutEvents + st.RectifierEvents
		lr.SynapticEvents = float64(ev) / n
		if l.Spiking {
			lr.EarlyPct = 100 * float64(st.Early) / (n * float64(l.Neurons))
			if l.Rectify && lr.EarlyPct >= EarlyWarnPct {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %.2f %% of its neurons fire early (before their readout), "+
					"sending values above 1 into the next layer's window ahead of time; a Clip or Hardtanh after the layer cannot bound them in the SNN, "+
					"so the SNN departs from the ANN there", l.Name, lr.EarlyPct))
			}
			lr.RectifiedPct = 100 * float64(st.Rectified) / (n * float64(l.Neurons))
			if l.Rectify {
				early += st.Early
				hidden += int64(l.Neurons)
			}
		}
		if l.HasNorm {
			lr.Scale, lr.AboveOne = l.Scale, l.AboveOne
		}
		lr.MACs = l.MACs
		res.Layers = append(res.Layers, lr)
		if l.MaxPool {
			res.RelaySpikes += lr.Spikes
		} else {
			res.Spikes += lr.Spikes
		}
		res.SynapticEvents += lr.SynapticEvents
		res.InputEvents += float64(st.SynEvents) / n
		res.BiasEvents += float64(st.BiasEvents) / n
		res.ReadoutEvents += float64(st.ReadoutEvents) / n
		res.RectifierEvents += float64(st.RectifierEvents) / n
		res.CurrentUpdates += lr.CurrentUpdates
		res.DelayedSynapses += lr.DelayedSynapses
		res.DelaySteps += lr.DelaySteps
	}
	if hidden > 0 {
		res.EarlySpikePct = 100 * float64(early) / (n * float64(hidden))
	}
	res.Omega = lay.omega(res.CurrentUpdates)
	res.OmegaEvents = lay.omega(res.SynapticEvents)
	// The estimates cannot fail on counts that are means of non-negative
	// integers.
	res.Energy, _ = energy.EstimateAll(energy.DefaultProfiles(), QuartzActivity(res), float64(res.ANNMACs))
}

func checkSNNShape(n *snn.Network, s *dataset.Set) error {
	_, err := CheckInput("the SNN", n.InShape, s)
	return err
}
