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
// A checkpoint is two files written atomically: CKPT.onnx (the model with
// BatchNorm unfolded, loadable like any model) and CKPT.state (the epoch,
// configuration and optimizer moments, see state.go).
//
// # Weight averaging
//
// With Config.SWAFrom the run also keeps the mean of the weights at the end
// of each epoch from that one on (stochastic weight averaging), saved in the
// checkpoint beside the optimizer state. When the last epoch is done the
// network takes the mean, and one pass over the training set recomputes
// its BatchNorm statistics.
package train
