// Package graphtest builds the small graph models and data sets that the
// tests of several packages share: a residual block, a chain with an
// ANN-only op, the 3×3 convolution they are made of, and a four-class
// image set. Each call returns a fresh value that the caller may modify.
package graphtest
