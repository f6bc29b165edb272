// Package graph is quartz's layer IR: a feed-forward network as an ordered
// chain of layers with their parameters and shapes, independent of any file
// format (package onnx reads and writes it) and of any engine (package nn
// trains and runs it, package snn converts it).
//
// # Model
//
// A Model has one input of shape [C,H,W] (batch excluded) and a chain of
// Layers; layer i consumes the output of layer i−1. Every Layer records its
// InShape and OutShape once InferShapes has run. Shapes never include the
// batch dimension.
//
// # Tensor layouts
//
// Conv weights are [Cout, Cin/Group, KH, KW] row-major; Linear weights are
// [Out, In] row-major (y = W·x + b, ONNX Gemm with transB = 1). Activations
// are NCHW. Pads are [top, left, bottom, right].
//
// # Units
//
// MACs count multiply-accumulates of one sample: conv
// Cout·Hout·Wout·(Cin/Group)·KH·KW, linear In·Out; pooling and activations
// count zero.
package graph
