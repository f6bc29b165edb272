package snn

// NoSpike is the spike step of a neuron that did not fire.
const NoSpike int32 = -1

// LayerStats counts one layer's events in one sample (or, summed, in many).
// See the package doc, "Metrics", for the exact definitions.
type LayerStats struct {
	// Spikes emitted by the layer's neurons (relay spikes for MaxPool).
	Spikes int64 `json:"spikes"`
	// SynEvents: input spikes delivered into this layer, one per (spike,
	// target) pair: Σ over the previous layer's spikes of their fan-out here.
	SynEvents int64 `json:"syn_events"`
	// BiasEvents, ReadoutEvents and RectifierEvents: deliveries of the bias
	// spike (neurons with b ≠ 0), the readout spike (every neuron) and the
	// rectifier spike (every neuron of a rectified layer).
	BiasEvents      int64 `json:"bias_events"`
	ReadoutEvents   int64 `json:"readout_events"`
	RectifierEvents int64 `json:"rectifier_events"`
	// CurrentUpdates: (neuron, step) pairs at which the neuron's current i
	// received at least one event of any of the four kinds.
	CurrentUpdates int64 `json:"current_updates"`
	// Early: neurons that fired before their readout step τ+T.
	Early int64 `json:"early"`
	// Rectified: neurons the rectifier forced to fire (value < −½ in Round
	// mode, < 0 in Truncate mode).
	Rectified int64 `json:"rectified"`
	// DelayedSynapses: the SynEvents delivered through a synapse with a
	// delay (branching networks, SPEC §7): every hidden neuron fires once,
	// so it is the number of such synapses. DelaySteps sums their delays.
	DelayedSynapses int64 `json:"delayed_synapses,omitempty"`
	DelaySteps      int64 `json:"delay_steps,omitempty"`
}

// Add adds o to s.
func (s *LayerStats) Add(o *LayerStats) {
	s.Spikes += o.Spikes
	s.SynEvents += o.SynEvents
	s.BiasEvents += o.BiasEvents
	s.ReadoutEvents += o.ReadoutEvents
	s.RectifierEvents += o.RectifierEvents
	s.CurrentUpdates += o.CurrentUpdates
	s.Early += o.Early
	s.Rectified += o.Rectified
	s.DelayedSynapses += o.DelayedSynapses
	s.DelaySteps += o.DelaySteps
}

// SampleResult is the outcome of simulating one sample. A simulator reuses
// its slices from one call to the next.
type SampleResult struct {
	// Input holds the global spike step of every input neuron (after the
	// analog layer, if any).
	Input []int32
	// Times holds, per Network layer, the global spike step of every neuron,
	// NoSpike if it did not fire before the sample ended. An analog layer's
	// entry is empty (its outputs are Input).
	Times [][]int32
	// Class is the output neuron that fired first (ties: the lowest index),
	// −1 if none fired within MaxTail steps of EndStep.
	Class int
	// Tie reports that more than one output neuron fired at that step.
	Tie bool
	// FirstSpike is the global step of the first output spike, −1 if none.
	FirstSpike int32
	// Steps is the number of steps the sample ran: its last step + 1.
	Steps int32
	// Clamped counts input values outside [0,1] (or NaN) that were clamped:
	// input pixels, or analog-layer outputs above 1.
	Clamped int
	// Stats holds per-layer counters (an analog layer's are zero).
	Stats []LayerStats
}

// Total returns the sum of the per-layer counters.
func (r *SampleResult) Total() LayerStats {
	var t LayerStats
	for i := range r.Stats {
		t.Add(&r.Stats[i])
	}
	return t
}

// reset sizes r for n, reusing its slices.
func (r *SampleResult) reset(n *Network) {
	r.Input = resize(r.Input, size(n.InputShape()))
	if cap(r.Times) < len(n.Layers) {
		r.Times = make([][]int32, len(n.Layers))
	}
	r.Times = r.Times[:len(n.Layers)]
	for i, l := range n.Layers {
		sz := l.Size()
		if l.Analog {
			sz = 0
		}
		r.Times[i] = resize(r.Times[i], sz)
	}
	if cap(r.Stats) < len(n.Layers) {
		r.Stats = make([]LayerStats, len(n.Layers))
	}
	r.Stats = r.Stats[:len(n.Layers)]
	clear(r.Stats)
	r.Class, r.Tie, r.FirstSpike, r.Steps, r.Clamped = -1, false, -1, 0, 0
}

func resize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// InputShape returns the shape of the input spikes: InShape, or the analog
// layer's output shape.
func (n *Network) InputShape() []int {
	if len(n.Layers) > 0 && n.Layers[0].Analog {
		return n.Layers[0].OutShape
	}
	return n.InShape
}
