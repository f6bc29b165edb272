package hdf5

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

const (
	superblockSize = 48
	undefAddr      = ^uint64(0)
)

// Message types of the object header (HDF5 file format specification, IV.A.2).
const (
	msgNil       = 0x00
	msgDataspace = 0x01
	msgLinkInfo  = 0x02
	msgDatatype  = 0x03
	msgFillValue = 0x05
	msgLink      = 0x06
	msgLayout    = 0x08
	msgGroupInfo = 0x0A
	msgAttribute = 0x0C
	msgModTime   = 0x12
)

var signature = []byte("\x89HDF\r\n\x1a\n")

// Marshal encodes the tree under root as an HDF5 file.
func Marshal(root *Group) ([]byte, error) {
	if root == nil {
		return nil, errors.New("hdf5: nil root group")
	}
	w := &writer{buf: make([]byte, superblockSize), open: map[*Group]bool{}}
	rootAddr, err := w.group(root, "/")
	if err != nil {
		return nil, err
	}
	b := w.buf
	copy(b, signature)
	b[8] = 2  // superblock version
	b[9] = 8  // size of offsets
	b[10] = 8 // size of lengths
	b[11] = 0 // file consistency flags
	le := binary.LittleEndian
	le.PutUint64(b[12:], 0)              // base address
	le.PutUint64(b[20:], undefAddr)      // superblock extension
	le.PutUint64(b[28:], uint64(len(b))) // end of file
	le.PutUint64(b[36:], rootAddr)
	le.PutUint32(b[44:], lookup3(b[:44]))
	return b, nil
}

