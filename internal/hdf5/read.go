package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"
)

// maxDepth bounds the nesting of groups Read follows.
const maxDepth = 256

// ReadFile-style helpers live with the callers; Read works on bytes.

// ReadFrom reads a whole HDF5 file from r and decodes it (see Read).
func ReadFrom(r io.Reader) (*Group, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Read(b)
}

// Read decodes an HDF5 file of the subset described in the package doc and
// returns its root group. Objects reached by several hard links are
// decoded once and shared.
func Read(data []byte) (*Group, error) {
	r := &reader{data: data, objs: map[uint64]any{}, busy: map[uint64]bool{}}
	root, err := r.superblock()
	if err != nil {
		return nil, err
	}
	obj, err := r.object(root, 0)
	if err != nil {
		return nil, err
	}
	g, ok := obj.(*Group)
	if !ok {
		return nil, r.errf(int64(root), "root object is not a group")
	}
	return g, nil
}

type reader struct {
	data []byte
	objs map[uint64]any // decoded objects by address
	busy map[uint64]bool
}

func (r *reader) errf(off int64, format string, a ...any) error {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// span returns data[off:off+n] or an error if it lies outside the file.
func (r *reader) span(off uint64, n uint64, what string) ([]byte, error) {
	if off > uint64(len(r.data)) || n > uint64(len(r.data))-off {
		return nil, r.errf(int64(min(off, uint64(math.MaxInt64))), "%s (%d bytes) lies outside the file (%d bytes)", what, n, len(r.data))
	}
	return r.data[off : off+n], nil
}

func (r *reader) superblock() (uint64, error) {
	if len(r.data) < 9 || !bytes.Equal(r.data[:8], signature) {
		return 0, r.errf(0, "not an HDF5 file (no signature at offset 0)")
	}
	v := r.data[8]
	if v != 2 && v != 3 {
		return 0, r.errf(8, "superblock version %d not supported (want 2 or 3)", v)
	}
	b, err := r.span(0, superblockSize, "superblock")
	if err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[44:]), lookup3(b[:44]); got != want {
		return 0, r.errf(44, "superblock checksum %#08x, want %#08x", got, want)
	}
	if b[9] != 8 || b[10] != 8 {
		return 0, r.errf(9, "offset/length sizes %d/%d not supported (want 8/8)", b[9], b[10])
	}
	if base := le.Uint64(b[12:]); base != 0 {
		return 0, r.errf(12, "base address %d not supported (want 0)", base)
	}
	if ext := le.Uint64(b[20:]); ext != undefAddr {
		return 0, r.errf(20, "superblock extension not supported")
	}
	if eof := le.Uint64(b[28:]); eof > uint64(len(r.data)) {
		return 0, r.errf(28, "file truncated: end of file address %d, file has %d bytes", eof, len(r.data))
	}
	return le.Uint64(b[36:]), nil
}

