package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// MaxHeader bounds the header length a file may declare (numpy itself
// refuses headers over 10,000 bytes by default).
const MaxHeader = 1 << 16

// MaxDims bounds the number of dimensions.
const MaxDims = 32

// Array is a parsed array: its element type, shape and raw little-endian
// elements in C order (byte-swapped on reading if the file is big-endian).
type Array struct {
	// Kind is the element type: one of the Float32 … Int64 constants.
	Kind Kind
	// Shape is the array's shape; an empty shape is a scalar (one element).
	Shape []int
	// Data holds Len()·Kind.Size() bytes, little-endian.
	Data []byte
}

// Kind is an element type.
type Kind int

// The element types read.
const (
	Float32 Kind = iota
	Float64
	Uint8
	Int8
	Int16
	Int32
	Int64
)

var kinds = []struct {
	code byte // NumPy type character
	size int
	name string
}{
	Float32: {'f', 4, "float32"},
	Float64: {'f', 8, "float64"},
	Uint8:   {'u', 1, "uint8"},
	Int8:    {'i', 1, "int8"},
	Int16:   {'i', 2, "int16"},
	Int32:   {'i', 4, "int32"},
	Int64:   {'i', 8, "int64"},
}

// Size returns the bytes per element.
func (k Kind) Size() int { return kinds[k].size }

func (k Kind) String() string { return kinds[k].name }

// Integer reports whether k is an integer type.
func (k Kind) Integer() bool { return kinds[k].code != 'f' }

// Len returns the number of elements, the product of the shape.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Float returns element i as a float64 (exact for every type but int64
// values beyond 2^53).
func (a *Array) Float(i int) float64 {
	b := a.Data[i*a.Kind.Size():]
	switch a.Kind {
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case Uint8:
		return float64(b[0])
	case Int8:
		return float64(int8(b[0]))
	case Int16:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case Int32:
		return float64(int32(binary.LittleEndian.Uint32(b)))
	default:
		return float64(int64(binary.LittleEndian.Uint64(b)))
	}
}

// Int returns element i of an integer array as an int64.
func (a *Array) Int(i int) int64 {
	b := a.Data[i*a.Kind.Size():]
	switch a.Kind {
	case Uint8:
		return int64(b[0])
	case Int8:
		return int64(int8(b[0]))
	case Int16:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case Int32:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	case Int64:
		return int64(binary.LittleEndian.Uint64(b))
	}
	return int64(a.Float(i))
}

// Float32s returns the elements as float32 values: a Float32 array's
// values bit for bit, other types converted (float64 rounded to nearest).
func (a *Array) Float32s() []float32 {
	out := make([]float32, a.Len())
	if a.Kind == Float32 {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
		}
		return out
	}
	for i := range out {
		out[i] = float32(a.Float(i))
	}
	return out
}

// Error is a malformed or unsupported file: the file (an archive member as
// "archive:member"), the byte offset of the problem (-1 when unknown) and
// the cause.
type Error struct {
	File   string
	Offset int64
	Err    error
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return e.File + ": " + e.Err.Error()
	}
	return e.File + ": offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func errf(file string, off int64, format string, args ...any) error {
	return &Error{File: file, Offset: off, Err: fmt.Errorf(format, args...)}
}

// Read parses one .npy array from r; name is used in errors. The payload
// may declare at most maxBytes bytes. Data after the payload is an error.
func Read(r io.Reader, name string, maxBytes int64) (*Array, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, errf(name, 0, "not a .npy file: shorter than its 8-byte magic and version")
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, errf(name, 0, "not a .npy file: magic %q, want \"\\x93NUMPY\"", pre[:6])
	}
	major := pre[6]
	var hlen int64
	off := int64(8)
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errf(name, off, "truncated header length")
		}
		hlen, off = int64(binary.LittleEndian.Uint16(b[:])), off+2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errf(name, off, "truncated header length")
		}
		hlen, off = int64(binary.LittleEndian.Uint32(b[:])), off+4
	default:
		return nil, errf(name, 6, "format version %d.%d unsupported, want 1.0, 2.0 or 3.0", major, pre[7])
	}
	if hlen > MaxHeader {
		return nil, errf(name, off-2, "header of %d bytes, at most %d", hlen, MaxHeader)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, errf(name, off, "truncated header: want %d bytes", hlen)
	}
	a, err := parseHeader(string(hdr))
	if err != nil {
		return nil, errf(name, off, "header %q: %w", strings.TrimSpace(string(hdr)), err)
	}
	off += hlen
	need, ok := payload(a.Shape, a.Kind.Size(), maxBytes)
	if !ok {
		return nil, errf(name, off, "shape %v of %s declares more than %d bytes", a.Shape, a.Kind, maxBytes)
	}
	// Grow with the data actually present, one byte more to see trailing
	// data.
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, need+1))
	if err != nil {
		return nil, errf(name, off+n, "reading data: %w", err)
	}
	switch {
	case n < need:
		return nil, errf(name, off+n, "truncated data: %d of %d bytes of shape %v %s", n, need, a.Shape, a.Kind)
	case n > need:
		return nil, errf(name, off+need, "data after the %d bytes of shape %v %s", need, a.Shape, a.Kind)
	}
	a.Data = buf.Bytes()[:need:need]
	if a.bigEndian && a.Kind.Size() > 1 {
		swap(a.Data, a.Kind.Size())
	}
	return &a.Array, nil
}

