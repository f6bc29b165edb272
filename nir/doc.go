// Package nir writes a Quartz spiking network (snn.Network) as a graph of
// the Neuromorphic Intermediate Representation (NIR, neuromorphs/NIR) in
// HDF5, and reads such a graph back. docs/nir.md is the full mapping.
//
// # File
//
// The file is what nir.read expects: a root string dataset "version" and a
// group "node" holding the NIRGraph: "type" = "NIRGraph", a group "nodes"
// with one group per node ("type" plus that node type's parameter
// datasets), "edges" (an n×2 string array, source and target names) and a
// flat "metadata" group. Strings are fixed-length (h5py returns bytes,
// which NIR decodes); parameters are float32, integers int64. The HDF5
// encoding is package internal/hdf5.
//
// # Mapping
//
// A spiking layer l becomes its synapses (Conv2d with zero bias, Linear,
// or SumPool2d + Scale for average pooling), an I node (the non-leaky
// synaptic current) and an IF node (the non-leaky membrane, v_threshold
// θ, v_reset 0). I followed by IF is the Quartz neuron exactly: an input
// spike of weight w at step s contributes w·(t − s) to v at step t, the
// "one step of synaptic delay". The bias, readout and rectifier spikes are
// made explicit: an Input node l<i>_sync spikes once in every neuron at the
// window start τ_l; Scale(b) carries it to I (the bias spike), Delay(T) →
// Scale(counterweights) → I is the readout, and Delay(T+TOut) →
// Scale(RectifierWeight) → IF (straight onto the membrane, so that it
// fires at that step) is the rectifier. A MaxPool relay is SumPool2d → IF
// with threshold ½. An analog first layer is a separate component: Input
// (the image) → Conv2d/Affine with its bias → Output, whose values the
// Quartz encoder turns into the spikes of Input l0_spikes. Its input
// transform (snn.Layer.InScale, InShift), if any, is a depthwise 1×1
// Conv2d l0_input_affine between the image and the layer: weight InScale,
// bias InShift.
//
// A branching network (snn.Layer.Groups) is a DAG in NIR too: input group
// k of layer i is a synapse path l<i>_g<k>_… from the output node of its
// source layer (the input, or l0_spikes, for source −1) to the layer's I
// node (a relay's IF): Conv2d, Flatten → Linear, SumPool2d → Scale (average
// pooling) or SumPool2d (a relay), or a Scale of one weight per channel for
// an Identity group, then a Delay node of Group.Delay steps when the delay
// is positive. NIR sums the edges into a node, which is the Sum layer's
// Σ_g W_g·x_g. The synapse node's metadata holds the group's Quartz
// fields; the layer's neuron node has quartz_groups.
//
// What NIR cannot say is the Quartz profile, in the metadata: the time unit
// is one step (dt = 1; v and i are evaluated at integer steps, fire when
// v ≥ θ), every neuron fires at most once per sample, the inputs carry one
// time-to-first-spike each (quartz_encoding, quartz_t), each sync input
// spikes at quartz_spike_step, and each neuron node carries its layer's
// exact Quartz fields (quartz_kind, windows, geometry, θ, flags).
//
// # Round trip
//
// Import rebuilds the network, validates it, exports it again and requires
// the file to match node for node and bit for bit: a file Import accepts
// simulates exactly like the network that was exported.
package nir
