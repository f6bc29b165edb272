package nn

import (
	"fmt"
	"iter"
	"math"
	"runtime"

	"github.com/quartz-snn/quartz/graph"
)

// Param is one trainable tensor of the network: a view of a parameter slice
// of the model (Data) and its gradient accumulator (Grad), same length.
type Param struct {
	Layer int    // index into Model().Layers
	Name  string // "<layer name>.weight", ".bias", ".gamma" or ".beta"
	Data  []float32
	Grad  []float32
	// Decay is true for Conv and Linear weights, the only parameters that
	// optimizers apply weight decay to (biases and BatchNorm gamma/beta are
	// not decayed).
	Decay bool
}

// layer is one op of the chain. x is the [n, in] input, y the [n, out]
// output; both stay valid between forward and backward.
type layer interface {
	// forward computes y from x for n samples, caching what backward needs.
	forward(x, y []float32, n int, train bool)
	// backward writes dx (when dx is non-nil) from dy and accumulates the
	// parameter gradients, using the caches of the last forward.
	backward(x, y, dy, dx []float32, n int)
	// alias reports that the output is the input itself (Flatten, Dropout
	// outside training); such a layer has no forward or backward work.
	alias(train bool) bool
	params() []*Param
}

// Net trains and runs a graph.Model. It is not safe for concurrent use.
type Net struct {
	m       *graph.Model
	layers  []layer
	pool    *pool
	inSize  int
	outSize int
	sizes   []int // per-sample output size of every layer
	maxSize int   // largest per-sample activation, input included
	ps      []*Param

	seed uint64
	step uint64 // training forwards so far; feeds the dropout RNG

	bnMom float64 // BatchNorm running-statistics momentum: BNMomentum

	cap   int         // batch capacity of the buffers
	bufs  [][]float32 // per-layer output buffers, [cap*sizes[i]]
	acts  [][]float32 // acts[0] = input, acts[i+1] = output of layer i
	gbuf  [2][]float32
	lastN int
	valid bool // acts hold a Forward's caches

	inputGrad bool      // tests: also compute the gradient of the input
	dInput    []float32 // its value after Backward

	pred    []float32
	predCap int
}

// PredictBatch is the batch size Predict runs the network at.
const PredictBatch = 256

// New builds a network over m's layers for the given number of worker
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
	net := &Net{m: m, pool: newPool(workers), seed: 1, bnMom: BNMomentum}
	net.inSize = graph.Size(m.InputShape)
	net.maxSize = net.inSize
	for i, l := range m.Nodes {
		ly, err := net.build(i, l)
		if err != nil {
			net.pool.close()
			return nil, fmt.Errorf("nn: layer %d %q (%v): %w", i, l.Name, l.Op, err)
		}
		net.layers = append(net.layers, ly)
		net.ps = append(net.ps, ly.params()...)
		s := graph.Size(l.OutShape)
		net.sizes = append(net.sizes, s)
		net.maxSize = max(net.maxSize, s)
	}
	net.outSize = graph.Size(m.OutputShape())
	net.acts = make([][]float32, len(net.layers)+1)
	net.bufs = make([][]float32, len(net.layers))
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
	case graph.Flatten:
		return flatten{}, nil
	case graph.Affine:
		return newAffine(net.pool, l), nil
	}
	return nil, fmt.Errorf("unsupported op")
}

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

// Params returns the trainable parameters in layer order (weight, bias,
// gamma, beta). The slice and its Params are owned by the Net.
func (net *Net) Params() []*Param { return net.ps }

// ZeroGrad clears every parameter gradient.
func (net *Net) ZeroGrad() {
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
		net.bufs[i] = make([]float32, n*s)
	}
	net.gbuf[0] = make([]float32, n*net.maxSize)
	net.gbuf[1] = make([]float32, n*net.maxSize)
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
	net.acts[0] = x[:n*net.inSize]
	for i, l := range net.layers {
		in := net.acts[i]
		if l.alias(train) {
			net.acts[i+1] = in
			continue
		}
		out := net.bufs[i][:n*net.sizes[i]]
		l.forward(in, out, n, train)
		net.acts[i+1] = out
	}
	net.lastN, net.valid = n, true
	return net.acts[len(net.layers)]
}

// Backward back-propagates dout, the gradient of the loss with respect to
// the last Forward's output ([n, OutSize()]), and adds the parameter
// gradients to Params()[i].Grad. It reads dout and does not keep it.
func (net *Net) Backward(dout []float32) {
	if !net.valid {
		panic("nn: Backward without Forward")
	}
	n := net.lastN
	if len(dout) < n*net.outSize {
		panic(fmt.Sprintf("nn: Backward: %d values for %d samples of %d", len(dout), n, net.outSize))
	}
	dy := dout[:n*net.outSize]
	cur := -1 // which gbuf dy lives in; -1 for the caller's slice
	for i := len(net.layers) - 1; i >= 0; i-- {
		l := net.layers[i]
		x, y := net.acts[i], net.acts[i+1]
		if sameSlice(x, y) { // alias layer: dx = dy
			continue
		}
		var dx []float32
		if i > 0 || net.inputGrad {
			next := 0
			if cur == 0 {
				next = 1
			}
			dx = net.gbuf[next][:len(x)]
			cur = next
		}
		l.backward(x, y, dy, dx, n)
		dy = dx
	}
	if net.inputGrad {
		net.dInput = dy
	}
}

func sameSlice(a, b []float32) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// Predict returns the network's outputs [n, OutSize()] for n samples in eval
// mode, running PredictBatch samples at a time. The result is owned by the
// Net and valid until the next Predict. It invalidates Backward's caches.
func (net *Net) Predict(x []float32, n int) []float32 {
	if len(x) < n*net.inSize {
		panic(fmt.Sprintf("nn: Predict: %d values for %d samples of %d", len(x), n, net.inSize))
	}
	if n*net.outSize > len(net.pred) {
		net.pred = make([]float32, n*net.outSize)
	}
	out := net.pred[:n*net.outSize]
	for lo := 0; lo < n; lo += PredictBatch {
		b := min(PredictBatch, n-lo)
		y := net.Forward(x[lo*net.inSize:(lo+b)*net.inSize], b, false)
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
// layer i in order, where out is layer i's output [n, size of OutShape] (for
// Flatten and Dropout, the same values as their input). out is owned by the
// Net and only valid during the call. All n samples run as one batch, so
// memory grows with n; callers take large sets in chunks.
func (net *Net) Activations(x []float32, n int, fn func(layer int, out []float32)) {
	net.Forward(x, n, false)
	for i := range net.layers {
		fn(i, net.acts[i+1])
	}
}
