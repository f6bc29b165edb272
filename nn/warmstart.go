package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
)

// WarmStart sets the network's parameters from src, a trained model of the
// same architecture, typically the inference form of an earlier run (an ONNX
// file written by quartz train, or a PyTorch export), so that training can go
// on from it. Conv and Linear layers are matched in order and must have the
// same weight shapes. A BatchNorm of the network that src folded into the
// layer before it (src has no BatchNorm there) is recalibrated on the n
// samples x: its running statistics become the mean and variance of its
// input over x, and Gamma and Beta are set so that it is the identity in
// eval mode and, for batches like x, close to it in train mode. The network
// then computes src's function exactly (eval mode, up to rounding), and
// training starts from the same place with working BatchNorm layers. A
// BatchNorm that src has is copied. x may be nil when nothing needs
// calibration.
//
// WarmStart returns the number of BatchNorm layers it recalibrated.
func (net *Net) WarmStart(src *graph.Model, x []float32, n int) (int, error) {
	if !slices.Equal(src.InputShape, net.m.InputShape) {
		return 0, fmt.Errorf("input shape %v, the network has %v", src.InputShape, net.m.InputShape)
	}
	if err := src.CheckFinite(); err != nil {
		return 0, err
	}
	var from []*graph.Node
	for _, l := range src.Nodes {
		switch l.Op {
		case graph.Conv, graph.Linear, graph.BatchNorm:
			from = append(from, l)
		}
	}
	j := 0
	var folded []int // layer indices of the BatchNorms to calibrate
	dst := net.m.Nodes
	for i, l := range dst {
		switch l.Op {
		case graph.Conv, graph.Linear:
			if j == len(from) {
				return 0, fmt.Errorf("layer %d %q (%v): the source model has no more Conv or Linear layers", i, l.Name, l.Op)
			}
			s := from[j]
			j++
			if s.Op != l.Op || !slices.Equal(s.WShape, l.WShape) || s.Group != l.Group && l.Op == graph.Conv {
				return 0, fmt.Errorf("layer %d %q: %v with weights %v (group %d), the source's %q is %v with weights %v (group %d)",
					i, l.Name, l.Op, l.WShape, l.Group, s.Name, s.Op, s.WShape, s.Group)
			}
			copy(l.W, s.W)
			clear(l.B)
			copy(l.B, s.B) // a nil source bias leaves zeros
			if i+1 < len(dst) && dst[i+1].Op == graph.BatchNorm && (j == len(from) || from[j].Op != graph.BatchNorm) {
				folded = append(folded, i+1)
			}
		case graph.BatchNorm:
			if slices.Contains(folded, i) {
				continue
			}
			if j == len(from) || from[j].Op != graph.BatchNorm {
				return 0, fmt.Errorf("layer %d %q (BatchNorm): the source model has none here, and it does not follow a Conv or Linear layer", i, l.Name)
			}
			s := from[j]
			j++
			if len(s.Gamma) != len(l.Gamma) {
				return 0, fmt.Errorf("layer %d %q: %d channels, the source's %q has %d", i, l.Name, len(l.Gamma), s.Name, len(s.Gamma))
			}
			copy(l.Gamma, s.Gamma)
			copy(l.Beta, s.Beta)
			copy(l.Mean, s.Mean)
			copy(l.Var, s.Var)
			l.Eps = s.Eps
		}
	}
	if j != len(from) {
		return 0, fmt.Errorf("the source model has %d more parameter layers than the network, from %q", len(from)-j, from[j].Name)
	}
	if len(folded) == 0 {
		return 0, nil
	}
	if n < 1 || len(x) < n*net.inSize {
		return 0, fmt.Errorf("%d BatchNorm layers to calibrate and no samples to do it", len(folded))
	}
	// The identity first (in eval mode), so that every BatchNorm's input
	// is what src computes there; one pass then measures all of them.
	for _, i := range folded {
		l := dst[i]
		for c := range l.Gamma {
			l.Mean[c], l.Var[c], l.Gamma[c], l.Beta[c] = 0, 1, float32(math.Sqrt(1+float64(l.Eps))), 0
		}
	}
	sum := make([][]float64, len(dst))
	sq := make([][]float64, len(dst))
	for _, i := range folded {
		sum[i] = make([]float64, len(dst[i].Gamma))
		sq[i] = make([]float64, len(dst[i].Gamma))
	}
	count := 0
	for lo := 0; lo < n; lo += net.batch {
		m := min(net.batch, n-lo)
		net.Activations(x[lo*net.inSize:(lo+m)*net.inSize], m, func(layer int, out []float32) {
			k := layer + 1 // out is the input of layer k
			if k >= len(dst) || sum[k] == nil {
				return
			}
			ch := len(sum[k])
			hw := net.sizes[layer] / ch
			for s := 0; s < m; s++ {
				for c := 0; c < ch; c++ {
					var a, b float64
					for _, v := range out[(s*ch+c)*hw : (s*ch+c+1)*hw] {
						a += float64(v)
						b += float64(v) * float64(v)
					}
					sum[k][c] += a
					sq[k][c] += b
				}
			}
		})
		count += m
	}
	for _, i := range folded {
		l := dst[i]
		per := float64(count) * float64(net.sizes[i]/len(l.Gamma))
		for c := range l.Gamma {
			mean := sum[i][c] / per
			v := max(0, sq[i][c]/per-mean*mean)
			l.Mean[c], l.Var[c] = float32(mean), float32(v)
			l.Gamma[c], l.Beta[c] = float32(math.Sqrt(v+float64(l.Eps))), float32(mean)
		}
	}
	return len(folded), nil
}