// payload returns the bytes of shape·size and whether they are at most
// limit, computed without overflow.
func payload(shape []int, size int, limit int64) (int64, bool) {
	p := int64(size)
	for _, d := range shape {
		if d == 0 {
			return 0, true
		}
		if int64(d) > limit/p {
			return 0, false
		}
		p *= int64(d)
	}
	return p, p <= limit
}

func swap(b []byte, size int) {
	for i := 0; i+size <= len(b); i += size {
		e := b[i : i+size]
		for j, k := 0, size-1; j < k; j, k = j+1, k-1 {
			e[j], e[k] = e[k], e[j]
		}
	}
}

type header struct {
	Array
	bigEndian bool
}

// parseHeader parses the dict literal of a .npy header: exactly the keys
// descr, fortran_order and shape, in any order.
func parseHeader(s string) (header, error) {
	var h header
	p := &lit{s: s}
	if !p.eat('{') {
		return h, errors.New("not a dict literal")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, err
		}
		if seen[key] {
			return h, fmt.Errorf("key %q twice", key)
		}
		seen[key] = true
		if !p.eat(':') {
			return h, fmt.Errorf("no ':' after %q", key)
		}
		switch key {
		case "descr":
			d, err := p.str()
			if err != nil {
				return h, fmt.Errorf("descr: %w (structured dtypes are not read)", err)
			}
			if h.Kind, h.bigEndian, err = parseDescr(d); err != nil {
				return h, err
			}
		case "fortran_order":
			switch {
			case p.word("False"):
			case p.word("True"):
				return h, errors.New("Fortran-order array: save np.ascontiguousarray(a) instead")
			default:
				return h, errors.New("fortran_order: want True or False")
			}
		case "shape":
			if h.Shape, err = p.tuple(); err != nil {
				return h, fmt.Errorf("shape: %w", err)
			}
		default:
			return h, fmt.Errorf("unknown key %q", key)
		}
		if !p.eat(',') {
			if !p.eat('}') {
				return h, errors.New("want ',' or '}' after a value")
			}
			break
		}
	}
	p.space()
	if p.i != len(p.s) {
		return h, errors.New("text after the dict")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("no %q", k)
		}
	}
	return h, nil
}

// parseDescr parses a dtype string such as "<f4" or "|u1".
func parseDescr(d string) (Kind, bool, error) {
	bad := fmt.Errorf("dtype %q unsupported: want float32, float64, uint8, int8, int16, int32 or int64 (save with a.astype(np.float32))", d)
	if len(d) != 3 {
		return 0, false, bad
	}
	size, err := strconv.Atoi(d[2:])
	if err != nil {
		return 0, false, bad
	}
	for k, kd := range kinds {
		if kd.code != d[1] || kd.size != size {
			continue
		}
		switch d[0] {
		case '<':
			return Kind(k), false, nil
		case '>':
			return Kind(k), true, nil
		case '|', '=':
			// '=' is native order; numpy writes '<' or '>' for files, so
			// take '=' as little-endian like every machine numpy runs on.
			if size == 1 || d[0] == '=' {
				return Kind(k), false, nil
			}
		}
	}
	return 0, false, bad
}

// lit scans a Python literal.
type lit struct {
	s string
	i int
}

func (p *lit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *lit) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lit) word(w string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str scans a quoted string without escapes.
func (p *lit) str() (string, error) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("want a quoted string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(v, '\\') {
		return "", errors.New("escapes in a string")
	}
	p.i += end + 2
	return v, nil
}

// tuple scans a tuple of non-negative integers: (), (n,), (a, b, …).
func (p *lit) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("want a tuple")
	}
	dims := []int{}
	for {
		if p.eat(')') {
			return dims, nil
		}
		p.space()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil || n > math.MaxInt32 {
			return nil, errors.New("want non-negative integers below 2^31")
		}
		if len(dims) == MaxDims {
			return nil, fmt.Errorf("more than %d dimensions", MaxDims)
		}
		dims = append(dims, int(n))
		p.i = j
		if !p.eat(',') {
			if !p.eat(')') {
				return nil, errors.New("want ',' or ')'")
			}
			return dims, nil
		}
	}
}
