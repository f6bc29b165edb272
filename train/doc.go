// Package train fits a network (package nn) to a data set (package dataset):
// mini-batch SGD or Adam with a learning-rate schedule, optional
// augmentation, a progress line per epoch, test accuracy after every epoch (or every Nth),
// and a checkpoint after every epoch that Resume continues from.
//
// # Determinism
//
// For a given seed and worker count the trained weights are bit-identical:
// the batch order and augmentation come from dataset.Loader seeded by
// (Seed, epoch), dropout from the net's seed and step, and the engine reduces
// gradients in a fixed order. Resuming from a checkpoint restores the
// weights, the epoch and the optimizer state, so a resumed run ends with the
// same weights as an uninterrupted one.
//
// # Checkpoints
//
// A checkpoint is one file, CKPT.state, replaced by a single atomic rename:
// the epoch, configuration, history, the model (ONNX) and the optimizer
// moments, followed by a SHA-256 of all of it (see state.go). A kill,
// SIGTERM or full disk at any moment leaves the previous checkpoint or the
// new one, never a mix of two epochs, and LoadCheckpoint refuses a file
// whose checksum does not match. CKPT.onnx, written after it, is a copy of
// the model (BatchNorm unfolded, loadable like any model) for inspection;
// resuming does not read it. Checkpoints of the old format (a state file
// without model or checksum beside CKPT.onnx) still load, with
// Checkpoint.Warning set.
//
// # Weight averaging
//
// With Config.SWAFrom the run also keeps the mean of the weights at the end
// of each epoch from that one on (stochastic weight averaging), saved in the
// checkpoint beside the optimizer state. When the last epoch is done the
// network takes the mean, and one pass over the training set recomputes
// its BatchNorm statistics.
package train