// object decodes the object header at addr: a *Group or a *Dataset.
func (r *reader) object(addr uint64, depth int) (any, error) {
	if o, ok := r.objs[addr]; ok {
		return o, nil
	}
	if r.busy[addr] {
		return nil, r.errf(int64(addr), "link cycle: group contains itself")
	}
	if depth > maxDepth {
		return nil, r.errf(int64(addr), "groups nested deeper than %d", maxDepth)
	}
	r.busy[addr] = true
	defer delete(r.busy, addr)
	msgs, err := r.header(addr)
	if err != nil {
		return nil, err
	}
	var (
		isGroup, hasSpace, hasType, hasLayout bool
		links                                 []Member
		linkAddr                              []uint64
		shape                                 []int
		nelem                                 uint64
		typ                                   Type
		elem                                  uint64
		strPad                                byte
		dataAddr, dataSize                    uint64
		attrs                                 []Attr
	)
	for _, m := range msgs {
		b, off := m.data, int64(m.off)
		if m.flags&0x02 != 0 {
			return nil, r.errf(off, "shared message (type %#x) not supported", m.typ)
		}
		switch m.typ {
		case msgNil, msgModTime, msgGroupInfo, msgFillValue:
			// carry nothing this package needs
		case msgLinkInfo:
			if len(b) < 2 || b[0] != 0 {
				return nil, r.errf(off, "link info message: unsupported version")
			}
			p := 2
			if b[1]&1 != 0 {
				p += 8
			}
			if len(b) < p+16 {
				return nil, r.errf(off, "link info message too short")
			}
			if binary.LittleEndian.Uint64(b[p:]) != undefAddr {
				return nil, r.errf(off, "dense link storage (fractal heap) not supported; only compact groups")
			}
			isGroup = true
		case msgLink:
			name, to, err := r.link(b, off)
			if err != nil {
				return nil, err
			}
			links = append(links, Member{Name: name})
			linkAddr = append(linkAddr, to)
		case msgDataspace:
			if shape, nelem, err = r.dataspace(b, off); err != nil {
				return nil, err
			}
			hasSpace = true
		case msgDatatype:
			if typ, elem, strPad, err = r.datatype(b, off); err != nil {
				return nil, err
			}
			hasType = true
		case msgLayout:
			if len(b) < 2 || (b[0] != 3 && b[0] != 4) {
				return nil, r.errf(off, "data layout message: unsupported version")
			}
			if b[1] != 1 {
				return nil, r.errf(off, "data layout class %d not supported (only contiguous storage; no chunking or compression)", b[1])
			}
			if len(b) < 18 {
				return nil, r.errf(off, "data layout message too short")
			}
			dataAddr, dataSize = binary.LittleEndian.Uint64(b[2:]), binary.LittleEndian.Uint64(b[10:])
			hasLayout = true
		case msgAttribute:
			a, err := r.attribute(b, off)
			if err != nil {
				return nil, err
			}
			for _, o := range attrs {
				if o.Name == a.Name {
					return nil, r.errf(off, "duplicate attribute %q", a.Name)
				}
			}
			attrs = append(attrs, a)
		case 0x10:
			return nil, r.errf(off, "object header continuation not supported")
		case 0x11:
			return nil, r.errf(off, "old-style (symbol table) groups not supported")
		default:
			return nil, r.errf(off, "object header message type %#x not supported", m.typ)
		}
	}
	isData := hasSpace || hasType || hasLayout
	switch {
	case isGroup && isData:
		return nil, r.errf(int64(addr), "object is both a group and a dataset")
	case len(attrs) > 0 && !isGroup:
		return nil, r.errf(int64(addr), "attributes of a dataset not supported (only of groups)")
	case isGroup:
		g := &Group{Members: links, Attrs: attrs}
		r.objs[addr] = g
		seen := map[string]bool{}
		for i := range links {
			if seen[links[i].Name] {
				return nil, r.errf(int64(addr), "duplicate link name %q", links[i].Name)
			}
			seen[links[i].Name] = true
			o, err := r.object(linkAddr[i], depth+1)
			if err != nil {
				return nil, err
			}
			switch o := o.(type) {
			case *Group:
				g.Members[i].Group = o
			case *Dataset:
				g.Members[i].Dataset = o
			}
		}
		return g, nil
	case !hasSpace || !hasType || !hasLayout:
		return nil, r.errf(int64(addr), "object is neither a group nor a complete dataset (dataspace %v, datatype %v, layout %v)", hasSpace, hasType, hasLayout)
	}
	hi, want := bits.Mul64(nelem, elem)
	if hi != 0 || (dataAddr != undefAddr && want != dataSize) {
		return nil, r.errf(int64(addr), "storage holds %d bytes, %d elements of %d bytes need %d", dataSize, nelem, elem, want)
	}
	var raw []byte
	if dataAddr == undefAddr {
		if nelem != 0 {
			return nil, r.errf(int64(addr), "unallocated storage for %d elements not supported", nelem)
		}
	} else if raw, err = r.span(dataAddr, dataSize, "dataset storage"); err != nil {
		return nil, err
	}
	d := decodeValues(typ, shape, nelem, elem, strPad, raw)
	r.objs[addr] = d
	return d, nil
}

