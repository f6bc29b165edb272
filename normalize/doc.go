// Package normalize scales a network's weights and biases so that every
// layer's activations lie in [0, 1] up to a chosen percentile: the
// bias-corrected activation normalization of the Quartz paper (Algorithm 1),
// as SPEC §4 fixes it.
//
// # Model
//
// For each normalized layer l (Conv, Linear, and the pooling layers that
// become spiking layers) let a_l be its activation (the output of the ReLU,
// Clip or LeakyReLU that follows it, or its raw output when none follows) on
// a calibration sample, and P_l the chosen percentile of all values of
// a_l, zeros included. The input has P_0 = 1 (pixels already in [0, 1]).
// Normalization sets
//
//	W_l ← W_l · P_{l−1} / P_l,   b_l ← b_l / P_l,
//
// so that the normalized network computes a'_l = a_l / P_l for every layer,
// exactly up to float rounding. This is Algorithm 1 of the paper written in
// closed form: there the scale of layer l is measured on the network already
// normalized up to l−1, which is P_l / P_{l−1}, and the bias is divided by
// the product of all scales so far, which is P_l. Pooling layers without
// weights (MaxPool) pass P through unchanged; AvgPool and GlobalAvgPool
// layers that remain in the graph keep their fixed weights and inherit P of
// their input.
//
// # Branching networks
//
// In a model with Add and Concat nodes (SPEC §7, "Normalization per input
// group") the normalized nodes are the spiking nodes of the SNN: every
// Add (its activation the ReLU after it), every Conv and Linear but those
// read only by an Add without ReLU (input groups of the Add's node: they
// take the Add's P), and the pooling nodes (which inherit the scale of
// their input). With P_g the scale of an input value (1 for the model
// input, P_u for node u's activation, per channel through a Concat),
// normalization sets W'_g = W_g·P_g/P_v and b' = b/P_v, and inserts before
// each Add, on every input that is not a merged Conv/Linear (a shortcut),
// a per-channel graph.Affine with Scale = P_g/P_v and Shift 0, which
// snn.Convert folds into the identity group's weights. Every node then
// computes a'_v = a_v/P_v (tested per node). A node without ReLU that is
// not the output (a linear bottleneck, carried by a signed pair in the
// SNN) takes for P the larger of its p-th percentile and the magnitude of
// its (100−p)-th (its minimum at p = 100); AboveOne then counts values
// above P and below −P. The normalized model has
// these extra nodes; LayerStat.Layer indexes the calibrated model.
// NormalizeClassic takes chains only.
//
// # Percentiles
//
// Percentiles use the nearest-rank definition on the sorted values of all
// calibration activations of the layer, zeros included (rank ⌈p/100·n⌉).
// Every value is counted (LayerStat.Kept = Values) in a histogram over its
// float32 bit pattern: the bits, with negative values flipped, order as the
// values do, so each binade (sign and exponent) is split into 2^11 bins on
// the top 11 mantissa bits, a bin spanning a relative width of 2^-11.
// Zeros and NaNs are counted apart, the exact smallest and largest values
// kept, and bins are held only for the binades between the smallest and the
// largest magnitude seen, per sign (16 KiB a binade; post-ReLU layers span
// 25–45 binades, ≈ 0.5 MiB; at most 4.3 MiB per sign). P_l is the upper
// edge of the bin that holds the rank, clamped to the largest value: never
// below the exact percentile and at most 2^-11 (0.049 %) above it for
// normal floats, exact when the rank falls on a zero or on the largest
// value (p = 100). AboveOne, the values above that edge, is then exact.
// The counts are integers: the result does not depend on the order or the
// batching of the values, nor on the worker count. NaNs rank above every
// value (a NaN percentile is refused as a diverging layer).
//
// Per channel (the first axis of the activation) the Calibration keeps the
// exact maximum (ChannelMax) and a coarser histogram, 2^5 bins a binade,
// whose percentile (ChannelPercentile, a bin's midpoint) is within 2^-6
// (1.6 %) of the exact one. EstimateCalibration gives the memory.
//
// # Determinism
//
// The result depends only on the model, the calibration activations and the
// configuration.
package normalize