// Write encodes the tree under root and writes it to out.
func Write(out io.Writer, root *Group) error {
	b, err := Marshal(root)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

type writer struct {
	buf  []byte
	open map[*Group]bool // groups being written: a cycle is an error
}

type message struct {
	typ   byte
	flags byte
	data  []byte
}

func (w *writer) group(g *Group, path string) (uint64, error) {
	if g == nil {
		return 0, fmt.Errorf("hdf5: %s: nil group", path)
	}
	if w.open[g] {
		return 0, fmt.Errorf("hdf5: %s: group contains itself", path)
	}
	w.open[g] = true
	defer delete(w.open, g)
	seen := map[string]bool{}
	msgs := []message{
		// Link Info: version 0, no creation order, no fractal heap, no B-tree.
		{typ: msgLinkInfo, data: append([]byte{0, 0}, le64(undefAddr, undefAddr)...)},
		// Group Info: version 0, default phase change and estimates.
		{typ: msgGroupInfo, data: []byte{0, 0}},
	}
	for _, m := range g.Members {
		p := strings.TrimSuffix(path, "/") + "/" + m.Name
		if err := validName(m.Name); err != nil {
			return 0, fmt.Errorf("%w in %s", err, path)
		}
		if seen[m.Name] {
			return 0, fmt.Errorf("hdf5: %s: duplicate name", p)
		}
		seen[m.Name] = true
		var addr uint64
		var err error
		switch {
		case m.Group != nil && m.Dataset != nil:
			return 0, fmt.Errorf("hdf5: %s: member is both a group and a dataset", p)
		case m.Group != nil:
			addr, err = w.group(m.Group, p)
		case m.Dataset != nil:
			addr, err = w.dataset(m.Dataset, p)
		default:
			return 0, fmt.Errorf("hdf5: %s: empty member", p)
		}
		if err != nil {
			return 0, err
		}
		msgs = append(msgs, message{typ: msgLink, data: linkMessage(m.Name, addr)})
	}
	seen = map[string]bool{}
	for _, a := range g.Attrs {
		p := strings.TrimSuffix(path, "/") + "/@" + a.Name
		if err := validName(a.Name); err != nil {
			return 0, fmt.Errorf("%w in %s", err, path)
		}
		if seen[a.Name] {
			return 0, fmt.Errorf("hdf5: %s: duplicate attribute", p)
		}
		seen[a.Name] = true
		if a.Value == nil {
			return 0, fmt.Errorf("hdf5: %s: nil attribute", p)
		}
		space, dtype, raw, err := encode(a.Value, p)
		if err != nil {
			return 0, err
		}
		// Attribute message version 3: name (NUL-terminated), datatype,
		// dataspace and the value, unpadded; name in UTF-8.
		le := binary.LittleEndian
		b := []byte{3, 0}
		b = le.AppendUint16(b, uint16(len(a.Name)+1))
		b = le.AppendUint16(b, uint16(len(dtype)))
		b = le.AppendUint16(b, uint16(len(space)))
		b = append(b, 1)
		b = append(b, a.Name...)
		b = append(b, 0)
		b = append(b, dtype...)
		b = append(b, space...)
		b = append(b, raw...)
		if len(b) >= 1<<16 {
			return 0, fmt.Errorf("hdf5: %s: attribute of %d bytes, more than 64 KiB", p, len(b))
		}
		msgs = append(msgs, message{typ: msgAttribute, data: b})
	}
	return w.header(msgs), nil
}

// linkMessage encodes a hard link (version 1).
func linkMessage(name string, addr uint64) []byte {
	n := len(name)
	var flags byte
	var size []byte
	switch {
	case n < 1<<8:
		size = []byte{byte(n)}
	case n < 1<<16:
		flags = 1
		size = binary.LittleEndian.AppendUint16(nil, uint16(n))
	default:
		flags = 2
		size = binary.LittleEndian.AppendUint32(nil, uint32(n))
	}
	ascii := true
	for i := 0; i < n; i++ {
		if name[i] >= 0x80 {
			ascii = false
		}
	}
	b := []byte{1, flags}
	if !ascii {
		b[1] |= 0x10 // charset field present: UTF-8
		b = append(b, 1)
	}
	b = append(b, size...)
	b = append(b, name...)
	return binary.LittleEndian.AppendUint64(b, addr)
}

func (w *writer) dataset(d *Dataset, path string) (uint64, error) {
	space, dtype, raw, err := encode(d, path)
	if err != nil {
		return 0, err
	}
	addr := undefAddr
	if len(raw) > 0 {
		addr = uint64(len(w.buf))
		w.buf = append(w.buf, raw...)
	}
	layout := append([]byte{3, 1}, le64(addr, uint64(len(raw)))...)
	return w.header([]message{
		{typ: msgDataspace, data: space},
		{typ: msgDatatype, flags: 1, data: dtype},
		// Fill Value version 3: late allocation, write "if set", none set.
		{typ: msgFillValue, flags: 1, data: []byte{3, 0x0A}},
		{typ: msgLayout, data: layout},
	}), nil
}

// encode returns the dataspace and datatype messages of d and its values.
func encode(d *Dataset, path string) (space, dtype, raw []byte, err error) {
	n := 1
	for _, s := range d.Shape {
		if s < 0 {
			return nil, nil, nil, fmt.Errorf("hdf5: %s: negative dimension in shape %v", path, d.Shape)
		}
		if s > 0 && n > math.MaxInt32/s {
			return nil, nil, nil, fmt.Errorf("hdf5: %s: shape %v too large", path, d.Shape)
		}
		n *= s
	}
	if got := d.values(); got != n {
		if got < 0 {
			return nil, nil, nil, fmt.Errorf("hdf5: %s: invalid type %v", path, d.Type)
		}
		return nil, nil, nil, fmt.Errorf("hdf5: %s: %d values for shape %v (%d elements)", path, got, d.Shape, n)
	}
	le := binary.LittleEndian
	switch d.Type {
	case Float32:
		dtype = floatType(4)
		raw = make([]byte, 0, 4*n)
		for _, v := range d.F32 {
			raw = le.AppendUint32(raw, math.Float32bits(v))
		}
	case Float64:
		dtype = floatType(8)
		raw = make([]byte, 0, 8*n)
		for _, v := range d.F64 {
			raw = le.AppendUint64(raw, math.Float64bits(v))
		}
	case Int64:
		// Fixed-point, version 1, signed, little-endian, 8 bytes, offset 0, precision 64.
		dtype = []byte{0x10, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0}
		raw = make([]byte, 0, 8*n)
		for _, v := range d.I64 {
			raw = le.AppendUint64(raw, uint64(v))
		}
	case String:
		size := 1
		for _, s := range d.Str {
			if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
				return nil, nil, nil, fmt.Errorf("hdf5: %s: string %q holds a NUL byte or invalid UTF-8", path, s)
			}
			size = max(size, len(s))
		}
		// String, version 1, NUL-padded (1), UTF-8 (1<<4).
		dtype = le.AppendUint32([]byte{0x13, 0x11, 0, 0}, uint32(size))
		raw = make([]byte, size*n)
		for i, s := range d.Str {
			copy(raw[i*size:], s)
		}
	}
	space = []byte{2, byte(len(d.Shape)), 0, 1}
	if len(d.Shape) == 0 {
		space[3] = 0 // scalar
	}
	for _, s := range d.Shape {
		space = le.AppendUint64(space, uint64(s))
	}
	return space, dtype, raw, nil
}

// floatType is an IEEE little-endian floating-point datatype of 4 or 8 bytes.
func floatType(size int) []byte {
	b := []byte{0x11, 0x20, byte(8*size - 1), 0}
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = append(b, 0, 0, byte(8*size), 0) // bit offset, precision
	if size == 4 {
		b = append(b, 23, 8, 0, 23)
		return binary.LittleEndian.AppendUint32(b, 127)
	}
	b = append(b, 52, 11, 0, 52)
	return binary.LittleEndian.AppendUint32(b, 1023)
}

func le64(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

// header appends a version-2 object header holding msgs and returns its
// address.
func (w *writer) header(msgs []message) uint64 {
	size := 0
	for _, m := range msgs {
		size += 4 + len(m.data)
	}
	addr := uint64(len(w.buf))
	b := append(w.buf, "OHDR"...)
	le := binary.LittleEndian
	switch {
	case size < 1<<8:
		b = append(b, 2, 0, byte(size))
	case size < 1<<16:
		b = le.AppendUint16(append(b, 2, 1), uint16(size))
	default:
		b = le.AppendUint32(append(b, 2, 2), uint32(size))
	}
	for _, m := range msgs {
		b = append(b, m.typ)
		b = le.AppendUint16(b, uint16(len(m.data)))
		b = append(b, m.flags)
		b = append(b, m.data...)
	}
	b = le.AppendUint32(b, lookup3(b[addr:]))
	w.buf = b
	return addr
}
