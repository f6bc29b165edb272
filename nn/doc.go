// Package nn trains and runs a graph.Model on the CPU: a float32, pure-Go
// (plus internal/gemm's assembly kernel), multi-core CNN engine.
//
// # Usage
//
//	m, _ := nn.Zoo("lenet5", []int{1, 28, 28}, 10, 1)
//	nn.Init(m, seed)
//	net, _ := nn.New(m, workers)   // shares m's parameter slices
//	defer net.Close()
//	net.SetSeed(seed)              // dropout RNG
//	opt := &nn.SGD{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4}
//	sched := nn.Cosine(0.05, 0, epochs)
//	dl := make([]float32, batch*net.OutSize())
//	for step := ... {
//		opt.SetLR(sched(epoch + float64(i)/float64(stepsPerEpoch)))
//		net.ZeroGrad()
//		out := net.Forward(x, n, true)
//		loss, _, correct := nn.SoftmaxCrossEntropy(out, labels, n, dl)
//		net.Backward(dl)
//		opt.Step(net)
//	}
//	logits := net.Predict(testX, nTest)  // eval mode
//	// m now holds the trained weights and BatchNorm running statistics.
//
// # The graph
//
// A Net runs the DAG of a graph.Model: its nodes in topological order, each
// reading the outputs of earlier nodes (or the model input) by index, the
// last node's output being the model's. Every node owns an output buffer
// [n, size of its OutShape], kept from Forward to Backward, except the
// alias nodes (Flatten, Reshape, and Dropout outside training), whose
// output is their input's buffer itself: no copy. Activations reports the
// outputs by node index, and Param.Layer is a node index. Predict and
// Activations run without Forward's per-node buffers: a node's output is
// reused once its readers have run (a chain needs two buffers;
// EstimateInference gives the bytes), and a Net that never trains holds no
// gradient buffers.
//
// Backward runs the nodes in reverse order. Each value (a node's output,
// shared with the alias nodes that pass it on, or the model input) has one
// gradient buffer; the first reader back-propagated writes it, later
// readers add to it, so a value read by several nodes receives the sum of
// their gradients. Add passes dy to every input, Concat splits dy by
// channel, Mul gives dx0 = dy·x1 and dx1 = dy·x0. A gradient buffer is
// taken from a pool when the value's first reader is back-propagated and
// returned after its producer is, so a chain runs with two, as before the
// graph became a DAG; for chains, values and gradients are bit for bit
// those of the chain engine (tested). Gradient buffers are allocated on the
// first Backward.
//
// # Layouts and units
//
// Batches are row-major [n, C, H, W] float32 (NCHW), one sample after the
// other; a node's output for n samples is [n, size of its OutShape]. Conv
// weights are [Cout, Cin/Group, KH, KW], Linear weights [Out, In], as in
// package graph. Forward returns logits (no softmax); SoftmaxCrossEntropy
// takes the mean over the batch, so gradients are of the mean loss.
// Learning rates and weight decay are per step, as in PyTorch.
//
// # Ownership
//
// New shares the model's parameter slices: training updates them in place,
// so the *graph.Model given to New (Net.Model) always holds the current
// weights and BatchNorm running statistics, ready to save or convert.
// Gradients, optimizer state, activations and scratch live in the Net and
// optimizer. Slices returned by Forward and Predict, and those passed to an
// Activations callback, belong to the Net and are overwritten by the next
// call.
//
// # Parallelism
//
// A Net owns workers−1 long-lived goroutines; the caller's goroutine is
// worker 0. Conv, Linear, pooling, Affine, the elementwise activations,
// Softmax, LayerNorm, LRN and the joins (Add, Concat, Mul) split the batch
// into `workers` contiguous sample ranges (sizes n·w/workers boundaries);
// BatchNorm splits channels. Each worker has its own im2col/GEMM scratch
// and its own partial weight gradients, which are summed in worker order
// after the layer's backward. Buffers are allocated on first use and grow
// only when a larger batch arrives: a training step in steady state
// allocates nothing (tested).
//
// # Determinism
//
// For a given seed, worker count and batch sequence, training is
// bit-for-bit reproducible: every sum has a fixed order (per-sample work is
// independent of the split; weight-gradient partials are reduced in worker
// order; BatchNorm statistics run over samples in order; internal/gemm is
// deterministic). Different worker counts split the weight-gradient sums
// differently and agree only to rounding. Dropout masks are drawn from a
// PCG generator seeded by (Net seed, SplitMix64(step<<16 ^ layer index)),
// sequentially over the whole batch, so they do not depend on the worker
// count; step counts training-mode Forward calls since New or SetSeed.
//
// # Layer semantics
//
// They follow PyTorch: Conv2d with stride, asymmetric padding, dilation and
// groups (im2col + GEMM; depthwise, groups = Cin, runs as a direct
// convolution, depthwise.go); Linear; ReLU and Clip
// (gradient passes where Min < x < Max); LeakyReLU (x if x > 0, else
// Alpha·x; gradient Alpha where x ≤ 0); MaxPool2d (first maximum in the
// window, padding never wins, ceil mode); AvgPool2d with count_include_pad
// either way, divisors as avg_pool2d; GlobalAvgPool; BatchNorm over [C,H,W]
// (2-d) or [C] (1-d) with batch statistics in training, running statistics
// updated with momentum BNMomentum = 0.1 and the unbiased batch variance,
// running statistics in eval; inverted Dropout; Flatten and Reshape (no-ops
// on the flat layout); Affine per channel or per element (fixed, not
// trained).
//
// The ANN-only ops: Tanh, Sigmoid, SiLU (x·sigmoid(x)), HardSigmoid
// (max(0, min(1, Alpha·x + Bias)), gradient Alpha strictly inside),
// HardSwish (x·max(0, min(1, x/6 + ½)), gradient as PyTorch's:
// 0 below −3, x/3 + ½ up to 3, 1 above), evaluated in float64 and rounded;
// Softmax along Axis of the per-sample shape (max-subtracted, float64
// sums); LayerNorm, (x − mean)/√(var + Eps) over the per-sample Axes with
// the population variance and no scale or bias (ONNX
// MeanVarianceNormalization, whose Eps is 1e-9; the Eps comes from the
// node); LRN across channels as ONNX defines it, y = x/(Bias +
// Alpha/Size·Σ x²)^Power over channels c−⌊(Size−1)/2⌋ … c+⌈(Size−1)/2⌉;
// Unary (graph.UnaryFns, evaluated in float64 and rounded; gradients
// the derivatives, 0 for Floor, Ceil, Round and Sign); Reduce over
// per-sample axes (float64 sums in input order; Max and Min give the
// whole gradient to the first extreme element of a group); and the joins:
// Add (two or more inputs, summed left to right in float32), Concat (along
// the channel axis), Mul (two inputs) and Binary (two inputs broadcast
// numpy-style; the gradient of a broadcast input sums over the axes it is
// repeated along; Max/Min pass it to the first input on ties).
//
// # Optimizers and initialization
//
// SGD (momentum, Nesterov) and Adam (L2 or decoupled AdamW decay) follow
// torch.optim; weight decay applies to Conv and Linear weights only, never
// to biases or BatchNorm parameters. Init reproduces PyTorch's default
// layer initialization, U(±1/√fanIn) for weights and biases.
package nn
