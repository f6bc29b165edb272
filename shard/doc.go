// Package shard splits a run into n independent shards and checks that a
// set of partial results (parts) covers the run exactly once.
//
// A Spec names shard i of n ("i/n", 0 ≤ i < n). Range gives shard i its
// contiguous slice of a run's work units (samples, or grid points ×
// samples): units ⌊i·N/n⌋ up to ⌊(i+1)·N/n⌋, so the slices of 0/n … n−1/n
// cover the N units once, in order, and differ in size by at most one.
//
// Every part file starts with a Header: the format, the kind of run, the
// shard, and the Identity of the run (model fingerprint, data identity,
// calibration key, configuration). Check refuses a set of headers that do
// not belong together (another identity: a foreign part), that name a
// shard twice (duplicate) or that leave one out (missing), naming the file
// at fault. Package shard does not know what a part holds beyond its
// header; eval and sweep parts are read and merged by their commands
// (internal/cli, package sweep, pipeline.MergeParts).
package shard
