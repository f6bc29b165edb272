package hdf5

import (
	"fmt"
	"strings"
)

// Type is the element type of a Dataset.
type Type int

// Element types.
const (
	Float32 Type = iota + 1 // IEEE 754 binary32, little-endian
	Float64                 // IEEE 754 binary64, little-endian
	Int64                   // two's complement, little-endian
	String                  // fixed-length, NUL-padded UTF-8
)

func (t Type) String() string {
	switch t {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	case String:
		return "string"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Dataset is an array of one element type. Exactly the slice of its Type
// holds the elements, in row-major order; its length is the product of Shape
// (1 for a scalar).
type Dataset struct {
	Type  Type
	Shape []int // nil or empty: scalar
	F32   []float32
	F64   []float64
	I64   []int64
	Str   []string
}

// Len returns the number of elements the shape holds.
func (d *Dataset) Len() int {
	n := 1
	for _, s := range d.Shape {
		n *= s
	}
	return n
}

func (d *Dataset) values() int {
	switch d.Type {
	case Float32:
		return len(d.F32)
	case Float64:
		return len(d.F64)
	case Int64:
		return len(d.I64)
	case String:
		return len(d.Str)
	}
	return -1
}

// Member is a named entry of a Group: a Group or a Dataset.
type Member struct {
	Name    string
	Group   *Group
	Dataset *Dataset
}

// Group is an HDF5 group: named members, in the order they were added
// (readers such as h5py list them by name).
type Group struct {
	Members []Member
	// Attrs are the group's attributes (HDF5 attribute messages), in the
	// order they were set.
	Attrs []Attr
}

// Attr is a named attribute of a Group.
type Attr struct {
	Name  string
	Value *Dataset
}

// Attr returns the value of the attribute name, nil if there is none.
func (g *Group) Attr(name string) *Dataset {
	for _, a := range g.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return nil
}

// SetAttr sets the attribute name to v, replacing an attribute of that name.
func (g *Group) SetAttr(name string, v *Dataset) {
	for i := range g.Attrs {
		if g.Attrs[i].Name == name {
			g.Attrs[i].Value = v
			return
		}
	}
	g.Attrs = append(g.Attrs, Attr{Name: name, Value: v})
}

// DeleteAttr removes the attribute name, if there is one.
func (g *Group) DeleteAttr(name string) {
	for i := range g.Attrs {
		if g.Attrs[i].Name == name {
			g.Attrs = append(g.Attrs[:i:i], g.Attrs[i+1:]...)
			return
		}
	}
}

// Get returns the member called name, or nil.
func (g *Group) Get(name string) *Member {
	for i := range g.Members {
		if g.Members[i].Name == name {
			return &g.Members[i]
		}
	}
	return nil
}

// Lookup follows a slash-separated path ("node/nodes/l1_if") from g.
func (g *Group) Lookup(path string) *Member {
	if g == nil {
		return nil
	}
	cur := g
	parts := strings.Split(path, "/")
	for i, p := range parts {
		m := cur.Get(p)
		if m == nil {
			return nil
		}
		if i == len(parts)-1 {
			return m
		}
		if m.Group == nil {
			return nil
		}
		cur = m.Group
	}
	return nil
}

// Dataset returns the dataset called name, or nil.
func (g *Group) Dataset(name string) *Dataset {
	if m := g.Get(name); m != nil {
		return m.Dataset
	}
	return nil
}

// SubGroup returns the group called name, or nil.
func (g *Group) SubGroup(name string) *Group {
	if m := g.Get(name); m != nil {
		return m.Group
	}
	return nil
}

// AddGroup appends an empty group called name and returns it.
func (g *Group) AddGroup(name string) *Group {
	s := &Group{}
	g.Members = append(g.Members, Member{Name: name, Group: s})
	return s
}

// Add appends a dataset called name.
func (g *Group) Add(name string, d *Dataset) {
	g.Members = append(g.Members, Member{Name: name, Dataset: d})
}

// AddString appends a scalar string dataset.
func (g *Group) AddString(name, s string) {
	g.Add(name, &Dataset{Type: String, Str: []string{s}})
}

// AddInt64 appends an int64 dataset; shape nil makes a scalar.
func (g *Group) AddInt64(name string, shape []int, v ...int64) {
	g.Add(name, &Dataset{Type: Int64, Shape: shape, I64: v})
}

// AddFloat32 appends a float32 dataset; shape nil makes a scalar.
func (g *Group) AddFloat32(name string, shape []int, v ...float32) {
	g.Add(name, &Dataset{Type: Float32, Shape: shape, F32: v})
}

// AddFloat64 appends a float64 dataset; shape nil makes a scalar.
func (g *Group) AddFloat64(name string, shape []int, v ...float64) {
	g.Add(name, &Dataset{Type: Float64, Shape: shape, F64: v})
}

// FormatError reports input that is not HDF5 or lies outside the subset
// this package reads, at a byte offset of the file.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("hdf5: offset %d: %s", e.Offset, e.Msg)
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("hdf5: invalid member name %q", name)
	}
	return nil
}
