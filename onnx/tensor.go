package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// maxElements bounds the element count of one tensor so that size
// arithmetic cannot overflow; the real bound is the bytes present.
const maxElements = 1 << 40

// NumElements returns the number of elements the tensor's dims declare (1
// for a scalar). It fails on negative dims or a product beyond 2^40.
func (t *Tensor) NumElements() (int, error) {
	n := int64(1)
	for i, d := range t.Dims {
		if d < 0 {
			return 0, fmt.Errorf("dims %v: dim %d is negative", t.Dims, i)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("dims %v: more than %d elements", t.Dims, int64(maxElements))
		}
		n *= d
	}
	return int(n), nil
}

// Shape returns the dims as ints.
func (t *Tensor) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[i] = int(d)
	}
	return s
}

func elemSize(dt DataType) int {
	switch dt {
	case Float, Int32, Uint32:
		return 4
	case Float16, BFloat16, Int16, Uint16:
		return 2
	case Double, Int64, Uint64:
		return 8
	case Int8, Uint8, Bool:
		return 1
	}
	return 0
}

// check validates the storage of t against its dims and returns the
// element count and whether the values are in RawData.
func (t *Tensor) check() (n int, raw bool, err error) {
	if t.DataLocation == 1 || len(t.ExternalData) > 0 {
		return 0, false, fmt.Errorf("%w not loaded (read the model with Load, which reads it from the model's folder)", ErrExternalData)
	}
	n, err = t.NumElements()
	if err != nil {
		return 0, false, err
	}
	size := elemSize(t.DataType)
	if size == 0 {
		return 0, false, fmt.Errorf("unsupported data type %v", t.DataType)
	}
	typed := len(t.FloatData) + len(t.Int32Data) + len(t.Int64Data) + len(t.DoubleData)
	if len(t.RawData) > 0 {
		if typed > 0 {
			return 0, false, fmt.Errorf("both raw_data and typed data present")
		}
		if int64(len(t.RawData)) != int64(n)*int64(size) {
			return 0, false, fmt.Errorf("dims %v of %v need %d bytes, raw_data has %d", t.Dims, t.DataType, int64(n)*int64(size), len(t.RawData))
		}
		return n, true, nil
	}
	var have int
	var field string
	switch t.DataType {
	case Float:
		have, field = len(t.FloatData), "float_data"
	case Double:
		have, field = len(t.DoubleData), "double_data"
	case Int64:
		have, field = len(t.Int64Data), "int64_data"
	case Float16, BFloat16, Int32, Int16, Int8, Uint16, Uint8, Bool:
		have, field = len(t.Int32Data), "int32_data"
	default:
		return 0, false, fmt.Errorf("unsupported data type %v", t.DataType)
	}
	if have != n || typed != have {
		return 0, false, fmt.Errorf("dims %v of %v need %d values, %s has %d (%d typed values in all)", t.Dims, t.DataType, n, field, have, typed)
	}
	return n, false, nil
}

// Float32s returns the tensor's values as float32, converting float16,
// bfloat16 and float64. Integer tensors are an error: their values are not
// weights. The declared dims must match the data present exactly.
func (t *Tensor) Float32s() ([]float32, error) {
	out, err := t.float32s()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

func (t *Tensor) float32s() ([]float32, error) {
	switch t.DataType {
	case Float, Float16, BFloat16, Double:
	default:
		return nil, fmt.Errorf("data type %v: want a floating-point tensor", t.DataType)
	}
	n, raw, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	switch t.DataType {
	case Float:
		if !raw {
			copy(out, t.FloatData)
			break
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
		}
	case Double:
		for i := range out {
			v := 0.0
			if raw {
				v = math.Float64frombits(binary.LittleEndian.Uint64(t.RawData[8*i:]))
			} else {
				v = t.DoubleData[i]
			}
			out[i] = float32(v)
		}
	case Float16, BFloat16:
		conv := halfToFloat32
		if t.DataType == BFloat16 {
			conv = bfloat16ToFloat32
		}
		for i := range out {
			var h uint16
			if raw {
				h = binary.LittleEndian.Uint16(t.RawData[2*i:])
			} else {
				h = uint16(t.Int32Data[i])
			}
			out[i] = conv(h)
		}
	}
	return out, nil
}

// Int64s returns the values of an int64, int32 or bool tensor, such as a
// Reshape shape.
func (t *Tensor) Int64s() ([]int64, error) {
	out, err := t.int64s()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

func (t *Tensor) int64s() ([]int64, error) {
	if t.DataType != Int64 && t.DataType != Int32 && t.DataType != Bool {
		return nil, fmt.Errorf("data type %v: want int64, int32 or bool", t.DataType)
	}
	n, raw, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		switch {
		case t.DataType == Int64 && raw:
			out[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
		case t.DataType == Int64:
			out[i] = t.Int64Data[i]
		case t.DataType == Bool && raw:
			out[i] = int64(t.RawData[i])
		case raw:
			out[i] = int64(int32(binary.LittleEndian.Uint32(t.RawData[4*i:])))
		default:
			out[i] = int64(t.Int32Data[i])
		}
	}
	return out, nil
}

// FloatTensor returns a float32 tensor with values stored as little-endian
// raw_data.
func FloatTensor(name string, dims []int64, v []float32) *Tensor {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &Tensor{Name: name, Dims: append([]int64{}, dims...), DataType: Float, RawData: raw}
}

// halfToFloat32 converts an IEEE 754 binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal: frac · 2^-24.
	v := float32(frac) / (1 << 24)
	if sign != 0 {
		v = -v
	}
	return v
}

func bfloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
