package hdf5

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// Digest returns the SHA-256 of the tree under g: every member's name,
// kind, and, for datasets, type, shape and values, in order, recursively.
// Attributes are not part of it, so that a digest can be stored as one.
// It depends only on the tree, not on how a file lays it out.
func Digest(g *Group) [32]byte {
	h := sha256.New()
	var b []byte
	le := binary.LittleEndian
	str := func(s string) {
		b = le.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	flush := func() {
		h.Write(b)
		b = b[:0]
	}
	var walk func(g *Group)
	walk = func(g *Group) {
		b = le.AppendUint64(b, uint64(len(g.Members)))
		for _, m := range g.Members {
			str(m.Name)
			switch {
			case m.Group != nil:
				b = append(b, 'G')
				walk(m.Group)
			case m.Dataset != nil:
				d := m.Dataset
				b = append(b, 'D', byte(d.Type))
				b = le.AppendUint64(b, uint64(len(d.Shape)))
				for _, s := range d.Shape {
					b = le.AppendUint64(b, uint64(s))
				}
				for _, v := range d.F32 {
					b = le.AppendUint32(b, math.Float32bits(v))
				}
				for _, v := range d.F64 {
					b = le.AppendUint64(b, math.Float64bits(v))
				}
				for _, v := range d.I64 {
					b = le.AppendUint64(b, uint64(v))
				}
				for _, s := range d.Str {
					str(s)
				}
			default:
				b = append(b, 'E')
			}
			if len(b) > 1<<16 {
				flush()
			}
		}
	}
	walk(g)
	flush()
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
