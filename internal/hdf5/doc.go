// Package hdf5 writes and reads the small subset of HDF5 that NIR files
// (package nir) need, in pure Go.
//
// # Model
//
// A file is a tree: a root Group whose members are Groups and Datasets,
// each under a name (no '/', not "." or ".."). A Dataset is an n-dimensional
// array (Shape; nil or empty for a scalar) of one element Type: Float32,
// Float64, Int64 (all little-endian) or String (fixed-length, NUL-padded,
// UTF-8, every element padded to the longest). This is what h5py gives back
// as numpy arrays of float32, float64, int64 and bytes ("S" dtype).
//
// # What is written
//
// Write produces, in this order: a version-2 superblock (48 bytes, 8-byte
// offsets and lengths), then every object in post-order (a dataset's raw
// data directly before its object header, a group's members before the
// group), the root group last. Object headers are version 2 ("OHDR", Jenkins
// lookup3 checksum). Groups are "new-style compact": a Link Info message
// with no fractal heap or B-tree, a Group Info message and one hard Link
// message per member. Datasets carry a Dataspace (version 2: scalar or
// simple, no maximum dimensions), a Datatype (version 1), a Fill Value
// (version 3, "never defined", late allocation) and a contiguous Data Layout
// (version 3) message. There are no attributes, no chunking, no filters, no
// global heap (no variable-length strings), no free space. The HDF5 library
// reads this since release 1.8 (h5py, h5dump); the package tests check it
// with h5dump and h5py where installed.
//
// # What is read
//
// Read accepts exactly that subset: superblock version 2 or 3, version-2
// object headers with valid checksums (continuation messages and attribute
// messages are rejected), compact groups, hard links, the four element
// types, contiguous or unallocated storage. Anything else is rejected with a
// *FormatError naming the file offset; Read never panics on corrupt input
// (fuzzed), never follows a link cycle and never allocates more than the
// file's size for data.
package hdf5
