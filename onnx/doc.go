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
// Values stored as external data that were not loaded are refused with
// ErrExternalData; Convert loads them from Options.Dir (see below).
//
// # Conversion to the layer IR
//
// Convert (and ToGraph, which drops the notes) builds a graph.Model DAG
// from the single graph input that is not an initializer. It sorts the
// nodes topologically (stable in file order), so unsorted files read;
// names defined twice, inputs that nothing produces and cycles are errors
// naming the node. Every ONNX value is then either a constant or an
// activation:
//
//   - Constants are initializers, Constant nodes and the result of every
//     node whose inputs are all constants, evaluated on import (constant
//     folding): Identity, Cast, Reshape, Flatten, Squeeze/Unsqueeze,
//     Transpose, Shape, Size, Gather, Slice, Concat, ConstantOfShape,
//     Expand, Range, Where, elementwise arithmetic and comparisons. The
//     shape of an activation is a constant too, with the batch symbolic, so
//     exporter patterns such as x.view(x.size(0), -1) fold to a Reshape
//     with a constant shape. One folded constant may hold at most 1 GiB.
//   - Activations are graph nodes' outputs seen through a view: the file's
//     per-sample shape and, where it differs, a transposed or reordered
//     layout of the stored values. Reshape, Flatten, Squeeze, Unsqueeze
//     and Transpose of an activation move nothing: they change the view.
//     An NHWC graph input read only through Transpose [0,3,1,2] becomes an
//     NCHW input (with a note); a channels-last flatten before a Gemm or
//     MatMul becomes a reordering of the weight's columns. A node that
//     needs a different stored shape (Conv, pooling, a Softmax along one
//     axis) gets a Reshape or Flatten node. A view may not move the batch
//     axis.
//
// Operators on activations (default domain, opset 6 or later; opsets
// beyond 21 are read with a note):
//
//   - Conv (2-D; pads, strides, dilations, group, kernel_shape, and auto_pad
//     NOTSET, VALID, SAME_UPPER, SAME_LOWER resolved with the input shape)
//   - Gemm (transA 0, transB 0 or 1; alpha and beta folded into W and B);
//     MatMul with a constant [K,M] weight, merged with a following Add of a
//     constant bias into one Linear node
//   - Relu; Clip (Clip(0, +max) becomes ReLU); LeakyRelu, Tanh, Sigmoid,
//     HardSigmoid, HardSwish (ANN only: they run in package nn but have no
//     Quartz equivalent)
//   - MaxPool (no dilations, storage_order 0), AveragePool
//     (count_include_pad), GlobalAveragePool, all with ceil_mode;
//     ReduceMean over H and W (GlobalAvgPool)
//   - BatchNormalization (inference form), Dropout (inference; ratio kept),
//     Identity
//   - Add, Sub, Mul, Div with a constant: a per-channel or per-element
//     graph.Affine node, broadcasting the constant numpy-style over the
//     sample (a constant that differs per sample is refused); Affine nodes
//     are folded into a neighbouring Conv or Linear at the end where that
//     is exact (graph.FoldAffine)
//   - Add and Sum of activations of one shape (graph.Add, e.g. a residual
//     connection), Sub (an Add with a −1 Affine), Mul of two activations
//     (ANN only), Concat of activations along the channel axis
//   - MeanVarianceNormalization and LayerNormalization over per-sample
//     axes (graph.LayerNorm, then an Affine for the scale and bias; ANN
//     only; LayerNormalization's Mean and InvStdDev outputs may not be
//     read), LRN (ANN only)
//   - Elementwise functions (graph.Unary, ANN only): Abs, Neg, Exp, Log,
//     Sqrt, Reciprocal, Floor, Ceil, Round, Sign, Sin, Cos, Tan, Asin,
//     Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Erf, Softplus,
//     Softsign, Elu, Selu, Celu, ThresholdedRelu, Mish, Gelu (either
//     approximation); Pow with a constant exponent of one value; PRelu
//     with a constant slope (one value, one per channel or one per
//     element, stored in Scale; opset 6's C slopes are per channel)
//   - ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
//     ReduceL2, ReduceSumSquare, ReduceLogSumExp, ReduceLogSum over
//     per-sample axes (attribute or constant input), keepdims 0 or 1
//     (graph.Reduce, ANN only; a ReduceMean over H and W stays a
//     GlobalAvgPool; the batch axis, empty axes and a scalar per sample are
//     refused)
//   - Sub, Div, Pow, Max, Min (and Add, Mul where the shapes differ) of two
//     activations of one rank broadcast numpy-style per sample
//     (graph.Binary, ANN only); Max, Min, Sum and Mean of several inputs
//     (a chain; Mean adds a 1/n Affine); Max/Min of an activation and a
//     constant of one value is a Clip
//   - Pad: zero pads are dropped; zero padding of H and W is merged into
//     the Conv or unpadded floor-mode AveragePool that reads it
//   - Softmax or LogSoftmax over each sample's values as a whole, read only
//     by the graph output: recorded in graph.Model.OutputActivation and not
//     applied (the model outputs logits); an opset-13 Softmax along one
//     axis inside the network is a graph.Softmax node (ANN only)
//
// Opset 6 is read too (PyTorch's exporter before 2018): its Gemm broadcast
// and BatchNormalization/Dropout is_test=1 attributes are accepted.
//
// Any other operator on an activation, attribute or attribute value that
// changes semantics fails with an error that names the node, the op and
// the opset and wraps ErrUnsupported.
//
// The graph input must be float32 [N,C,H,W], [N,F] (read as InputShape
// [F,1,1], with a note) or [N,A,B] (read as [A,B,1]), with fixed non-batch
// dimensions; the batch dimension may be symbolic or fixed and is ignored.
//
// Output: the graph output named by Options.Output, or the only one, or,
// among several, the class scores (a flat output ending in a softmax, else
// the narrowest flat one; with a note); nodes it does not depend on are
// dropped. The model's output has the file's shape (a Reshape or Flatten
// is added for a view); an output that is the graph input itself becomes
// one identity Dropout node, since a graph has at least one node.
//
// External data (tensors stored in separate files, the current PyTorch
// exporter's default) is read from Options.Dir, which Load and LoadWith
// set to the model file's folder. A location must be a relative path that
// stays inside that folder: absolute paths, ".." and symbolic links that
// leave it are refused with ErrExternalData.
//
// Node names are the ONNX node names (or the first output name when a node
// has none). Model.Producer is the file's producer name and version, Opset
// the default-domain opset, InputName and OutputName the graph's input and
// chosen output value names. Convert runs graph.Model.InferShapes and
// CheckFinite and wraps their errors.
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
// the layer names (conv1, relu2, ... for unnamed layers). Unary, Reduce
// and Binary nodes are written as their ONNX operators (Gelu raises the
// opset to 20, Mish to 18; Reduce axes are then inputs). Converting the
// result back gives the same layers, so graph → ONNX → graph is exact except
// for Producer and Opset; an empty model name is written as "quartz".
// WriteFile writes atomically.
package onnx
