// Package dataset loads labelled image data sets into memory and serves them
// as float32 tensors for training and evaluating networks.
//
// A Set keeps every sample as uint8 pixels; Image and Gather convert to
// float32 x/255 in [0,1] on the way out (a set of float tensors, Set.Float,
// is served as it is). Open builds a Set from a spec string
// (see SpecUsage): "mnist", "fashion-mnist", "cifar10", "cifar10:PATH" or
// "folder:PATH", with Options choosing the split ("train" or "test"), a
// sample limit and the data directory ($QUARTZ_DATA by default). A Loader
// cuts a Set into shuffled, augmented mini-batches, preparing the next batch
// in a goroutine while the caller uses the current one.
//
// # Layout
//
// Pixels are NCHW: sample i occupies Pix[i*C*H*W : (i+1)*C*H*W], channel
// planes in order (gray, or R, G, B), each plane row-major. Labels[i] is the
// index of the sample's class in Classes.
//
// The readers expect these file layouts:
//
//   - IDX (MNIST, Fashion-MNIST): {train,t10k}-{images-idx3,labels-idx1}-ubyte,
//     plain or gzipped (detected by the magic bytes 1f 8b; a ".gz" name is
//     tried first). Only the unsigned byte element type (0x08) is read. Images
//     are N×H×W, labels N; the counts must match and labels must name a class.
//     Data after the declared payload is rejected as trailing garbage.
//
//   - CIFAR-10 binary: records of one label byte and 3072 pixel bytes (the
//     R, G, B planes of a 32×32 image); train is data_batch_1.bin … _5.bin in
//     order, test is test_batch.bin. A file size that is not a multiple of
//     3073 is an error naming the offset of the partial record.
//
//   - Image folders: ROOT/<class>/<file>.png|.jpg|.jpeg, where ROOT is PATH or,
//     if PATH has train/ or test/ sub-folders, PATH/<split>. Classes are the
//     sorted sub-folder names; other files and hidden names are ignored. The
//     same tree may come as a .tar or .tar.gz archive (optionally under one
//     top folder), which is streamed once without unpacking; members of the
//     other split are skipped without being decoded. All images must share
//     one size. C is 1 if every image is grayscale and 3 otherwise; alpha is
//     dropped after compositing onto black.
//
//   - NumPy tensors ("npy:X.npy,Y.npy", "npz:FILE.npz[:X,Y]"; package
//     internal/npy reads them): images N×C×H×W or N×H×W×C (Options.Layout,
//     else told apart by the channel count), N×H×W or N×D; labels N
//     integers. uint8 images are pixels like the formats above; float
//     images are kept in Set.Float and served as they are, not scaled.
//     The files have no split: Open returns the same samples for "train"
//     and "test" (Set.Unsplit).
//
// Headers are checked before memory is allocated: a declared payload above
// MaxBytes (2 GiB) is rejected, and buffers grow with the data actually
// read, so a short file cannot make a reader allocate what its header
// claims. Errors about malformed data are *FormatError values naming the
// file (archive members as "archive:member") and the byte offset, counted
// in the decompressed stream for gzipped files.
//
// # Determinism
//
// The same files always give the same Set. IDX and CIFAR binary sets keep
// file order. Image folders are ordered round-robin over the sorted classes:
// the first file (in sorted file-name order) of every class, then the second
// of every class, and so on, so every prefix — and thus Options.Limit — is
// as class-balanced as the data allows. Images are decoded by several
// goroutines, each writing only its own sample, and the error reported for a
// bad folder is the one of the first bad file in that order. Decoded JPEG
// pixels are those of Go's image/jpeg and may differ from other decoders.
//
// A Loader's batches depend only on the Set, the batch size, the seed and the
// epoch number: the sample order is a permutation drawn from math/rand/v2's
// PCG seeded with (seed, epoch), and crop offsets and flips are drawn in
// sample order from a second PCG stream, by one goroutine, so neither
// scheduling nor GOMAXPROCS changes them.
package dataset
