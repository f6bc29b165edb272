// Package report formats evaluation results for people: a side-by-side
// ANN/SNN summary with a per-layer table, and the paper's reference rows.
// Machine-readable output is the JSON encoding of pipeline.Result.
package report
