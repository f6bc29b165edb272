// Package onnx reads and writes ONNX model files and converts them to and
// from quartz's layer IR (package graph).
//
// # Wire format
//
// Decode and Encode handle the subset of the ONNX protobuf schema that a
// feed-forward CNN needs — ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto and ValueInfoProto with tensor types — on top
// of google.golang.org/protobuf/encoding/protowire, without generated code.
// Unknown fields are skipped; graph-valued attributes (If, Loop) are
// skipped too. Repeated numeric fields are accepted packed or unpacked.
// Decode errors name the message path (node index and name, initializer
// name, attribute) and the byte offset where parsing failed. Decoding never
// allocates more than a small multiple of the input size.
//
// Tensor values are read with Tensor.Float32s (float32, float16, bfloat16
// and float64, converted to float32) and Tensor.Int64s (int64, int32,
// bool). Both check that the declared dims match the bytes present exactly.
// Tensors stored as external data are rejected with ErrExternalData.
//
// # Conversion to the layer IR
//
// Convert (and ToGraph, which drops the notes) follows the chain from the
// single graph input that is not an initializer through the nodes, in file
// order. Each node must take the previous node's output as its only
// non-constant input; anything else (a residual Add, a Concat, a node that
// reads an earlier value) is a branch and fails with ErrUnsupported. Inputs
// must be defined before use, so cyclic or unsorted graphs fail too.
// Constant inputs come from initializers, Constant nodes, and Identity
// nodes applied to constants. Supported operators (default domain, opset
// 6 or later; opsets beyond 21 are read with a note):
//
//   - Conv (2-D; pads, strides, dilations, group, kernel_shape, and auto_pad
//     NOTSET, VALID, SAME_UPPER, SAME_LOWER resolved with the input shape)
//   - Gemm (transA 0, transB 0 or 1; alpha and beta folded into W and B)
//   - MatMul with a constant weight, merged with a following Add of a
//     constant bias into one Linear layer
//   - Relu; Clip (attributes before opset 11, constant inputs from 11;
//     Clip(0, +max) becomes ReLU); LeakyRelu (alpha, default 0.01; runs in
//     the ANN but has no Quartz equivalent)
//   - MaxPool (no dilations, storage_order 0), AveragePool
//     (count_include_pad), GlobalAveragePool, all with ceil_mode
//   - BatchNormalization (inference form), Dropout (inference; ratio kept)
//   - Identity (dropped), Flatten (axis 1), Reshape with a constant shape
//     [0,-1], [B,-1], [-1,K] or [B,K] where K is the sample size (read as
//     Flatten)
//   - Softmax or LogSoftmax as the last node, over each sample's scores as
//     a whole (dropped with a note: the model outputs logits)
//   - exporter patterns: Shape → Gather/Unsqueeze/Squeeze/Concat/Cast →
//     Reshape (x.view(x.size(0), -1)), evaluated with a symbolic batch
//     that may only pass through at axis 0; Pad with zero pads (dropped)
//     or zero padding of H and W merged into the following Conv or
//     unpadded floor-mode AveragePool; Transpose that is the identity, or
//     perm [0,3,1,2] on an NHWC graph input before any layer (absorbed:
//     quartz feeds NCHW, input shape read as [C,H,W], with a note);
//     Squeeze to [N,K] (read as Flatten)
//
// Opset 6 is read too (PyTorch's exporter before 2018): its Gemm broadcast
// and BatchNormalization/Dropout is_test=1 attributes are accepted.
//
// Any other operator, attribute or attribute value that changes semantics
// fails with an error that names the node and op and wraps ErrUnsupported.
//
// The graph input must be float32 [N,C,H,W] with fixed C, H and W; the
// batch dimension may be symbolic or fixed and is ignored. A rank-2 input
// [N,F] is read as InputShape [F,1,1] (with a note), which suits MLPs
// because Linear layers consume the flattened input.
//
// Layer names are the node names (or the first output name when a node has
// none). Model.Producer is the file's producer name and version, Opset the
// default-domain opset, InputName and OutputName the graph's input and
// output value names. Convert runs graph.Model.InferShapes and CheckFinite
// and wraps their errors.
//
// # Notes
//
// Convert and Load return, besides the model, a []string of notes: human
// readable records of changes that do not affect the model's results but
// that a user may want to know about (dropped final Softmax, folded Gemm
// factors, merged MatMul+Add, reinterpreted input shape, fixed batch size in
// a Reshape, opset newer than tested). ToGraph and ReadFile discard them.
//
// # Writing
//
// FromGraph writes IR version 7, opset 13, producer "quartz": parameters as
// raw little-endian float32 initializers named <layer>.weight, <layer>.bias
// (BatchNorm: .weight, .bias, .running_mean, .running_var; Clip: .min,
// .max; Dropout: .ratio), a graph input [N,C,H,W] and output [N,...] with
// symbolic batch "N", Linear as Gemm with transB=1, and node names equal to
// the layer names (conv1, relu2, ... for unnamed layers). Converting the
// result back gives the same layers, so graph → ONNX → graph is exact except
// for Producer and Opset; an empty model name is written as "quartz".
// WriteFile writes atomically.
package onnx
