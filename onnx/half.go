package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// MaxHalf is the largest finite float16 value. Larger magnitudes round to
// infinity.
const MaxHalf = 65504

// HalfTensor returns a float16 tensor holding v rounded to the nearest
// float16 (ties to even), stored as little-endian raw_data. A value that
// is NaN or infinite, or finite but beyond ±MaxHalf after rounding, is an
// error naming the tensor and the index: weights must stay finite.
// Magnitudes below 2^-25 become (signed) zero, as IEEE rounding says.
func HalfTensor(name string, dims []int64, v []float32) (*Tensor, error) {
	raw := make([]byte, 2*len(v))
	for i, x := range v {
		h := float32ToHalf(x)
		if h&0x7c00 == 0x7c00 {
			return nil, fmt.Errorf("tensor %q: value %g at index %d has no finite float16 value (largest is %d)", name, x, i, MaxHalf)
		}
		binary.LittleEndian.PutUint16(raw[2*i:], h)
	}
	return &Tensor{Name: name, Dims: append([]int64{}, dims...), DataType: Float16, RawData: raw}, nil
}

// float32ToHalf rounds f to the nearest IEEE 754 binary16 value, ties to
// even. Finite values beyond the float16 range become ±Inf; NaN stays NaN
// (quiet, sign kept).
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	frac := b & 0x7fffff
	if exp == 0xff {
		if frac != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // the float16 biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e >= 1 {
		// Normal: keep 10 of the 23 fraction bits. A carry out of the
		// fraction steps the exponent up, to Inf past 65504 as IEEE says.
		h := uint32(e)<<10 | frac>>13
		h += roundBit(frac, 13, h)
		return sign | uint16(h)
	}
	if e < -10 {
		return sign // below half the smallest subnormal (2^-25): zero
	}
	// Subnormal float16: the value in units of 2^-24 is m·2^(e-14) with
	// the implicit bit made explicit. (exp is ≥ 102 here, so f is normal.)
	m := frac | 1<<23
	s := uint(14 - e)
	h := m >> s
	h += roundBit(m, s, h)
	return sign | uint16(h) // a carry into 0x400 is the smallest normal
}

// roundBit returns 1 when x, with its low s bits dropped to leave q,
// rounds up under ties-to-even.
func roundBit(x uint32, s uint, q uint32) uint32 {
	rem := x & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || rem == half && q&1 == 1 {
		return 1
	}
	return 0
}
