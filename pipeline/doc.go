// Package pipeline runs the Quartz flow end to end on a data set: simplify
// the ANN, calibrate and normalize it on a sample of the training split,
// convert it to a spiking network, simulate the SNN on the evaluation split,
// and gather the ANN and SNN metrics of SPEC §5 side by side.
//
// # Units
//
// Counts in a Result are means per sample; accuracies, tie rate and early
// spikes are percentages; times are seconds of wall time.
//
// # Shards
//
// An evaluation is a header (Base), a Layout and an integer Tally; Finish
// derives every metric from them. EvaluatePart tallies a slice of the test
// set and MergeParts sums parts that cover it into the Result of the
// whole set, bit for bit but for the wall times (see tally.go).
//
// # Determinism
//
// The calibration sample is drawn with math/rand/v2 (PCG) from CalibSeed;
// for a given model, data, configuration and seed the result is the same
// whatever the number of workers (except the seconds).
package pipeline
