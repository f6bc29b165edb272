package hdf5

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// tiny is the smallest file of the NIR kind: a version string and a group
// with one node.
func tiny() *Group {
	root := &Group{}
	root.AddString("version", "1.0.0")
	n := root.AddGroup("node")
	n.AddString("type", "IF")
	n.AddFloat32("r", []int{2}, 1, 1)
	n.AddInt64("groups", nil, 1)
	return root
}

// every holds each element type and dataspace the writer supports.
func every() *Group {
	root := &Group{}
	root.AddFloat32("f32_scalar", nil, float32(math.Inf(-1)))
	root.AddFloat32("f32_3d", []int{2, 1, 3}, 1, -2, 0.5, float32(math.NaN()), float32(math.Copysign(0, -1)), math.MaxFloat32)
	root.AddFloat64("f64_scalar", nil, math.Pi)
	root.AddFloat64("f64_1d", []int{3}, 1e300, -1e-300, 0)
	root.AddInt64("i64_scalar", nil, math.MinInt64)
	root.AddInt64("i64_2d", []int{2, 2}, 1, -1, math.MaxInt64, 0)
	root.AddInt64("i64_empty", []int{0})
	root.AddString("str_scalar", "NIRGraph")
	root.AddString("str_empty", "")
	root.Add("str_2d", &Dataset{Type: String, Shape: []int{2, 2}, Str: []string{"input", "l0_conv", "ünïcode", ""}})
	g := root.AddGroup("groups")
	g.AddGroup("empty")
	g.AddGroup(strings.Repeat("n", 300)).AddInt64("x", nil, 1) // 2-byte name length
	g.AddGroup("ñame")                                         // UTF-8 link name
	many := root.AddGroup("many")                              // object header above 255 bytes
	for i := 0; i < 40; i++ {
		many.AddInt64(strings.Repeat("k", i+1), nil, int64(i))
	}
	return root
}

func TestRoundTrip(t *testing.T) {
	for name, root := range map[string]*Group{"tiny": tiny(), "every": every()} {
		b, err := Marshal(root)
		if err != nil {
			t.Fatal(name, err)
		}
		got, err := Read(b)
		if err != nil {
			t.Fatal(name, err)
		}
		b2, err := Marshal(got)
		if err != nil {
			t.Fatal(name, err)
		}
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: read and written again, the file differs", name)
		}
		if d := got.Lookup("f32_3d"); d != nil && (!math.IsNaN(float64(d.Dataset.F32[3])) || math.Float32bits(d.Dataset.F32[4]) != 0x80000000) {
			t.Errorf("NaN or −0 lost: %v", d.Dataset.F32)
		}
		if d := got.Lookup("str_2d"); d != nil && d.Dataset.Str[2] != "ünïcode" {
			t.Errorf("string: %q", d.Dataset.Str)
		}
	}
}

// TestGolden pins the bytes of the tiny file (go test -update rewrites it).
func TestGolden(t *testing.T) {
	b, err := Marshal(tiny())
	if err != nil {
		t.Fatal(err)
	}
	got := hex.Dump(b)
	const file = "testdata/tiny.hex"
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("tiny file changed (go test -update to accept):\n%s", got)
	}
}

// TestLookup3 checks the checksum against the value libhdf5 wrote into
// the superblock of a file made by h5py (libver="latest").
func TestLookup3(t *testing.T) {
	sb, _ := hex.DecodeString("894844460d0a1a0a03080800" + "0000000000000000" + "ffffffffffffffff" + "1708000000000000" + "3000000000000000")
	if got := lookup3(sb); got != 0x80242190 {
		t.Errorf("lookup3 = %#x, want 0x80242190", got)
	}
	if got := lookup3(nil); got != 0xdeadbeef {
		t.Errorf("lookup3(empty) = %#x, want 0xdeadbeef", got)
	}
}

