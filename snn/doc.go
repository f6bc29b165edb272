// Package snn converts a normalized CNN (a chain, or a DAG with residual
// Adds and Concats) into a Quartz time-to-first-spike spiking network
// (Lenz, Orchard, Sheik) and simulates it exactly, as SPEC.md §1–3 and
// §5–7 define.
//
// # Model
//
// Convert maps every Conv, Linear, AvgPool and GlobalAvgPool to a spiking
// layer of non-leaky integrate-and-fire neurons, and every MaxPool to a relay
// layer. A spiking neuron has a synaptic current i, a potential u and a
// fired flag; at each global step t it does, in this order:
//
//  1. u ← u + i (one step of synaptic delay);
//  2. i ← i + Σ w over the events arriving at t: input spikes, the bias
//     spike (weight b, at the first step of the window), the readout spike
//     (the counterweight 1 − b − Σ_j w_j over the synapses the neuron really
//     has, at the readout step) and, in hidden layers, the rectifier spike;
//  3. if it has not fired and u ≥ θ, it fires at t and u ← 0; it never fires
//     again in the sample. A hidden neuron that has not fired by the end of
//     its decoding window is forced to fire then by the rectifier.
//
// A relay neuron fires at the step of the first spike in its window and
// ignores the others. An input value x ∈ [0,1] is one spike at local step
// T − round(x·T) (halves round up); pixels outside [0,1] (and NaN, as 0) are
// clamped and counted in SampleResult.Clamped. With Config.AnalogFirst the
// first Conv/Linear layer and its ReLU run in float32; their outputs,
// clamped to [0,1] (values above 1 counted), are encoded the same way. An
// analog layer may carry an input transform (Layer.InScale, InShift, from a
// graph.Affine first layer): it computes on x[c,·]·InScale[c] + InShift[c]
// per input channel, zero-padded after the transform, exactly as the ANN.
//
// # Timing
//
// Spiking layer l (analog and relay layers excluded) integrates during its
// window [τ_l, τ_l + T_l), τ_l = Σ_{m<l} T_m; its readout spike arrives at
// τ_l + T_l, where u = U = T_l·(W·x + b) if the neuron has not fired early.
// From then on i = 1, so it fires k = ⌈θ − U⌉ steps later (k ≥ 0): θ = TOut − ½
// (Round, the default) gives the value round(U)/TOut, θ = TOut (Truncate)
// gives floor(U)/TOut. The spike lands in the next layer's window at local
// step k, which is that layer's input encoding. The rectifier fires at
// τ_l + T_l + TOut_l. A neuron that fires before its readout fires early: its
// spike reaches the next layer before that layer's window (a value above 1).
// Early spikes are physics, not errors; they are counted.
//
// # Per-layer windows
//
// TOut_l is the next spiking layer's window T_{l+1} (T_L for the last).
// When it differs from T_l, Convert multiplies the layer's weights and bias
// by TOut/T, so that U = TOut·(W·x + b) and the spike k steps after the
// readout encodes round(v·TOut) in the next window; θ, the counterweights
// and the rectifier step follow TOut. With power-of-two ratios the scaling is
// exact on a dyadic grid (tested against the quantized ANN).
//
// # Branching networks
//
// A model that is not a chain (SPEC §7) converts to a Network whose
// layers, in topological order, may read earlier layers other than the
// one before through explicit input groups (Layer.Groups; a chain has
// none, and its JSON files are unchanged). A Sum layer is one population
// of spiking neurons computing relu(Σ_g W_g·x_g + b): an Add becomes one
// Sum layer, whose groups are its inputs: a Conv or Linear without ReLU
// read only by that Add is a group with its weights reading that layer's
// input (its bias joins the Sum's), any other input an Identity group
// (weight 1 per channel, or the per-channel scale P_g/P_v of the graph.Affine
// that normalization inserts on a shortcut). The Add must be followed by a
// ReLU or be the network output. A Concat is structure: a Conv (ungrouped)
// or Linear reading it gets one group per Concat input with its slice of
// the weights. A Conv, Linear, pooling or MaxPool layer that reads any
// layer but the one before gets one explicit group too (a Sum layer, or a
// relay with a MaxPool group).
//
// Timing: layer v integrates during [τ_v, τ_v + T) with τ_v the latest end
// (τ_g + T_g) of its groups' sources (a relay ends with its source, the
// input at 0); a group whose source ends earlier has a synaptic delay
// Group.Delay = τ_v − τ_g − T_g on all its synapses, so its spikes encode
// their values in v's window. A branching network has one T for all
// spiking layers (Config.TmaxLayers must be uniform). The counterweight is
// 1 − b − Σ w over the synapses of all groups.
//
// A value without ReLU that is not the output (a MobileNet-V2 linear
// bottleneck, a sum without ReLU, a Conv read without ReLU by several
// nodes) is a signed pair: two layers with the same groups in the same
// window, z⁺ = relu(z) named after the node and, right after it,
// z⁻ = relu(−z) (weights and bias negated) named with NegSuffix; a reader
// gets a group from each, with W and −W (a ReLU reading it takes z⁺ alone).
// Both halves count in ν and Ω; Network.Signed counts their neurons.
//
// An analog first layer (Config.AnalogFirst) must be reached from the
// model input through a chain (at most an input transform and structure),
// and nothing else may read the model input; its outputs are the input
// spikes, source −1 of the groups that read them.
//
// Pooling is per channel: a MaxPool, AvgPool or GlobalAvgPool on a Concat
// becomes one layer per Concat input (named node[k]), whose outputs are
// the parts of its result.
//
// Not built yet, and refused naming the node: pooling a signed pair,
// pooling a Concat as the model output, an Add of a Concat, a grouped
// convolution on a Concat, and an Affine other than a shortcut scale (or
// the input transform of an analog first layer). Package hw emulates and
// maps branching networks (delays beyond the chip's maximum become relay
// chains) and package nir exports them (a Delay node per delayed group);
// code that handles chains only (the rate-coded baseline) refuses them with
// Network.CheckChain, naming the first layer with groups.
//
// # Stopping rule and class
//
// The class is the output neuron that fires first; ties go to the lowest
// index and set SampleResult.Tie. A sample runs until step
// E = max(EndStep, first output spike), EndStep = τ_L + T_L + TOut_L, the end
// of the output layer's decoding window: an output layer without rectifier
// may fire later for negative values. Output neurons that have not fired by
// E are reported as NoSpike and are not counted as spikes. If no output
// neuron fires within MaxTail steps after EndStep the sample has no class
// (Class −1) and E = EndStep + MaxTail. Steps = E + 1.
//
// # Metrics
//
// Per layer and sample (LayerStats), summed by Summary over samples:
//   - ν: Network.Neurons returns the spiking neurons (analog layer excluded)
//     and, apart, the relay neurons;
//   - Spikes: spikes emitted (hidden layers: exactly one per neuron);
//   - SynEvents: input spikes delivered into the layer, one per (spike,
//     target synapse): their sum over layers is σ of SPEC §5 without the
//     extra synapses. Synapses with weight 0 count; padding has none, so
//     edge neurons receive fewer. MaxPool relays count their input events;
//   - BiasEvents (neurons with b ≠ 0), ReadoutEvents (every neuron) and
//     RectifierEvents (every neuron of a rectified layer), apart;
//   - CurrentUpdates: the (neuron, step) pairs at which the neuron's i
//     receives at least one event of any kind (several events in one step
//     count once; events after the neuron fired count too). Relays have no
//     current and count none;
//   - Early: neurons that fired before their readout step; Rectified:
//     neurons the rectifier forced to fire;
//   - DelayedSynapses and DelaySteps (branching networks): the SynEvents
//     delivered through a synapse with a delay (every hidden neuron fires
//     once, so the number of such synapses) and the sum of their delays in
//     steps; zero in a chain;
//   - latency: SampleResult.FirstSpike, the global step of the first output
//     spike; Steps as above.
//
// Ω (paper Eq. 9) is Network.Omega(σ) = σ + 2·Σ_l ν_l·T_l, with the caller's
// choice of σ (e.g. SynEvents alone, or with the bias/readout/rectifier
// events).
//
// # Simulators
//
// Oracle steps every neuron of every layer through every step, with
// explicit synapse lists per input group (and the group's delay): the
// reference. Sim runs a Sum layer on all its channels at once, each
// group's arrivals (plus its delay) summed per channel into the same rows,
// integrated over the union of the occupied steps. Sim is the product: per layer and
// output position it sums, per channel, the weights arriving at each step,
// then integrates all channels of the position from one occupied step to
// the next (u ← u + Δ·i), locating any early crossing of θ exactly and
// otherwise reading the spike step from U. Its work is one addition per
// synapse whose input arrives before the readout, plus, per neuron, the
// distinct arrival steps in its receptive field (at most min(fan-in, T+1)),
// so it stays near the cost of one ANN forward pass for any T. Inputs of
// value 0 arrive at the readout and cost nothing.
//
// # Exactness
//
// On a dyadic grid (weights and biases multiples of 2⁻⁸, partial sums below
// 2¹⁶ in magnitude) every float32 sum is exact in any order, and the two
// simulators give identical spike times, classes and counters; the shared
// test suite checks this, the closed forms of SPEC §2 and the quantized ANN
// on random networks. With arbitrary float weights they may differ where a
// potential lies within float rounding of θ (a LeNet test allows 0.1 %).
//
// # Units
//
// Times are global steps (int32, from 0); T, TOut, τ are steps. Values are
// fractions of 1 (a spike k steps after a readout carries (TOut − k)/TOut).
// Counters are event counts per sample.
//
// # Memory and concurrency
//
// Sim is read-only after NewSim and safe for concurrent use; Run and
// Evaluate use one Worker per goroutine. A Worker holds 4·span·C bytes of
// per-step weight rows (span = τ + T of the deepest layer, C its channels
// per group) plus a few rows of C values, and the analog layer's buffers;
// a SampleResult holds one int32 per neuron and input. Once a SampleResult
// has been used for a network, Worker.Simulate allocates nothing.
//
// # Determinism
//
// Each sample's result depends only on the network and the sample, not on
// the worker count or scheduling; Summary counters are integer sums, so
// Evaluate gives identical results for any number of workers. Run calls its
// callback concurrently and in no fixed order.
package snn
