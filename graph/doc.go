// Package graph is quartz's network IR: a feed-forward network as a DAG of
// nodes with their parameters and shapes, independent of any file format
// (package onnx reads and writes it) and of any engine (package nn trains
// and runs it, package snn converts it).
//
// # Model
//
// A Model has one input, of per-sample shape InputShape = [C,H,W] ([F,1,1]
// for a model that takes flat vectors), and a list of Nodes in topological
// order. Node.Inputs holds the indices in Nodes of the nodes it reads, each
// smaller than its own, or ModelInput (−1) for the model's input. Nil Inputs
// mean the node before (the model input for node 0), so a chain needs no
// Inputs at all; InferShapes makes them explicit. Add and Concat read two
// or more inputs, Mul and Binary two, every other op one. The output of the model is
// the output of its last node; every other node must be read by a later
// one. Consumers gives the readers of every node, CheckChain tells a chain
// from a branching model, CheckConvertible finds the ops that run only in
// the ANN.
//
// InferShapes sets every node's InShape (the shape of its first input) and
// OutShape and checks the graph: order, arity, shapes and parameter sizes.
// Shapes never include the batch dimension.
//
// # Passes
//
// Simplify and InferenceForm return a new model computing the same
// function, to float32 rounding of the folded parameters; FoldPreprocess
// and PrependPreprocess return one that applies an input transform first.
// None changes its argument.
//
// # Tensor layouts
//
// Conv weights are [Cout, Cin/Group, KH, KW] row-major; Linear weights are
// [Out, In] row-major (y = W·x + b, ONNX Gemm with transB = 1). Activations
// are NCHW; a per-sample value is row-major in its shape, so Flatten and
// Reshape keep the order of the values and Concat, along axis 0, appends
// them. Pads are [top, left, bottom, right]. An Affine node has one scale
// and shift per channel (axis 0) or one per element.
//
// # Units
//
// MACs count multiply-accumulates of one sample: conv
// Cout·Hout·Wout·(Cin/Group)·KH·KW, linear In·Out; pooling, activations,
// Affine, Add, Concat, Mul, Unary, Reduce and Binary count zero. Params counts weights, biases and
// BatchNorm's four vectors; an Affine node's fixed Scale and Shift are not
// parameters.
package graph
