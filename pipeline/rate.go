package pipeline

import (
	"context"
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/internal/progress"
	"math"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/energy"
	"github.com/quartz-snn/quartz/ratecode"
)

// MatchPP is the accuracy gap, in percentage points, within which the rate
// baseline counts as matching its ANN (RateResult.MatchSteps).
const MatchPP = 0.3

// RateResult is the outcome of the rate-coded baseline on the same
// normalized network (`quartz eval --coding rate|both`). Counts are means
// per sample.
type RateResult struct {
	Model      string   `json:"model"`
	Data       string   `json:"data"`
	Samples    int      `json:"samples"`
	Steps      int      `json:"steps"`
	Percentile float64  `json:"percentile"`
	CalibSize  int      `json:"calibration_samples"`
	Readout    string   `json:"readout"`
	ANN        *float64 `json:"ann_accuracy"`
	// MatchSteps is the first checkpoint whose accuracy is within MatchPP
	// of the ANN's (nil: none, or no ANN).
	MatchSteps   *int  `json:"match_steps"`
	Neurons      int   `json:"neurons"`
	RelayNeurons int   `json:"relay_neurons"`
	AnalogMACs   int64 `json:"analog_macs"` // first layer's current, once per sample
	ANNMACs      int64 `json:"ann_macs"`

	Checkpoints []RateCheckpoint `json:"checkpoints"`
	Layers      []RateLayer      `json:"layers"` // over all Steps
	// Energy at Steps, per profile (the last checkpoint's).
	Energy   map[string]energy.Estimate `json:"energy,omitempty"`
	Seconds  float64                    `json:"seconds"`
	Warnings []string                   `json:"warnings,omitempty"`
}

// RateCheckpoint is the rate network after Steps steps.
type RateCheckpoint struct {
	Steps         int     `json:"steps"`
	Accuracy      float64 `json:"accuracy"`       // class from the output potential
	CountAccuracy float64 `json:"count_accuracy"` // class from the most output spikes
	CountTieRate  float64 `json:"count_tie_rate"`
	Spikes        float64 `json:"spikes"`
	RelaySpikes   float64 `json:"relay_spikes"`
	// SynapticEvents σ: Σ over spikes of the fan-out, MaxPool gates included.
	SynapticEvents float64                    `json:"synaptic_events"`
	NeuronUpdates  float64                    `json:"neuron_updates"` // ν·Steps
	OmegaEq        float64                    `json:"omega_eq"`       // σ + ν·Steps
	Energy         map[string]energy.Estimate `json:"energy,omitempty"`
}

// RateLayer is one layer's share over all Steps, means per sample.
type RateLayer struct {
	Name           string  `json:"name"`
	Kind           string  `json:"kind"`
	Shape          []int   `json:"shape"`
	Neurons        int     `json:"neurons"`
	Spikes         float64 `json:"spikes"`
	SynapticEvents float64 `json:"synaptic_events"` // delivered into this layer
	Rate           float64 `json:"mean_rate"`       // spikes per neuron per step
}