func TestWriteErrors(t *testing.T) {
	loop := &Group{}
	loop.Members = append(loop.Members, Member{Name: "self", Group: loop})
	bad := []*Group{
		{Members: []Member{{Name: "a/b", Dataset: &Dataset{Type: Int64, I64: []int64{1}}}}},
		{Members: []Member{{Name: "x", Dataset: &Dataset{Type: Int64, Shape: []int{2}, I64: []int64{1}}}}},
		{Members: []Member{{Name: "x"}}},
		{Members: []Member{{Name: "x", Dataset: &Dataset{Type: String, Str: []string{"a\x00"}}}}},
		{Members: []Member{{Name: "x", Group: &Group{}}, {Name: "x", Group: &Group{}}}},
		loop,
	}
	for i, g := range bad {
		if _, err := Marshal(g); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}

func TestReadErrors(t *testing.T) {
	good, _ := Marshal(tiny())
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":     nil,
		"not hdf5":  []byte("PK\x03\x04 not an hdf5 file at all........................................"),
		"truncated": good[:len(good)-10],
		"superblock checksum": edit(func(b []byte) []byte {
			b[40] ^= 1
			return b
		}),
		"header checksum": edit(func(b []byte) []byte {
			b[len(b)-6] ^= 1
			return b
		}),
		"version 0": edit(func(b []byte) []byte {
			b[8] = 0
			return b
		}),
	}
	for name, b := range cases {
		_, err := Read(b)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v, want a *FormatError", name, err)
		}
	}
}

// TestH5dump reads the files with the HDF5 library's h5dump, where installed.
func TestH5dump(t *testing.T) {
	h5dump, err := exec.LookPath("h5dump")
	if err != nil {
		t.Skip("h5dump not installed (apt-get install hdf5-tools)")
	}
	b, err := Marshal(every())
	if err != nil {
		t.Fatal(err)
	}
	f := t.TempDir() + "/every.h5"
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(h5dump, f).CombinedOutput()
	if err != nil {
		t.Fatalf("h5dump: %v\n%s", err, out)
	}
	for _, want := range []string{"H5T_IEEE_F32LE", "H5T_IEEE_F64LE", "H5T_STD_I64LE", "STRSIZE 8", "DATASPACE  SCALAR",
		"SIMPLE { ( 2, 1, 3 ) / ( 2, 1, 3 ) }", "-inf", "nan", "1e+300", "-9223372036854775808", `GROUP "ñame"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("h5dump output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", out)
	}
}

// TestAttributes: group attributes of every type round-trip, and Digest
// covers the members but not the attributes.
func TestAttributes(t *testing.T) {
	g := withAttrs()
	b, err := Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Attrs, g.Attrs) || !reflect.DeepEqual(back.SubGroup("sub").Attrs, g.SubGroup("sub").Attrs) {
		t.Fatalf("attributes %+v, want %+v", back.Attrs, g.Attrs)
	}
	d0 := Digest(back)
	back.DeleteAttr("s")
	if Digest(back) != d0 {
		t.Fatal("digest depends on attributes")
	}
	back.Lookup("sub/x").Dataset.F32[0] = 2
	if Digest(back) == d0 {
		t.Fatal("digest does not depend on values")
	}
	for _, c := range []struct {
		name string
		g    *Group
		want string
	}{
		{"duplicate", &Group{Attrs: []Attr{{"a", &Dataset{Type: Int64, I64: []int64{1}}}, {"a", &Dataset{Type: Int64, I64: []int64{1}}}}}, "duplicate attribute"},
		{"nil", &Group{Attrs: []Attr{{"a", nil}}}, "nil attribute"},
		{"bad name", &Group{Attrs: []Attr{{"a/b", &Dataset{Type: Int64, I64: []int64{1}}}}}, "invalid"},
		{"too large", &Group{Attrs: []Attr{{"a", &Dataset{Type: Float64, Shape: []int{10000}, F64: make([]float64, 10000)}}}}, "64 KiB"},
	} {
		if _, err := Marshal(c.g); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func withAttrs() *Group {
	g := &Group{}
	sub := g.AddGroup("sub")
	sub.AddFloat32("x", []int{2}, 1, -1)
	g.SetAttr("s", &Dataset{Type: String, Str: []string{"abc"}})
	g.SetAttr("i", &Dataset{Type: Int64, Shape: []int{3}, I64: []int64{1, -2, 3}})
	sub.SetAttr("f", &Dataset{Type: Float32, Shape: []int{1}, F32: []float32{0.5}})
	sub.SetAttr("d", &Dataset{Type: Float64, F64: []float64{2.5}})
	return g
}

func FuzzRead(f *testing.F) {
	for _, g := range []*Group{tiny(), every(), withAttrs()} {
		b, _ := Marshal(g)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Read(b)
		if err != nil {
			return
		}
		// Whatever reads must write, and read back the same.
		out, err := Marshal(g)
		if err != nil {
			return // e.g. shared groups read from a DAG are fine to reject
		}
		g2, err := Read(out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		out2, err := Marshal(g2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %v", err)
		}
	})
}
