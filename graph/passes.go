package graph

import (
	"fmt"
	"math"
)

// The passes below prepare a trained model for conversion. Each returns a
// new model and leaves its argument untouched, so a caller can keep the
// original for the ANN reference. Every pass is exact: the model computes
// the same function before and after, to float32 rounding of the folded
// parameters.

// Simplify returns a copy of m with BatchNorm folded into the preceding Conv
// or Linear node (a BatchNorm elsewhere, e.g. after a ReLU, becomes a
// per-channel Affine), Dropout removed, every Affine folded into the Conv
// or Linear next to it where that is exact, and average pooling folded into
// a following Linear node where that is exact. The model input transform
// (an Affine that reads the model input and cannot fold into the first
// layer) stays. The result has InferShapes applied.
func Simplify(m *Model) (*Model, error) {
	c, err := InferenceForm(m)
	if err != nil {
		return nil, err
	}
	foldAffines(c)
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("after folding affine nodes: %w", err)
	}
	foldPoolIntoLinear(c)
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("after simplification: %w", err)
	}
	return c, nil
}

// FoldAffine returns a copy of m with every Affine node folded into the
// Conv or Linear next to it where that is exact (see Simplify), and nothing
// else changed: how an importer turns a file's constant per-channel
// Mul/Add/Sub/Div nodes into weights and biases.
func FoldAffine(m *Model) (*Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	foldAffines(c)
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("after folding affine nodes: %w", err)
	}
	return c, nil
}

// InferenceForm returns a copy of m as it is exported after training:
// BatchNorm folded into the preceding Conv or Linear (elsewhere it becomes
// a per-channel Affine) and Dropout removed. Unlike Simplify it keeps
// pooling nodes and Affine nodes, so the model reads as it was built.
func InferenceForm(m *Model) (*Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	if err := foldBatchNorm(c); err != nil {
		return nil, err
	}
	dropDropout(c)
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	return c, nil
}

// soleProducer returns the node l reads if l has exactly one input, that
// input is a Conv or Linear node, and l is its only reader; else -1.
func soleProducer(m *Model, cons [][]int, l *Node) int {
	if len(l.Inputs) != 1 || l.Inputs[0] < 0 {
		return -1
	}
	p := l.Inputs[0]
	if len(cons[p]) != 1 || (m.Nodes[p].Op != Conv && m.Nodes[p].Op != Linear) {
		return -1
	}
	return p
}

// foldBatchNorm merges every BatchNorm into the Conv or Linear it reads
// when it is that node's only reader: W'[o] = W[o]·γ[o]/√(var[o]+ε),
// b'[o] = (b[o]−mean[o])·γ[o]/√(var[o]+ε) + β[o]. Any other BatchNorm
// becomes the equivalent Affine. The scale is computed in float64 and
// rounded once.
func foldBatchNorm(m *Model) error {
	cons := m.Consumers()
	drop := make([]bool, len(m.Nodes))
	for i, l := range m.Nodes {
		if l.Op != BatchNorm {
			continue
		}
		c := len(l.Gamma)
		scale, shift := make([]float64, c), make([]float64, c)
		for o := range c {
			if !(float64(l.Var[o])+float64(l.Eps) > 0) {
				return fmt.Errorf("node %d %q (BatchNorm): variance %v + eps %v of channel %d is not positive", i, l.Name, l.Var[o], l.Eps, o)
			}
			scale[o] = float64(l.Gamma[o]) / math.Sqrt(float64(l.Var[o])+float64(l.Eps))
			shift[o] = float64(l.Beta[o]) - float64(l.Mean[o])*scale[o]
		}
		if p := soleProducer(m, cons, l); p >= 0 {
			scaleOutputs(m.Nodes[p], scale, shift)
			drop[i] = true
			continue
		}
		*l = Node{Name: l.Name, Op: Affine, Inputs: l.Inputs, Scale: make([]float32, c), Shift: make([]float32, c)}
		for o := range c {
			l.Scale[o], l.Shift[o] = float32(scale[o]), float32(shift[o])
		}
	}
	m.removeNodes(drop)
	return nil
}

// scaleOutputs applies y' = y·scale[o] + shift[o] to the outputs of a Conv
// or Linear node through its weights and bias.
func scaleOutputs(p *Node, scale, shift []float64) {
	cout := p.WShape[0]
	per := len(p.W) / cout
	if p.B == nil {
		p.B = make([]float32, cout)
	}
	for o := 0; o < cout; o++ {
		w := p.W[o*per : (o+1)*per]
		for j := range w {
			w[j] = float32(float64(w[j]) * scale[o])
		}
		p.B[o] = float32(float64(p.B[o])*scale[o] + shift[o])
	}
}

func dropDropout(m *Model) {
	drop := make([]bool, len(m.Nodes))
	for i, l := range m.Nodes {
		drop[i] = l.Op == Dropout
	}
	m.removeNodes(drop)
}

// foldAffines folds every Affine node that is the only reader of a Conv or
// Linear into its weights (always exact), and every other Affine whose
// only reader is a Linear (through Flatten or Reshape) or a Conv that does
// not zero-pad, or pads but the shift is zero, into that reader's input
// weights. An Affine that reads the model input folds forward like any
// other. What cannot fold stays.
func foldAffines(m *Model) {
	for {
		cons := m.Consumers()
		drop := make([]bool, len(m.Nodes))
		done := false
		for i, l := range m.Nodes {
			if l.Op != Affine {
				continue
			}
			if p := soleProducer(m, cons, l); p >= 0 && !l.PerElement() {
				scale, shift := make([]float64, len(l.Scale)), make([]float64, len(l.Scale))
				for o := range scale {
					scale[o], shift[o] = float64(l.Scale[o]), float64(l.Shift[o])
				}
				scaleOutputs(m.Nodes[p], scale, shift)
				drop[i], done = true, true
				break
			}
			if foldAffineForward(m, cons, i) {
				drop[i], done = true, true
				break
			}
		}
		if !done {
			return
		}
		m.removeNodes(drop)
	}
}

