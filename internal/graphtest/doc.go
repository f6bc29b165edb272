// Package graphtest builds the small graph models that the tests of
// several packages share: a residual block, a chain with an ANN-only
// op, and the 3×3 convolution they are made of. Each call returns a
// fresh model that the caller may modify.
package graphtest
