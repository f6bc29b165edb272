package onnx

import (
	"errors"
	"fmt"
)

// attrs returns the node's attributes by name, rejecting names outside
// allowed so that an unknown semantic change cannot pass silently.
func checkAttrs(n *Node, allowed ...string) error {
	seen := map[string]bool{}
	for _, a := range n.Attribute {
		if a == nil {
			return errors.New("nil attribute")
		}
		if seen[a.Name] {
			return fmt.Errorf("attribute %q given twice", a.Name)
		}
		seen[a.Name] = true
		ok := false
		for _, s := range allowed {
			ok = ok || s == a.Name
		}
		if !ok {
			return fmt.Errorf("attribute %q is %w", a.Name, ErrUnsupported)
		}
	}
	return nil
}

func findAttr(n *Node, name string) *Attribute {
	for _, a := range n.Attribute {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func attrInt(n *Node, name string, def int64) (int64, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrInt {
		return 0, fmt.Errorf("attribute %q: type %d, want INT", name, a.Type)
	}
	return a.I, nil
}

func attrFloat(n *Node, name string, def float32) (float32, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrFloat {
		return 0, fmt.Errorf("attribute %q: type %d, want FLOAT", name, a.Type)
	}
	return a.F, nil
}

func attrString(n *Node, name, def string) (string, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrString {
		return "", fmt.Errorf("attribute %q: type %d, want STRING", name, a.Type)
	}
	return string(a.S), nil
}

// attrInts reads an INTS attribute of exactly want entries, each within
// [lo, hi]; def (which may be nil) is returned when it is absent.
func attrInts(n *Node, name string, want int, lo, hi int64, def []int) ([]int, error) {
	a := findAttr(n, name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrInts {
		return nil, fmt.Errorf("attribute %q: type %d, want INTS", name, a.Type)
	}
	if len(a.Ints) != want {
		return nil, fmt.Errorf("attribute %q = %v: want %d values (2-D only)", name, a.Ints, want)
	}
	out := make([]int, want)
	for i, v := range a.Ints {
		if v < lo || v > hi {
			return nil, fmt.Errorf("attribute %q = %v: values must be in [%d, %d]", name, a.Ints, lo, hi)
		}
		out[i] = int(v)
	}
	return out, nil
}

// maxGeom bounds kernel sizes, strides, pads and dilations.
const maxGeom = 1 << 20

func transpose(w []float32, rows, cols int) []float32 {
	t := make([]float32, len(w))
	for r := 0; r < rows; r++ {
		for k := 0; k < cols; k++ {
			t[k*rows+r] = w[r*cols+k]
		}
	}
	return t
}

// constantValue returns the tensor a Constant node produces.
func constantValue(n *Node) (*Tensor, error) {
	if len(n.Input) != 0 {
		return nil, errors.New("Constant with inputs")
	}
	if len(n.Attribute) != 1 || n.Attribute[0] == nil {
		return nil, errors.New("want exactly one value attribute")
	}
	a := n.Attribute[0]
	name := ""
	if len(n.Output) > 0 {
		name = n.Output[0]
	}
	var t *Tensor
	switch {
	case a.Name == "value" && a.Type == AttrTensor && a.T != nil:
		cp := *a.T
		t = &cp
	case a.Name == "value_float" && a.Type == AttrFloat:
		t = &Tensor{DataType: Float, FloatData: []float32{a.F}}
	case a.Name == "value_floats" && a.Type == AttrFloats:
		t = &Tensor{DataType: Float, FloatData: a.Floats, Dims: []int64{int64(len(a.Floats))}}
	case a.Name == "value_int" && a.Type == AttrInt:
		t = &Tensor{DataType: Int64, Int64Data: []int64{a.I}}
	case a.Name == "value_ints" && a.Type == AttrInts:
		t = &Tensor{DataType: Int64, Int64Data: a.Ints, Dims: []int64{int64(len(a.Ints))}}
	default:
		return nil, fmt.Errorf("attribute %q of type %d is %w", a.Name, a.Type, ErrUnsupported)
	}
	t.Name = name
	return t, nil
}