// foldAffineForward folds Affine node i into the Conv or Linear that reads
// it, if that is its only reader and the fold is exact.
func foldAffineForward(m *Model, cons [][]int, i int) bool {
	a := m.Nodes[i]
	j := i
	for {
		if len(cons[j]) != 1 {
			return false
		}
		j = cons[j][0]
		if op := m.Nodes[j].Op; op != Flatten && op != Reshape {
			break
		}
	}
	l := m.Nodes[j]
	if len(l.Inputs) != 1 {
		return false
	}
	shift := false
	for _, v := range a.Shift {
		shift = shift || v != 0
	}
	var rowLen int
	var channelOf func(o, j int) int
	switch l.Op {
	case Conv:
		// A Reshape between may regroup the values into other channels;
		// the Affine's channels are the conv's only if their counts agree.
		if (l.Pad != [4]int{} && shift) || a.PerElement() || l.InShape[0] != a.OutShape[0] {
			return false
		}
		k := l.WShape[2] * l.WShape[3]
		rowLen = l.WShape[1] * k
		perGroup := l.WShape[0] / l.Group
		channelOf = func(o, j int) int { return (o/perGroup)*l.WShape[1] + j/k }
	case Linear:
		rowLen = l.WShape[1]
		hw := Size(a.OutShape) / a.OutShape[0]
		if a.PerElement() {
			hw = 1
		}
		channelOf = func(_, j int) int { return j / hw }
	default:
		return false
	}
	if l.B == nil {
		l.B = make([]float32, l.WShape[0])
	}
	for o := 0; o < l.WShape[0]; o++ {
		w := l.W[o*rowLen : (o+1)*rowLen]
		bias := float64(l.B[o])
		for jj := range w {
			c := channelOf(o, jj)
			bias += float64(w[jj]) * float64(a.Shift[c])
			w[jj] = float32(float64(w[jj]) * float64(a.Scale[c]))
		}
		l.B[o] = float32(bias)
	}
	return true
}

// MaxFoldFanIn bounds the inputs per neuron of a Linear node that a
// pooling node is folded into (foldPoolIntoLinear): the fold multiplies the
// Linear's weights and synapses by the pooling window, and beyond 4096
// inputs a neuron no longer fits one core of Loihi 1 or 2 (4096 input
// axons), so the pooling stays a layer of its own. CIFAR networks
// (ResNet-20: 64×8×8 = 4096, MobileNet: 1024×2×2) fold; an ImageNet
// ResNet-18 (512×7×7 = 25,088) does not.
const MaxFoldFanIn = 4096

// foldPoolIntoLinear folds GlobalAvgPool, or an AvgPool whose windows tile
// its input exactly (stride = kernel, no padding, no remainder), read only
// by a Linear node (through an optional Flatten), into that Linear node
// where the folded Linear reads at most MaxFoldFanIn values: the Linear
// then reads the pooling node's input, flattened. This is exact because
// both are linear maps; it removes a spiking layer from the converted
// network.
func foldPoolIntoLinear(m *Model) {
	cons := m.Consumers()
	drop := make([]bool, len(m.Nodes))
	for i, l := range m.Nodes {
		if !tilingPool(l) || len(cons[i]) != 1 || Size(l.InShape) > MaxFoldFanIn {
			continue
		}
		j := cons[i][0]
		flat := -1
		if m.Nodes[j].Op == Flatten {
			if len(cons[j]) != 1 {
				continue
			}
			flat, j = j, cons[j][0]
		}
		lin := m.Nodes[j]
		if lin.Op != Linear {
			continue
		}
		c, h, w := l.InShape[0], l.InShape[1], l.InShape[2]
		oh, ow := l.OutShape[1], l.OutShape[2]
		kh, kw := h/oh, w/ow
		outF := lin.WShape[0]
		inF := c * h * w
		nw := make([]float32, outF*inF)
		inv := 1 / float64(kh*kw)
		for o := 0; o < outF; o++ {
			for ch := 0; ch < c; ch++ {
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						src := lin.W[o*lin.WShape[1]+(ch*oh+y/kh)*ow+x/kw]
						nw[o*inF+(ch*h+y)*w+x] = float32(float64(src) * inv)
					}
				}
			}
		}
		lin.W, lin.WShape = nw, []int{outF, inF}
		*l = Node{Name: l.Name + "_flatten", Op: Flatten, Inputs: l.Inputs}
		if flat >= 0 {
			drop[flat] = true
		}
	}
	m.removeNodes(drop)
}

func tilingPool(l *Node) bool {
	if len(l.InShape) != 3 {
		return false
	}
	switch l.Op {
	case GlobalAvgPool:
		return true
	case AvgPool:
		h, w := l.InShape[1], l.InShape[2]
		return l.Pad == [4]int{} && l.Stride == l.Kernel && h%l.Kernel[0] == 0 && w%l.Kernel[1] == 0
	}
	return false
}
