package nn

import (
	"math"
	"math/rand/v2"

	"github.com/quartz-snn/quartz/graph"
)

// Init sets the parameters of m like PyTorch's default initialization of
// nn.Conv2d and nn.Linear (kaiming_uniform_ with a = √5), which amounts to
//
//	W ~ U(−1/√fanIn, 1/√fanIn),  B ~ U(−1/√fanIn, 1/√fanIn)
//
// with fanIn = Cin/Group·KH·KW (Conv) or In (Linear); BatchNorm gets
// Gamma = 1, Beta = 0, Mean = 0, Var = 1 (and Eps = 1e-5 if it is 0). Layer i
// draws from its own PCG stream (seed, i), so the values of one layer do not
// depend on the others. Slices of the right length are overwritten in place
// (a Net built on m sees the new values); missing ones are allocated, Conv
// and Linear biases included.
func Init(m *graph.Model, seed uint64) {
	for i, l := range m.Nodes {
		switch l.Op {
		case graph.Conv, graph.Linear:
			fanIn := 1
			for _, d := range l.WShape[1:] {
				fanIn *= d
			}
			bound := 1 / math.Sqrt(float64(fanIn))
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			l.W = fill(l.W, graph.Size(l.WShape), func() float32 { return float32((2*rng.Float64() - 1) * bound) })
			l.B = fill(l.B, l.WShape[0], func() float32 { return float32((2*rng.Float64() - 1) * bound) })
		case graph.BatchNorm:
			c := len(l.Gamma)
			if len(l.InShape) > 0 {
				c = l.InShape[0]
			}
			l.Gamma = fill(l.Gamma, c, func() float32 { return 1 })
			l.Beta = fill(l.Beta, c, func() float32 { return 0 })
			l.Mean = fill(l.Mean, c, func() float32 { return 0 })
			l.Var = fill(l.Var, c, func() float32 { return 1 })
			if l.Eps == 0 {
				l.Eps = 1e-5
			}
		}
	}
}

func fill(v []float32, n int, f func() float32) []float32 {
	if len(v) != n {
		v = make([]float32, n)
	}
	for i := range v {
		v[i] = f()
	}
	return v
}
