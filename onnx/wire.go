package onnx

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field. For bytes fields b holds the payload
// (aliasing the input); for varint and fixed fields v holds the value.
type field struct {
	num  protowire.Number
	typ  protowire.Type
	v    uint64
	b    []byte
	off  int // absolute offset of the field's tag in the input
	poff int // absolute offset of a bytes field's payload
}

// reader walks the fields of one message. off is the absolute offset of
// b[0] in the original input, so that errors can name byte positions.
type reader struct {
	b   []byte
	off int
}

// next returns the next field, or ok=false at the end of the message.
func (r *reader) next() (f field, ok bool, err error) {
	if len(r.b) == 0 {
		return field{}, false, nil
	}
	f.off = r.off
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 {
		return f, false, fmt.Errorf("byte %d: bad field tag: %w", r.off, protowire.ParseError(n))
	}
	f.num, f.typ = num, typ
	rest := r.b[n:]
	switch typ {
	case protowire.VarintType:
		f.v, n = protowire.ConsumeVarint(rest)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(rest)
		f.v = uint64(v)
	case protowire.Fixed64Type:
		f.v, n = protowire.ConsumeFixed64(rest)
	case protowire.BytesType:
		f.b, n = protowire.ConsumeBytes(rest)
	default:
		n = protowire.ConsumeFieldValue(num, typ, rest)
	}
	if n < 0 {
		return f, false, fmt.Errorf("byte %d: field %d: %w", r.off, num, protowire.ParseError(n))
	}
	adv := len(r.b) - len(rest) + n
	f.poff = r.off + adv - len(f.b)
	r.b = r.b[adv:]
	r.off += adv
	return f, true, nil
}

// sub returns a reader over a length-delimited field's payload.
func (f field) sub() *reader { return &reader{b: f.b, off: f.poff} }

var errWireType = errors.New("wrong wire type")

func (f field) want(t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("byte %d: field %d: %w %d, want %d", f.off, f.num, errWireType, f.typ, t)
	}
	return nil
}

func (f field) str() (string, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return "", err
	}
	return string(f.b), nil
}

func (f field) bytes() ([]byte, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	return f.b, nil
}

func (f field) int64() (int64, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return int64(f.v), nil
}

func (f field) int32() (int32, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return int32(f.v), nil
}

func (f field) float32() (float32, error) {
	if err := f.want(protowire.Fixed32Type); err != nil {
		return 0, err
	}
	return math.Float32frombits(uint32(f.v)), nil
}

// Repeated scalar fields may arrive packed (one bytes field) or unpacked
// (one field per value); decoders accept both.

func appendVarints[T int32 | int64](dst []T, f field) ([]T, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, T(f.v)), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return dst, fmt.Errorf("byte %d: packed field %d: %w", f.off, f.num, protowire.ParseError(n))
			}
			dst = append(dst, T(v))
			b = b[n:]
		}
		return dst, nil
	}
	return dst, f.want(protowire.VarintType)
}

func appendFloats(dst []float32, f field) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.v))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return dst, fmt.Errorf("byte %d: packed float field %d: length %d is not a multiple of 4", f.off, f.num, len(f.b))
		}
		dst = growCap(dst, len(f.b)/4)
		for i := 0; i+4 <= len(f.b); i += 4 {
			v, _ := protowire.ConsumeFixed32(f.b[i:])
			dst = append(dst, math.Float32frombits(v))
		}
		return dst, nil
	}
	return dst, f.want(protowire.Fixed32Type)
}

func appendDoubles(dst []float64, f field) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.v)), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return dst, fmt.Errorf("byte %d: packed double field %d: length %d is not a multiple of 8", f.off, f.num, len(f.b))
		}
		dst = growCap(dst, len(f.b)/8)
		for i := 0; i+8 <= len(f.b); i += 8 {
			v, _ := protowire.ConsumeFixed64(f.b[i:])
			dst = append(dst, math.Float64frombits(v))
		}
		return dst, nil
	}
	return dst, f.want(protowire.Fixed64Type)
}

// growCap makes room for n more elements; n is bounded by the input size.
func growCap[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]T, len(s), len(s)+n)
	copy(t, s)
	return t
}

const bytesType = protowire.BytesType
