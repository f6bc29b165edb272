package nn

import (
	"github.com/quartz-snn/quartz/graph"
)

// Inference (Predict, Activations) runs the nodes in order without keeping
// what Backward would need: a node's output buffer is taken from a set of
// slots when the node runs and handed back once every node that reads it
// (directly or through an alias node: Flatten, Reshape, Dropout) has run.
// A chain thus runs on two ping-pong buffers; a DAG holds its live set.

// livePlan assigns every non-alias node of m an output slot by liveness.
type livePlan struct {
	slot  []int   // by node: its slot, −1 for an alias node
	size  []int   // by slot: per-sample values (the largest node it holds)
	frees [][]int // by node: slots free once it has run
}

// aliasOp reports whether op's output is its input in inference.
func aliasOp(op graph.Op) bool {
	return op == graph.Flatten || op == graph.Reshape || op == graph.Dropout
}

// planLive computes the plan of m (shapes inferred). Node i's output slot is
// the free one of the smallest size at least its own, else the largest free
// one (grown), else a new one; the output node's slot is never freed.
func planLive(m *graph.Model) livePlan {
	nn := len(m.Nodes)
	p := livePlan{slot: make([]int, nn), frees: make([][]int, nn)}
	root := make([]int, nn) // the node whose buffer holds node i's output; −1: the model input
	last := make([]int, nn) // by root: the last node reading it
	for i := range m.Nodes {
		last[i] = i // an output nobody reads is freed after its node runs
		if aliasOp(m.Nodes[i].Op) {
			root[i] = graph.ModelInput
			if in := m.InputsOf(i); len(in) > 0 && in[0] != graph.ModelInput {
				root[i] = root[in[0]]
			}
		} else {
			root[i] = i
		}
		for _, j := range m.InputsOf(i) {
			if j != graph.ModelInput && root[j] >= 0 {
				last[root[j]] = max(last[root[j]], i)
			}
		}
	}
	if r := root[nn-1]; r >= 0 {
		last[r] = nn // the model's output lives to the end
	}
	var free []int // free slots
	for i, l := range m.Nodes {
		if root[i] != i {
			p.slot[i] = -1
		} else {
			s := graph.Size(l.OutShape)
			best, big := -1, -1
			for k, f := range free {
				if p.size[f] >= s && (best < 0 || p.size[f] < p.size[free[best]]) {
					best = k
				}
				if big < 0 || p.size[f] > p.size[free[big]] {
					big = k
				}
			}
			if best < 0 {
				best = big
			}
			if best < 0 {
				p.slot[i] = len(p.size)
				p.size = append(p.size, s)
			} else {
				p.slot[i] = free[best]
				p.size[free[best]] = max(p.size[free[best]], s)
				free = append(free[:best], free[best+1:]...)
			}
		}
		// Free the buffers whose last reader is i (i's own too if unread).
		for r := 0; r <= i; r++ {
			if root[r] == r && last[r] == i {
				p.frees[i] = append(p.frees[i], p.slot[r])
				free = append(free, p.slot[r])
			}
		}
	}
	return p
}

// bytes returns the activation bytes of the plan for a batch of n.
func (p *livePlan) bytes(n int) int64 {
	var b int64
	for _, s := range p.size {
		b += 4 * int64(n) * int64(s)
	}
	return b
}

// infer runs n samples in eval mode on the liveness slots, calling fn (if
// not nil) with every node's output as soon as it is computed, and returns
// the output, valid until the next call. It invalidates Backward's caches.
func (net *Net) infer(x []float32, n int, fn func(node int, out []float32)) []float32 {
	if net.live == nil {
		p := planLive(net.m)
		net.live = &p
		net.lbufs = make([][]float32, len(p.size))
	}
	p := net.live
	for k, s := range p.size {
		if len(net.lbufs[k]) < n*s {
			net.lbufs[k] = make([]float32, n*s)
		}
	}
	net.valid = false
	net.in = x[:n*net.inSize]
	for i := range net.nodes {
		nd := &net.nodes[i]
		for k, j := range nd.in {
			nd.xs[k] = net.value(j)
		}
		if p.slot[i] < 0 {
			net.acts[i] = nd.xs[0]
		} else {
			out := net.lbufs[p.slot[i]][:n*net.sizes[i]]
			if q, ok := nd.l.(*pool2d); ok {
				q.infer = true
				q.forward(nd.xs[0], out, n, false)
				q.infer = false
			} else if nd.l != nil {
				nd.l.forward(nd.xs[0], out, n, false)
			} else {
				nd.j.forward(nd.xs, out, n)
			}
			net.acts[i] = out
		}
		if fn != nil {
			fn(i, net.acts[i])
		}
	}
	y := net.acts[len(net.nodes)-1]
	clear(net.acts[:len(net.nodes)-1])
	for i := range net.nodes {
		clear(net.nodes[i].xs)
	}
	net.in = nil
	return y
}

// EstimateInference returns the bytes that Predict or Activations of a
// batch of n samples (n ≤ PredictBatch for Predict) on workers workers
// allocate on a Net of m: the activation slots by liveness (a chain: two of
// the largest activation), the parameters (shared with m, counted once),
// every Conv's per-worker im2col and GEMM buffers (Cin/G·KH·KW·nb·P and
// Cout·nb·P values for a micro-batch of nb samples, colBudget-bounded), and
// MaxPool's per-worker argmax of one sample. Predict's result, n·OutSize
// values, is added. It does not count Forward's per-node buffers or
// gradients (training), nor the Go runtime's headroom (the heap grows to
// about twice the live data between collections under GOGC=100). m must
// have its shapes inferred; workers < 1 means one.
func EstimateInference(m *graph.Model, n, workers int) int64 {
	workers = max(1, workers)
	p := planLive(m)
	b := p.bytes(n)
	per := (n + workers - 1) / workers // samples of the busiest worker
	for _, l := range m.Nodes {
		b += 4 * int64(len(l.W)+len(l.B)+len(l.Gamma)+len(l.Beta)+len(l.Mean)+len(l.Var))
		switch l.Op {
		case graph.Conv:
			cin, cout := l.InShape[0], l.OutShape[0]
			P := l.OutShape[1] * l.OutShape[2]
			kk := cin * l.Kernel[0] * l.Kernel[1]
			if g := l.Group; cin/max(g, 1) == 1 && g > 1 {
				continue // depthwise: direct, no im2col
			}
			nb := min(max(1, colBudget/(kk*P)), per)
			b += 4 * int64(workers) * int64(kk+cout) * int64(nb) * int64(P)
		case graph.MaxPool:
			b += 4 * int64(workers) * int64(graph.Size(l.OutShape))
		}
	}
	b += 4 * int64(n) * int64(graph.Size(m.OutputShape()))
	return b
}