// decodeValues builds a dataset from raw, which holds exactly nelem
// elements of elem bytes.
func decodeValues(typ Type, shape []int, nelem, elem uint64, strPad byte, raw []byte) *Dataset {
	d := &Dataset{Type: typ, Shape: shape}
	n := int(nelem)
	le := binary.LittleEndian
	switch typ {
	case Float32:
		d.F32 = make([]float32, n)
		for i := range d.F32 {
			d.F32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case Float64:
		d.F64 = make([]float64, n)
		for i := range d.F64 {
			d.F64[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case Int64:
		d.I64 = make([]int64, n)
		for i := range d.I64 {
			d.I64[i] = int64(le.Uint64(raw[8*i:]))
		}
	case String:
		d.Str = make([]string, n)
		es := int(elem)
		for i := range d.Str {
			s := raw[i*es : (i+1)*es]
			if strPad == 2 {
				s = bytes.TrimRight(s, " ")
			} else if j := bytes.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			d.Str[i] = string(s)
		}
	}
	return d
}

// attribute decodes an attribute message (version 1 or 3) holding a
// value of one of the four element types.
func (r *reader) attribute(b []byte, off int64) (Attr, error) {
	if len(b) < 8 || (b[0] != 1 && b[0] != 3) {
		return Attr{}, r.errf(off, "attribute message: unsupported version")
	}
	if b[1] != 0 {
		return Attr{}, r.errf(off, "attribute message: shared datatype or dataspace not supported")
	}
	le := binary.LittleEndian
	nName, nType, nSpace := uint64(le.Uint16(b[2:])), uint64(le.Uint16(b[4:])), uint64(le.Uint16(b[6:]))
	p := uint64(8)
	pad := func(n uint64) uint64 { return n }
	if b[0] == 1 {
		pad = func(n uint64) uint64 { return (n + 7) &^ 7 }
	} else {
		p = 9 // character set
	}
	if nName == 0 || uint64(len(b)) < p+pad(nName)+pad(nType)+pad(nSpace) {
		return Attr{}, r.errf(off, "attribute message too short")
	}
	name := b[p : p+nName]
	if name[nName-1] != 0 {
		return Attr{}, r.errf(off, "attribute name not NUL-terminated")
	}
	a := Attr{Name: string(name[:nName-1])}
	if err := validName(a.Name); err != nil {
		return Attr{}, r.errf(off, "attribute name %q is invalid", a.Name)
	}
	p += pad(nName)
	typ, elem, strPad, err := r.datatype(b[p:p+nType], off)
	if err != nil {
		return Attr{}, err
	}
	p += pad(nType)
	shape, nelem, err := r.dataspace(b[p:p+nSpace], off)
	if err != nil {
		return Attr{}, err
	}
	p += pad(nSpace)
	hi, want := bits.Mul64(nelem, elem)
	if hi != 0 || want > uint64(len(b))-p {
		return Attr{}, r.errf(off, "attribute %q holds %d bytes, %d elements of %d bytes need %d", a.Name, uint64(len(b))-p, nelem, elem, want)
	}
	a.Value = decodeValues(typ, shape, nelem, elem, strPad, b[p:p+want])
	return a, nil
}

type rawMessage struct {
	typ, flags byte
	off        uint64
	data       []byte
}

// header reads and checks a version-2 object header.
func (r *reader) header(addr uint64) ([]rawMessage, error) {
	pre, err := r.span(addr, 6, "object header")
	if err != nil {
		return nil, err
	}
	if string(pre[:4]) != "OHDR" {
		if pre[0] == 1 {
			return nil, r.errf(int64(addr), "version-1 object header not supported")
		}
		return nil, r.errf(int64(addr), "no object header signature")
	}
	if pre[4] != 2 {
		return nil, r.errf(int64(addr+4), "object header version %d not supported", pre[4])
	}
	flags := pre[5]
	if flags&0xC0 != 0 {
		return nil, r.errf(int64(addr+5), "object header flags %#x: reserved bits set", flags)
	}
	p := addr + 6
	if flags&0x20 != 0 {
		p += 16 // access, modification, change, birth times
	}
	if flags&0x10 != 0 {
		p += 4 // attribute phase change values
	}
	width := uint64(1) << (flags & 3)
	sz, err := r.span(p, width, "object header chunk size")
	if err != nil {
		return nil, err
	}
	var size uint64
	for i := int(width) - 1; i >= 0; i-- {
		size = size<<8 | uint64(sz[i])
	}
	p += width
	body, err := r.span(p, size, "object header messages")
	if err != nil {
		return nil, err
	}
	sum, err := r.span(p+size, 4, "object header checksum")
	if err != nil {
		return nil, err
	}
	if got, want := binary.LittleEndian.Uint32(sum), lookup3(r.data[addr:p+size]); got != want {
		return nil, r.errf(int64(p+size), "object header checksum %#08x, want %#08x", got, want)
	}
	hdr := uint64(4)
	if flags&0x04 != 0 {
		hdr += 2 // creation order
	}
	var msgs []rawMessage
	for q := uint64(0); q+hdr <= size; {
		typ, n, mf := body[q], uint64(binary.LittleEndian.Uint16(body[q+1:])), body[q+3]
		if n > size-q-hdr {
			return nil, r.errf(int64(p+q), "message of %d bytes overruns the object header", n)
		}
		msgs = append(msgs, rawMessage{typ: typ, flags: mf, off: p + q, data: body[q+hdr : q+hdr+n]})
		q += hdr + n
	}
	return msgs, nil
}

func (r *reader) link(b []byte, off int64) (string, uint64, error) {
	if len(b) < 2 || b[0] != 1 {
		return "", 0, r.errf(off, "link message: unsupported version")
	}
	flags := b[1]
	p := 2
	if flags&0x08 != 0 {
		if len(b) <= p {
			return "", 0, r.errf(off, "link message too short")
		}
		if b[p] != 0 {
			return "", 0, r.errf(off, "link type %d not supported (only hard links)", b[p])
		}
		p++
	}
	if flags&0x04 != 0 {
		p += 8
	}
	if flags&0x10 != 0 {
		p++
	}
	w := 1 << (flags & 3)
	if len(b) < p+w {
		return "", 0, r.errf(off, "link message too short")
	}
	var n uint64
	for i := w - 1; i >= 0; i-- {
		n = n<<8 | uint64(b[p+i])
	}
	p += w
	if n > uint64(len(b)) || uint64(len(b)-p) < n+8 {
		return "", 0, r.errf(off, "link message too short for a %d-byte name", n)
	}
	name := string(b[p : p+int(n)])
	if err := validName(name); err != nil {
		return "", 0, r.errf(off, "link name %q is invalid", name)
	}
	return name, binary.LittleEndian.Uint64(b[p+int(n):]), nil
}

// dataspace decodes a scalar or simple dataspace (version 1 or 2).
func (r *reader) dataspace(b []byte, off int64) ([]int, uint64, error) {
	if len(b) < 4 {
		return nil, 0, r.errf(off, "dataspace message too short")
	}
	rank, flags := int(b[1]), b[2]
	p := 4
	switch b[0] {
	case 1:
		p = 8
	case 2:
		switch b[3] {
		case 0, 1:
		default:
			return nil, 0, r.errf(off, "dataspace type %d not supported (only scalar and simple)", b[3])
		}
		if b[3] == 0 && rank != 0 {
			return nil, 0, r.errf(off, "scalar dataspace with rank %d", rank)
		}
	default:
		return nil, 0, r.errf(off, "dataspace version %d not supported", b[0])
	}
	if rank > 32 {
		return nil, 0, r.errf(off, "dataspace rank %d above 32", rank)
	}
	need := p + 8*rank
	if flags&1 != 0 {
		need += 8 * rank
	}
	if len(b) < need {
		return nil, 0, r.errf(off, "dataspace message too short")
	}
	shape := make([]int, rank)
	n := uint64(1)
	for i := range shape {
		d := binary.LittleEndian.Uint64(b[p+8*i:])
		if d > math.MaxInt32 {
			return nil, 0, r.errf(off, "dimension %d too large", d)
		}
		shape[i] = int(d)
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt32 {
			return nil, 0, r.errf(off, "dataspace %v too large", shape[:i+1])
		}
		n = lo
	}
	if rank == 0 {
		shape = nil
	}
	return shape, n, nil
}

// datatype decodes one of the four element types.
func (r *reader) datatype(b []byte, off int64) (Type, uint64, byte, error) {
	if len(b) < 8 {
		return 0, 0, 0, r.errf(off, "datatype message too short")
	}
	class, version := b[0]&0x0f, b[0]>>4
	if version < 1 || version > 3 {
		return 0, 0, 0, r.errf(off, "datatype version %d not supported", version)
	}
	le := binary.LittleEndian
	size := le.Uint32(b[4:])
	switch class {
	case 0:
		if len(b) >= 12 && b[1] == 0x08 && size == 8 && le.Uint16(b[8:]) == 0 && le.Uint16(b[10:]) == 64 {
			return Int64, 8, 0, nil
		}
		return 0, 0, 0, r.errf(off, "integer type (%d bytes, flags %#x) not supported (only little-endian signed 64-bit)", size, b[1])
	case 1:
		if len(b) >= 20 && b[1]&0x41 == 0 && (size == 4 || size == 8) && uint32(b[2]) == 8*size-1 && string(b[8:20]) == string(floatType(int(size))[8:]) {
			if size == 4 {
				return Float32, 4, 0, nil
			}
			return Float64, 8, 0, nil
		}
		return 0, 0, 0, r.errf(off, "floating-point type (%d bytes) not supported (only little-endian IEEE binary32/64)", size)
	case 3:
		pad, cset := b[1]&0x0f, b[1]>>4
		if pad > 2 || cset > 1 || size == 0 || size > 1<<20 {
			return 0, 0, 0, r.errf(off, "string type (padding %d, charset %d, %d bytes) not supported", pad, cset, size)
		}
		return String, uint64(size), pad, nil
	case 9:
		return 0, 0, 0, r.errf(off, "variable-length type not supported (only fixed-length strings)")
	}
	return 0, 0, 0, r.errf(off, "datatype class %d not supported", class)
}

// String returns a short description of the dataset's type and shape.
func (d *Dataset) String() string {
	s := make([]string, len(d.Shape))
	for i, x := range d.Shape {
		s[i] = fmt.Sprint(x)
	}
	return fmt.Sprintf("%v[%s]", d.Type, strings.Join(s, ","))
}