// EvaluateRate runs the rate-coded baseline (package ratecode) on c's
// normalized network, and the ANN when c.ANN is set, on every sample of
// test. cfg.Workers of zero takes c.Config.Workers.
func EvaluateRate(ctx context.Context, c *Converted, test *dataset.Set, cfg ratecode.Config) (*RateResult, error) {
	if c.Normalized == nil {
		return nil, errors.New("the rate-coded baseline needs the normalized model (a converted SNN file alone does not hold it)")
	}
	if test.Len() == 0 {
		return nil, fmt.Errorf("data set %s is empty", test.Name)
	}
	if err := checkShape(c.Normalized, test); err != nil {
		return nil, err
	}
	if cfg.Workers == 0 {
		cfg.Workers = c.Config.Workers
	}
	sim, err := ratecode.New(c.Normalized, cfg)
	if err != nil {
		return nil, err
	}
	rr := &RateResult{Model: c.Normalized.Name, Data: test.Name, Samples: test.Len(), Steps: sim.Steps(),
		Percentile: c.Config.Percentile, CalibSize: c.CalibSize, Readout: "potential", AnalogMACs: sim.AnalogMACs()}
	rr.Neurons, rr.RelayNeurons = sim.Neurons()
	rr.Warnings = append(rr.Warnings, sim.Warnings...)
	labels := labels32(test)
	if c.ANN != nil {
		pred, _, err := annPredictions(c.ANN, test, c.Config.Workers)
		if err != nil {
			return nil, err
		}
		acc := matchPercent(pred, labels)
		rr.ANN = &acc
		rr.ANNMACs = c.ANN.MACs()
	}

	bar := progress.OnTerminal(c.Config.Progress, "rate", test.Len())
	var sum ratecode.Summary
	t0 := time.Now()
	lo := 0
	err = test.Chunks(nil, 500, func(x []float32, _ []int32, n int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := sim.EvaluateContext(ctx, x, n, labels[lo:lo+n])
		if err != nil {
			return err
		}
		mergeRate(&sum, s)
		lo += n
		bar.Add(n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rr.Seconds = time.Since(t0).Seconds()
	bar.Done()

	n := float64(sum.Samples)
	nu := float64(rr.Neurons)
	for _, cp := range sum.Checkpoints {
		k := float64(cp.Steps)
		rc := RateCheckpoint{Steps: cp.Steps, Accuracy: 100 * float64(cp.Correct) / n,
			CountAccuracy: 100 * float64(cp.CorrectCount) / n, CountTieRate: 100 * float64(cp.CountTies) / n,
			Spikes: float64(cp.Spikes) / n, RelaySpikes: float64(cp.RelaySpikes) / n,
			SynapticEvents: float64(cp.SynEvents) / n, NeuronUpdates: nu * k}
		rc.OmegaEq = rc.SynapticEvents + rc.NeuronUpdates
		rr.Checkpoints = append(rr.Checkpoints, rc)
	}
	if err := rr.finish(); err != nil {
		return nil, err
	}
	for i, l := range sim.Layers() {
		st := sum.Layers[i]
		rr.Layers = append(rr.Layers, RateLayer{Name: l.Name, Kind: l.Kind.String(), Shape: l.Shape, Neurons: l.Neurons,
			Spikes: float64(st.Spikes) / n, SynapticEvents: float64(st.SynEvents) / n,
			Rate: float64(st.Spikes) / (n * float64(l.Neurons) * float64(rr.Steps))})
	}
	return rr, nil
}

// SetANN records the ANN's accuracy and MACs, measured apart on the same
// samples (a sweep runs the ANN once for every point), and recomputes what
// depends on them: MatchSteps and the energy estimates, whose ANN side needs
// the MACs. It gives what EvaluateRate gives with c.ANN set.
func (rr *RateResult) SetANN(accuracy float64, macs int64) error {
	rr.ANN, rr.ANNMACs = &accuracy, macs
	return rr.finish()
}

// finish derives MatchSteps and the energy of every checkpoint from the
// counts, rr.ANN and rr.ANNMACs.
func (rr *RateResult) finish() error {
	if len(rr.Checkpoints) == 0 {
		return errors.New("rate result without checkpoints")
	}
	relay := float64(rr.RelayNeurons)
	rr.MatchSteps = nil
	for i := range rr.Checkpoints {
		rc := &rr.Checkpoints[i]
		k := float64(rc.Steps)
		act := energy.Activity{MACs: float64(rr.AnalogMACs), SynapticOps: rc.SynapticEvents, NeuronUpdates: rc.NeuronUpdates,
			IdleUpdates: relay * k, Spikes: rc.Spikes + rc.RelaySpikes, Steps: k, Neurons: rr.Neurons + rr.RelayNeurons}
		var err error
		if rc.Energy, err = energy.EstimateAll(energy.DefaultProfiles(), act, float64(rr.ANNMACs)); err != nil {
			return err
		}
		if rr.ANN != nil && rr.MatchSteps == nil && rc.Accuracy >= *rr.ANN-MatchPP {
			s := rc.Steps
			rr.MatchSteps = &s
		}
	}
	rr.Energy = rr.Checkpoints[len(rr.Checkpoints)-1].Energy
	return nil
}

func mergeRate(dst, s *ratecode.Summary) {
	if dst.Checkpoints == nil {
		dst.Checkpoints = make([]ratecode.Checkpoint, len(s.Checkpoints))
		dst.Layers = make([]ratecode.LayerStats, len(s.Layers))
	}
	dst.Samples += s.Samples
	for i, c := range s.Checkpoints {
		d := &dst.Checkpoints[i]
		d.Steps = c.Steps
		d.Correct += c.Correct
		d.CorrectCount += c.CorrectCount
		d.CountTies += c.CountTies
		d.Spikes += c.Spikes
		d.RelaySpikes += c.RelaySpikes
		d.SynEvents += c.SynEvents
	}
	for i, l := range s.Layers {
		dst.Layers[i].Spikes += l.Spikes
		dst.Layers[i].SynEvents += l.SynEvents
	}
}

// QuartzActivity returns the work of a Quartz evaluation for the energy
// model: σ = every synaptic event (bias, readout and rectifier included),
// 2·Σν_l·T_l active neuron updates (the bound of the paper's Ω), every
// other (neuron, step) of the sample idle (relay neurons included), and the
// analog first layer's MACs if any.
func QuartzActivity(res *Result) energy.Activity {
	a := energy.Activity{SynapticOps: res.SynapticEvents, Spikes: res.Spikes + res.RelaySpikes,
		Steps: res.Steps, Neurons: res.Neurons + res.RelayNeurons}
	a.NeuronUpdates = res.OmegaEvents - res.SynapticEvents
	a.IdleUpdates = math.Max(0, float64(a.Neurons)*res.Steps-a.NeuronUpdates)
	if res.Analog && len(res.Layers) > 0 {
		a.MACs = float64(res.Layers[0].MACs)
	}
	return a
}
