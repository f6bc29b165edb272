// Package energy estimates the energy per image of a spiking network, and of
// the ANN it came from, from counts of operations: the dynamic-energy
// argument of the Quartz paper (Lenz, Orchard, Sheik, §3.4, Figure 4, and
// the Loihi measurements of §4, Table 3). docs/energy.md lists every
// constant with its source and the measured numbers on the shipped LeNet.
//
// # Model
//
// A network's work on one sample is an Activity: full-precision MACs (the
// ANN, or an SNN's analog first layer), synaptic operations σ (one weight
// added per spike and target synapse), active and idle neuron updates,
// spikes sent, time steps, and neurons placed. A Profile turns it into an
// Estimate: dynamic energy (split into Parts), static energy, their total,
// and, for profiles with a clock, the latency and the energy-delay product.
// Three profiles ship:
//
//   - BitWidth, the paper's relative model: an addition of b1- and b2-bit
//     operands costs max(b1, b2) + |b1 − b2|/2 units, a b1×b2 MAC b1·b2
//     units (Rueckauer & Liu, IJCNN 2021, as cited by the paper). The ANN
//     does 32×32 MACs; the SNN adds 8-bit weights to a 16-bit state.
//   - CMOS45, absolute energies of 45 nm arithmetic (Horowitz, ISSCC 2014):
//     ANN MAC = float32 multiply + add = 3.7 + 0.9 pJ; SNN synaptic op and
//     neuron update = one 16-bit integer add, 0.05 pJ.
//   - Loihi, Intel's Loihi 1 (Davies et al., IEEE Micro 2018): 23.6 pJ per
//     synaptic op, 81 pJ per active and 52 pJ per idle neuron update, 1.7 pJ
//     per spike within a tile plus 3.0/4.0 pJ per east-west/north-south hop;
//     and static energy = static power per core × powered cores × latency,
//     fitted to the paper's Table 3.
//
// None of the profiles counts memory traffic, which dominates real CNN
// accelerators; they compare arithmetic, as the paper does.
//
// # Units
//
// Estimates are per sample: joules (Unit "J") or bit-operation units
// ("bit-op", BitWidth); latency in seconds; EDP in J·s.
//
// # Import graph
//
// energy imports nothing of quartz: package pipeline fills an Activity from
// its simulators' counts (pipeline.QuartzActivity, the rate baseline) and
// calls EstimateAll.
package energy
