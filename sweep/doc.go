// Package sweep runs a Quartz conversion over a grid of windows T (Tmax) and
// normalization percentiles, the trade-offs of the paper's Figures 2, 3, 4
// and 7, and stores one result per grid point.
//
// # Model
//
// A sweep calibrates once: it runs the float network over the calibration
// sample a single time (normalize.Calibrate) and derives the normalized
// network of every percentile from the kept activations. It runs the ANN on
// the test set once. Then, for each percentile and each T, it converts and
// simulates the SNN on the whole test set (pipeline.Evaluate, which uses all
// workers): points run one after the other. Every metric of a point is the
// pipeline.Result that `quartz eval --json` prints for the same model, data
// and flags; a test holds the two equal.
//
// # Files
//
// Run writes under its directory DIR:
//
//	DIR/sweep.json           the configuration (model fingerprint, data, calibration)
//	DIR/ann.json             the ANN's accuracy on the test set
//	DIR/points/t16_p99.json  one pipeline.Result per finished point
//	DIR/points/t16_p99.val.json with SelectVal: the point's accuracy on the validation slice
//	DIR/points/rate_p99.json with Config.RateSteps: a percentile's rate baseline
//	DIR/results.json         Results: every point, the best one, the rate baselines
//	DIR/results.csv          one row per point, every scalar metric
//	DIR/rate.csv             with Config.RateSteps: one row per percentile and checkpoint
//
// Each file is written to a temporary file and renamed, so an interrupted
// sweep leaves finished points and no partial file. A rerun with the same
// configuration skips the finished points (and, when all are finished, the
// calibration and the ANN); a rerun with a different model, data or
// calibration is refused, since its points would not be comparable.
//
// # Rate-coded baseline
//
// With Config.RateSteps = N > 0 the sweep also runs the rate-coded baseline
// (pipeline.EvaluateRate, package ratecode) for N steps once per
// percentile, on that percentile's normalized network and the same test
// samples: it does not depend on Tmax. It resumes like the points; a stored
// baseline of another N is recomputed.
//
// # Best point
//
// The best point has the highest SNN accuracy on the samples it is chosen
// on; ties go to the fewest operations Ω (σ = current updates), then to the
// earlier point in grid order. With Config.SelectOn = SelectVal (the
// default) those are a validation slice of the training split:
// pipeline.SplitIndices(train, Calib, ValSamples, CalibSeed), the
// ValSamples images after the calibration draw in the same seeded
// permutation, so neither a calibration nor a test image. Every point is
// also simulated on the slice (DIR/points/t16_p99.val.json, resumed like
// the points) and Results.Validation holds the accuracies; the test
// accuracy of the best point is then an unbiased estimate. With SelectTest
// the best point is chosen on the test set it reports, as sweeps did before
// (and as Load reads a results.json without select_on).
//
// # Shards
//
// RunShard computes one shard of a sweep (quartz sweep --shard i/n): a
// contiguous slice (shard.Spec.Range) of the grid points × test samples,
// in grid and sample order, and the ANN on a slice of the samples, kept as
// integer tallies (Partial). MergeShards sums the parts of every shard and
// writes the files of Run, the same bytes but for the wall times.
//
// # Determinism
//
// A point's metrics (not its seconds) depend only on the model, the data, the
// calibration seed and the point: they do not depend on the worker count,
// the grid around the point, or whether it was computed in a resumed run.
package sweep
