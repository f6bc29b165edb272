package nn

import (
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// Param is one trainable tensor of the network: a view of a parameter slice
// of the model (Data) and its gradient accumulator (Grad), same length.
type Param struct {
	Layer int    // index of the node in Model().Nodes
	Name  string // "<layer name>.weight", ".bias", ".gamma" or ".beta"
	Data  []float32
	Grad  []float32
	// Decay is true for Conv and Linear weights, the only parameters that
	// optimizers apply weight decay to (biases and BatchNorm gamma/beta are
	// not decayed).
	Decay bool
}

// layer is the op of a node with one input. x is the [n, in] input, y the
// [n, out] output; both stay valid between forward and backward.
type layer interface {
	// forward computes y from x for n samples, caching what backward needs.
	forward(x, y []float32, n int, train bool)
	// backward writes dx (when dx is non-nil) from dy and accumulates the
	// parameter gradients, using the caches of the last forward. It
	// overwrites dx; the Net sums the gradients of a value read twice.
	backward(x, y, dy, dx []float32, n int)
	// alias reports that the output is the input itself (Flatten, Reshape,
	// Dropout outside training); such a layer has no forward or backward
	// work.
	alias(train bool) bool
	params() []*Param
}

// join is the op of a node with several inputs (Add, Concat, Mul).
type join interface {
	forward(xs [][]float32, y []float32, n int)
	// backward writes (acc[k] false) or adds (acc[k] true) the gradient of
	// input k into dxs[k], skipping nil ones.
	backward(xs [][]float32, y, dy []float32, dxs [][]float32, acc []bool, n int)
}

// node is one node of the DAG as the Net runs it: exactly one of l and j
// is set.
type node struct {
	l   layer
	j   join
	in  []int       // inputs: node indices or graph.ModelInput
	xs  [][]float32 // the inputs' outputs during a pass
	dxs [][]float32 // join: the inputs' gradient buffers during Backward
	acc []bool      // join: whether dxs[k] already holds a gradient
}

// Net trains and runs a graph.Model. It is not safe for concurrent use.
type Net struct {
	m       *graph.Model
	nodes   []node
	layers  []layer // layers[i] is node i's single-input layer, nil for a join
	pool    *pool
	inSize  int
	outSize int
	sizes   []int // per-sample output size of every node
	maxSize int   // largest per-sample activation, input included
	ps      []*Param

	seed uint64
	step uint64 // training forwards so far; feeds the dropout RNG

	bnMom float64 // BatchNorm running-statistics momentum: BNMomentum

	cap       int         // batch capacity of the buffers
	bufs      [][]float32 // per-node output buffers, [cap*sizes[i]]
	in        []float32   // the last Forward's input
	acts      [][]float32 // acts[i] = output of node i (an alias node's: its input's)
	lastN     int
	valid     bool // acts hold a Forward's caches
	lastTrain bool // the mode of the last Forward

	// Backward's gradient buffers. A value (a node's output, the model
	// input at index len(nodes)) and the alias nodes that pass it on share
	// one gradient, slot[v]; slot buffers come from gpool, [cap*maxSize]
	// each, taken when the first reader of the value is back-propagated
	// and given back after its producer is, so a chain needs two.
	slot    []int
	gslot   [][]float32 // by slot: the gradient buffer during Backward
	written []bool      // by slot: whether gslot holds a gradient yet
	owned   []bool      // by slot: gslot came from gpool
	gpool   [][]float32
	gfree   []int // free gpool indices, a stack
	gidx    []int // by slot: its gpool index
	scratch []float32

	inputGrad bool      // tests: also compute the gradient of the input
	dInput    []float32 // its value after Backward

	pred    []float32
	predCap int
	batch   int // Predict's batch: BatchFor(m)

	live  *livePlan   // inference buffers by liveness (infer.go)
	lbufs [][]float32 // by slot
}

// PredictBatch is the largest batch Predict runs the network at; a network
// whose activations are large runs fewer samples at a time (BatchFor).
const PredictBatch = 256

// InferBudget bounds the activation memory of one inference batch:
// Predict runs, and callers of Activations should chunk, BatchFor(m)
// samples at a time. 256 MiB keeps CIFAR networks at PredictBatch and an
// ImageNet-size VGG-11 (two 64×224×224 activations, 25.7 MB a sample) at
// 10 samples.
const InferBudget = 256 << 20

// BatchFor returns the inference batch for m: as many samples as keep its
// live activations (the slots EstimateInference counts) within
// InferBudget, at most PredictBatch, at least 1. m must have its shapes
// inferred. Results do not depend on the batch: every sample is computed
// alone, bit for bit.
func BatchFor(m *graph.Model) int {
	p := planLive(m)
	per := p.bytes(1)
	if per <= 0 {
		return PredictBatch
	}
	return int(max(1, min(int64(PredictBatch), InferBudget/per)))
}

// New builds a network over m's nodes for the given number of worker
// goroutines (workers < 1 means runtime.NumCPU()). It runs m.InferShapes.
//
// The Net shares m's parameter slices (W, B, Gamma, Beta, Mean, Var): it
// trains them in place, so m (also returned by Model) always holds the
// current trained values and BatchNorm running statistics. Do not replace
// those slices while the Net is in use; changing their values is fine.
// The optimizers' state and the gradients live in the Net.
func New(m *graph.Model, workers int) (*Net, error) {
	if m == nil {
		return nil, fmt.Errorf("nn: nil model")
	}
	if err := m.InferShapes(); err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	net := &Net{m: m, pool: newPool(workers), seed: 1, bnMom: BNMomentum, batch: BatchFor(m)}
	net.inSize = graph.Size(m.InputShape)
	net.maxSize = net.inSize
	for i, l := range m.Nodes {
		nd := node{in: slices.Clone(m.InputsOf(i))}
		var ly layer
		var err error
		if isJoin(l.Op) {
			nd.j, err = net.buildJoin(l)
			nd.dxs, nd.acc = make([][]float32, len(nd.in)), make([]bool, len(nd.in))
		} else {
			ly, err = net.build(i, l)
			nd.l = ly
		}
		if err != nil {
			net.pool.close()
			return nil, fmt.Errorf("nn: layer %d %q (%v): %w", i, l.Name, l.Op, err)
		}
		nd.xs = make([][]float32, len(nd.in))
		net.nodes = append(net.nodes, nd)
		net.layers = append(net.layers, ly)
		if ly != nil {
			net.ps = append(net.ps, ly.params()...)
		}
		s := graph.Size(l.OutShape)
		net.sizes = append(net.sizes, s)
		net.maxSize = max(net.maxSize, s)
	}
	nv := len(m.Nodes) + 1
	net.outSize = graph.Size(m.OutputShape())
	net.acts = make([][]float32, len(m.Nodes))
	net.bufs = make([][]float32, len(m.Nodes))
	net.slot = make([]int, nv)
	net.gslot = make([][]float32, nv)
	net.written = make([]bool, nv)
	net.owned = make([]bool, nv)
	net.gidx = make([]int, nv)
	runtime.AddCleanup(net, func(p *pool) { p.close() }, net.pool)
	return net, nil
}

func (net *Net) build(i int, l *graph.Node) (layer, error) {
	in := l.InShape
	switch l.Op {
	case graph.Conv:
		return newConv(net.pool, i, l)
	case graph.Linear:
		return newLinear(net.pool, i, l), nil
	case graph.ReLU:
		return newElementwise(net.pool, opReLU, l), nil
	case graph.Clip:
		if !(l.Min <= l.Max) {
			return nil, fmt.Errorf("clip bounds [%v, %v]", l.Min, l.Max)
		}
		return newElementwise(net.pool, opClip, l), nil
	case graph.LeakyReLU:
		if math.IsNaN(float64(l.Alpha)) || math.IsInf(float64(l.Alpha), 0) {
			return nil, fmt.Errorf("leaky ReLU slope %v", l.Alpha)
		}
		return newElementwise(net.pool, opLeakyReLU, l), nil
	case graph.MaxPool, graph.AvgPool:
		return newPool2d(net.pool, l), nil
	case graph.GlobalAvgPool:
		return &gap{c: in[0], hw: in[1] * in[2], p: net.pool}, nil
	case graph.BatchNorm:
		return newBatchNorm(net.pool, &net.bnMom, i, l)
	case graph.Dropout:
		if !(l.Ratio >= 0 && l.Ratio <= 1) {
			return nil, fmt.Errorf("dropout ratio %v outside [0, 1]", l.Ratio)
		}
		return &dropout{net: net, idx: i, ratio: l.Ratio}, nil
	case graph.Flatten, graph.Reshape:
		return flatten{}, nil
	case graph.Affine:
		return newAffine(net.pool, l), nil
	case graph.Tanh:
		return newElementwise(net.pool, opTanh, l), nil
	case graph.Sigmoid:
		return newElementwise(net.pool, opSigmoid, l), nil
	case graph.HardSigmoid:
		if !finite(l.Alpha) || !finite(l.Bias) {
			return nil, fmt.Errorf("hard sigmoid alpha %v, bias %v", l.Alpha, l.Bias)
		}
		return newElementwise(net.pool, opHardSigmoid, l), nil
	case graph.HardSwish:
		return newElementwise(net.pool, opHardSwish, l), nil
	case graph.SiLU:
		return newElementwise(net.pool, opSiLU, l), nil
	case graph.Softmax:
		return newSoftmax(net.pool, l), nil
	case graph.LayerNorm:
		if !(l.Eps >= 0) || !finite(l.Eps) {
			return nil, fmt.Errorf("layer norm epsilon %v", l.Eps)
		}
		return newLayerNorm(net.pool, l), nil
	case graph.LRN:
		if !finite(l.Alpha) || !finite(l.Power) || !finite(l.Bias) {
			return nil, fmt.Errorf("LRN alpha %v, beta %v, bias %v", l.Alpha, l.Power, l.Bias)
		}
		return newLRN(net.pool, l), nil
	case graph.Unary:
		if !finite(l.Alpha) || !finite(l.Power) {
			return nil, fmt.Errorf("unary %s alpha %v, power %v", l.Fn, l.Alpha, l.Power)
		}
		if l.Fn == "Celu" && l.Alpha == 0 {
			return nil, fmt.Errorf("celu alpha 0")
		}
		return newUnary(net.pool, l), nil
	case graph.Reduce:
		return newReduce(net.pool, l), nil
	case graph.Quant:
		if l.Levels < 1 || !(l.Min <= l.Max) || math.IsNaN(float64(l.Min)) {
			return nil, fmt.Errorf("quant levels %d, bounds [%v, %v]", l.Levels, l.Min, l.Max)
		}
		return newElementwise(net.pool, opQuant, l), nil
	}
	return nil, fmt.Errorf("unsupported op")
}

func isJoin(op graph.Op) bool {
	return op == graph.Add || op == graph.Concat || op == graph.Mul || op == graph.Binary
}

func (net *Net) buildJoin(l *graph.Node) (join, error) {
	switch l.Op {
	case graph.Add:
		return newAdd(net.pool, len(l.Inputs), graph.Size(l.OutShape)), nil
	case graph.Mul:
		return newMul(net.pool, graph.Size(l.OutShape)), nil
	case graph.Binary:
		shape := func(j int) []int {
			if j == graph.ModelInput {
				return net.m.InputShape
			}
			return net.m.Nodes[j].OutShape
		}
		return newBinary(net.pool, l, shape(l.Inputs[0]), shape(l.Inputs[1])), nil
	}
	return newConcat(net.pool, l, net.m), nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Close stops the worker goroutines. The Net must not be used afterwards.
// It is optional: an unreachable Net stops them itself.
func (net *Net) Close() { net.pool.close() }

// Model returns the model the Net trains (the same *graph.Model given to New;
// its parameter slices hold the current values).
func (net *Net) Model() *graph.Model { return net.m }

// Workers returns the number of worker goroutines (the caller's included).
func (net *Net) Workers() int { return net.pool.workers }

// InSize and OutSize are the per-sample input and output lengths.
func (net *Net) InSize() int  { return net.inSize }
func (net *Net) OutSize() int { return net.outSize }

// Params returns the trainable parameters in node order (weight, bias,
// gamma, beta). The slice and its Params are owned by the Net.
//
// The gradient buffers are allocated on the first call of Params, ZeroGrad,
// Backward or an optimizer's Step: a Net that only runs inference has none.
func (net *Net) Params() []*Param { net.grads(); return net.ps }

// grads allocates the parameter gradients.
func (net *Net) grads() {
	for _, p := range net.ps {
		if p.Grad == nil {
			p.Grad = make([]float32, len(p.Data))
		}
	}
}

// ZeroGrad clears every parameter gradient.
func (net *Net) ZeroGrad() {
	net.grads()
	for _, p := range net.ps {
		clear(p.Grad)
	}
}

// SetSeed sets the seed of the dropout RNG and restarts its step counter.
// Dropout masks are a function of (seed, training step, layer index) only.
func (net *Net) SetSeed(seed uint64) { net.seed, net.step = seed, 0 }

// Steps returns the number of training-mode Forward calls since New or
// SetSeed.
func (net *Net) Steps() uint64 { return net.step }

// SetSteps sets the training step counter, to resume a run from a
// checkpoint with the same dropout masks as an uninterrupted one.
func (net *Net) SetSteps(n uint64) { net.step = n }

func (net *Net) ensure(n int) {
	if n <= net.cap {
		return
	}
	net.cap = n
	for i, s := range net.sizes {
		if _, ok := net.layers[i].(flatten); ok {
			continue // always an alias
		}
		net.bufs[i] = make([]float32, n*s)
	}
	net.gpool, net.gfree, net.scratch = nil, nil, nil // Backward reallocates
}

// Forward runs n samples x (NCHW, n·C·H·W values) through the network and
// returns the output [n, OutSize()]. The result is owned by the Net and valid
// until the next call. In train mode BatchNorm uses (and updates the running
// statistics from) batch statistics and Dropout drops; either way the caches
// for Backward are kept. x must not change until Backward is done.
func (net *Net) Forward(x []float32, n int, train bool) []float32 {
	if n < 1 || len(x) < n*net.inSize {
		panic(fmt.Sprintf("nn: Forward: %d values for %d samples of %d", len(x), n, net.inSize))
	}
	if train {
		net.step++
	}
	net.ensure(n)
	net.in = x[:n*net.inSize]
	for i := range net.nodes {
		nd := &net.nodes[i]
		for k, j := range nd.in {
			nd.xs[k] = net.value(j)
		}
		if nd.l != nil && nd.l.alias(train) {
			net.acts[i] = nd.xs[0]
			continue
		}
		out := net.bufs[i][:n*net.sizes[i]]
		if nd.l != nil {
			nd.l.forward(nd.xs[0], out, n, train)
		} else {
			nd.j.forward(nd.xs, out, n)
		}
		net.acts[i] = out
	}
	net.lastN, net.valid, net.lastTrain = n, true, train
	return net.acts[len(net.nodes)-1]
}

// value returns the output of node j of the last Forward, or its input for
// graph.ModelInput.
func (net *Net) value(j int) []float32 {
	if j == graph.ModelInput {
		return net.in
	}
	return net.acts[j]
}

// Backward back-propagates dout, the gradient of the loss with respect to
// the last Forward's output ([n, OutSize()]), and adds the parameter
// gradients to Params()[i].Grad. It reads dout and does not keep it.
//
// The nodes run in reverse order. A value read by several nodes receives
// the sum of their gradients: the first reader back-propagated writes its
// gradient buffer, later ones add to it (through a scratch buffer for
// single-input layers, directly for joins).
func (net *Net) Backward(dout []float32) {
	if !net.valid {
		panic("nn: Backward without Forward")
	}
	net.grads()
	n := net.lastN
	if len(dout) < n*net.outSize {
		panic(fmt.Sprintf("nn: Backward: %d values for %d samples of %d", len(dout), n, net.outSize))
	}
	nn := len(net.nodes)
	in := nn // the model input's value index
	vi := func(j int) int {
		if j == graph.ModelInput {
			return in
		}
		return j
	}
	// Slots: an alias node passes its input's gradient slot on.
	net.slot[in] = in
	for i := range net.nodes {
		nd := &net.nodes[i]
		if nd.l != nil && nd.l.alias(net.lastTrain) {
			net.slot[i] = net.slot[vi(nd.in[0])]
		} else {
			net.slot[i] = i
		}
	}
	clear(net.gslot)
	clear(net.written)
	clear(net.owned)
	net.gfree = net.gfree[:0]
	for k := len(net.gpool) - 1; k >= 0; k-- {
		net.gfree = append(net.gfree, k)
	}
	so := net.slot[nn-1]
	net.gslot[so], net.written[so] = dout[:n*net.outSize], true
	// target returns the gradient buffer of value j, taking one from the
	// pool on first use, or nil when no gradient is wanted (the input).
	target := func(j int) (buf []float32, acc bool) {
		v := vi(j)
		s := net.slot[v]
		if s == in && !net.inputGrad {
			return nil, false
		}
		if net.gslot[s] == nil {
			var k int
			if len(net.gfree) > 0 {
				k = net.gfree[len(net.gfree)-1]
				net.gfree = net.gfree[:len(net.gfree)-1]
			} else {
				k = len(net.gpool)
				net.gpool = append(net.gpool, make([]float32, net.cap*net.maxSize))
			}
			net.gidx[s], net.owned[s] = k, true
			size := net.inSize
			if v < nn {
				size = net.sizes[v]
			}
			net.gslot[s] = net.gpool[k][:n*size]
		}
		acc = net.written[s]
		net.written[s] = true
		return net.gslot[s], acc
	}
	for i := nn - 1; i >= 0; i-- {
		nd := &net.nodes[i]
		if net.slot[i] != i { // alias node: dx = dy, the same buffer
			continue
		}
		dy := net.gslot[i]
		y := net.acts[i]
		for k, j := range nd.in {
			nd.xs[k] = net.value(j)
		}
		if nd.l != nil {
			dx, acc := target(nd.in[0])
			if acc {
				if net.scratch == nil {
					net.scratch = make([]float32, net.cap*net.maxSize)
				}
				sc := net.scratch[:len(dx)]
				nd.l.backward(nd.xs[0], y, dy, sc, n)
				addTo(dx, sc)
			} else {
				nd.l.backward(nd.xs[0], y, dy, dx, n)
			}
		} else {
			for k, j := range nd.in {
				nd.dxs[k], nd.acc[k] = target(j)
			}
			nd.j.backward(nd.xs, y, dy, nd.dxs, nd.acc, n)
			clear(nd.dxs)
		}
		if net.owned[i] {
			net.gfree = append(net.gfree, net.gidx[i])
		}
		net.gslot[i] = nil
	}
	for i := range net.nodes {
		clear(net.nodes[i].xs)
	}
	if net.inputGrad {
		net.dInput = net.gslot[in]
	}
}

// Batch returns the batch Predict runs at: BatchFor of the model.
func (net *Net) Batch() int { return net.batch }

// Predict returns the network's outputs [n, OutSize()] for n samples in eval
// mode, running BatchFor(m) samples at a time. The result is owned by the
// Net and valid until the next Predict. It invalidates Backward's caches.
//
// Predict and Activations keep no buffers for Backward: a node's output
// buffer is reused once every node that reads it has run (a chain runs on
// two buffers of the largest activation), separately from Forward's
// per-node buffers, which they do not allocate. The values are those of
// Forward(x, n, false), bit for bit.
func (net *Net) Predict(x []float32, n int) []float32 {
	if len(x) < n*net.inSize {
		panic(fmt.Sprintf("nn: Predict: %d values for %d samples of %d", len(x), n, net.inSize))
	}
	if n*net.outSize > len(net.pred) {
		net.pred = make([]float32, n*net.outSize)
	}
	out := net.pred[:n*net.outSize]
	for lo := 0; lo < n; lo += net.batch {
		b := min(net.batch, n-lo)
		y := net.infer(x[lo*net.inSize:(lo+b)*net.inSize], b, nil)
		copy(out[lo*net.outSize:], y)
	}
	net.valid = false
	return out
}

// RecomputeBatchNorm sets the running statistics of every BatchNorm layer
// to the plain mean, over the given batches, of the batch statistics it
// normalizes with in training mode: the batch mean and the unbiased batch
// variance of its input, where the layers before it run as in training
// (BatchNorm by batch statistics, Dropout dropping). Weights that were not
// trained as they are, such as an average of weights from several epochs
// (stochastic weight averaging), have no running statistics of their own;
// this pass gives them some. batches yields (x, n) pairs as Forward takes
// them. Parameters and the dropout step count are left as they were. It
// returns the number of samples seen; with none, nothing changes.
func (net *Net) RecomputeBatchNorm(batches iter.Seq2[[]float32, int]) int {
	step := net.step
	defer func() { net.bnMom, net.step = BNMomentum, step }()
	k, seen := 0, 0
	for x, n := range batches {
		k++
		net.bnMom = 1 / float64(k) // batch k enters the mean with weight 1/k
		net.Forward(x, n, true)
		seen += n
	}
	net.valid = false
	return seen
}

// Activations runs n samples in eval mode and calls fn(i, out) for every
// node i in order, as soon as node i is computed, where out is node i's
// output [n, size of OutShape] (for Flatten, Reshape and Dropout, the same
// values as their input). out is owned by the Net and only valid during the
// call: its buffer is reused for later nodes once every reader of node i
// has run (see Predict), so fn copies what it keeps. All n samples run as
// one batch, so memory grows with n; callers take large sets in chunks. It
// invalidates Backward's caches.
func (net *Net) Activations(x []float32, n int, fn func(node int, out []float32)) {
	if n < 1 || len(x) < n*net.inSize {
		panic(fmt.Sprintf("nn: Activations: %d values for %d samples of %d", len(x), n, net.inSize))
	}
	net.infer(x, n, fn)
}
