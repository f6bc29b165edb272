package graph

import (
	"fmt"
	"math"
)

// The passes below prepare a trained model for conversion. Each returns a
// new model and leaves its argument untouched, so a caller can keep the
// original for the ANN reference.

// Simplify returns a copy of m with BatchNorm folded into the preceding Conv
// or Linear layer, Dropout removed, and average pooling folded into a
// following Linear layer where that is exact. An Affine input transform is
// kept as it is (it folds exactly only where FoldPreprocess can fold it,
// and PrependPreprocess made it a layer because it cannot); a BatchNorm
// after it is an error, as after any layer but a Conv or Linear. The result
// has InferShapes applied.
func Simplify(m *Model) (*Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	var err error
	if c, err = foldBatchNorm(c); err != nil {
		return nil, err
	}
	c = dropDropout(c)
	c = foldPoolIntoLinear(c)
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("after simplification: %w", err)
	}
	return c, nil
}

// foldBatchNorm merges every BatchNorm into the Conv or Linear before it:
// W'[o] = W[o]·γ[o]/√(var[o]+ε), b'[o] = (b[o]−mean[o])·γ[o]/√(var[o]+ε) + β[o].
// The scale is computed in float64 and rounded once.
func foldBatchNorm(m *Model) (*Model, error) {
	out := m.Layers[:0:0]
	for i, l := range m.Layers {
		if l.Op != BatchNorm {
			out = append(out, l)
			continue
		}
		if len(out) == 0 || (out[len(out)-1].Op != Conv && out[len(out)-1].Op != Linear) {
			return nil, fmt.Errorf("layer %d %q (BatchNorm): cannot fold: it does not follow a Conv or Linear layer", i, l.Name)
		}
		p := out[len(out)-1]
		cout := p.WShape[0]
		if len(l.Gamma) != cout {
			return nil, fmt.Errorf("layer %d %q (BatchNorm): %d channels, %q has %d outputs", i, l.Name, len(l.Gamma), p.Name, cout)
		}
		per := len(p.W) / cout
		if p.B == nil {
			p.B = make([]float32, cout)
		}
		for o := 0; o < cout; o++ {
			s := float64(l.Gamma[o]) / math.Sqrt(float64(l.Var[o])+float64(l.Eps))
			w := p.W[o*per : (o+1)*per]
			for j := range w {
				w[j] = float32(float64(w[j]) * s)
			}
			p.B[o] = float32((float64(p.B[o])-float64(l.Mean[o]))*s + float64(l.Beta[o]))
		}
	}
	m.Layers = out
	return m, nil
}

func dropDropout(m *Model) *Model {
	out := m.Layers[:0:0]
	for _, l := range m.Layers {
		if l.Op != Dropout {
			out = append(out, l)
		}
	}
	m.Layers = out
	return m
}

// foldPoolIntoLinear folds GlobalAvgPool, or an AvgPool whose windows tile
// its input exactly (stride = kernel, no padding, no remainder), followed by
// an optional Flatten and a Linear layer, into that Linear layer: the Linear
// then reads the pooling layer's input directly. This is exact because both
// are linear maps; it removes a spiking layer from the converted network.
func foldPoolIntoLinear(m *Model) *Model {
	out := m.Layers[:0:0]
	ls := m.Layers
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		j := i + 1
		if j < len(ls) && ls[j].Op == Flatten {
			j++
		}
		if j >= len(ls) || ls[j].Op != Linear || !tilingPool(l) {
			out = append(out, l)
			continue
		}
		lin := ls[j]
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
		out = append(out, &Layer{Name: l.Name + "_flatten", Op: Flatten})
		out = append(out, lin)
		i = j
	}
	m.Layers = out
	return m
}

func tilingPool(l *Layer) bool {
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

// InferenceForm returns a copy of m as it is exported after training:
// BatchNorm folded into the preceding layer and Dropout removed. Unlike
// Simplify it keeps pooling layers, so the model reads as it was built.
func InferenceForm(m *Model) (*Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	c, err := foldBatchNorm(c)
	if err != nil {
		return nil, err
	}
	c = dropDropout(c)
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	return c, nil
}
