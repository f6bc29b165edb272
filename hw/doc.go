// Package hw takes a converted Quartz network (snn.Network) to
// neuromorphic hardware without the hardware: it emulates the chip's
// fixed-point arithmetic, places every neuron on cores under the per-core
// limits, and estimates energy and latency from the placement and the
// emulated activity. docs/hardware.md cites every constant.
//
// # Model
//
// A Profile (Loihi1, Loihi2) holds every constant with its source.
// Quantize turns each spiking layer into integers in state units (the LSB
// of the 24-bit current and voltage): weights are 8-bit mantissas (7 bits +
// sign for mixed-sign layers) times a per-layer power-of-two exponent
// chosen as the finest that holds the largest weight; the layer's scale
// 2^s (state units per value·step) makes θ = (TOut − ½)·2^s an exact
// mantissa·2^6. Biases are rounded to the weight quantum and delivered by
// bias synapses; counterweights are recomputed from the rounded weights, so
// the readout leaves the current at exactly 2^s, and split into high and
// low parts (several readout synapses) where one 8-bit weight cannot hold
// them. The rectifier is a real current: single-sign synapses of maximal
// weight arriving one step before the rectifier step, enough to lift any
// voltage above the lower bound −2^VMinExp over θ. Bias, readout and
// rectifier spikes come from a timing chain; delays longer than MaxDelay
// go through relay neurons (IntNet.DelayRelays).
//
// Branching networks: a Sum layer's input groups share the layer's scale
// and quantum (the largest weight of all groups sets it) and its
// counterweight; a group's delay is a synaptic delay up to MaxDelay, and
// longer ones go through relay neurons counted apart per layer
// (IntNet.GroupRelays, SatStats.DelayRelaySpikes, Plan.DelayRelayNeurons)
// without changing the arrival step.
//
// # Emulator
//
// Emulator is a plain time-stepped simulator of the SPEC §2 neuron in
// int64 with saturation to the profile's bit widths; it fills
// snn.SampleResult with the float simulators' conventions (classes, ties,
// counters, stopping rule) and counts saturations. On networks the profile
// represents exactly (weights on the layer's quantum, mantissas in range)
// it gives the oracle's spike times exactly (tested).
//
// # Planner
//
// MapNetwork cuts every layer into identical tiles (channels × rows ×
// cols), searching the tile shape with the fewest tiles under the limits:
// compartments, input axons (distinct presynaptic neurons, or input
// positions with shared convolution), output axons (spikes × destination
// cores) and synaptic memory (per synapse weight + index bits, per axon
// block headers, 64-bit words). Partly filled tiles and the auxiliary
// neurons are merged first fit decreasing.
//
// # Cost
//
// Estimate: dynamic energy = synaptic operations, active and idle neuron
// updates and spike messages with mesh hops (Davies 2018 energies); static
// = cores × static power per core × latency; host = chips × x86 power ×
// latency; latency = (emulated steps + one per relay layer) × µs per step.
//
// # Units
//
// State in state units (integers); times in steps; energy in µJ, power in
// mW, latency in ms, EDP in µJ·s.
//
// # Determinism
//
// Emulator.Evaluate sums integer counters per worker and merges them: the
// result does not depend on the number of workers.
package hw
