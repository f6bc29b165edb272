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
// # Percentiles
//
// Percentiles use the nearest-rank definition on the sorted values (rank
// ⌈p/100·n⌉). Up to MaxValues values per layer are kept; above that a
// deterministic stride picks MaxValues of them, which is reported.
//
// # Determinism
//
// The result depends only on the model, the calibration activations and the
// configuration.
package normalize
