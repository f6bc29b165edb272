package npy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testLimit = 1 << 20

// TestNumPyFixtures reads arrays written by numpy.save (Debian's
// python3-numpy, tools/make_npy_fixtures.py) and compares their elements
// with the raw bytes NumPy wrote beside them: bit for bit, so -0.0, the
// subnormal and the infinity in f32_nchw must survive.
func TestNumPyFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, bin string
		kind      Kind
		shape     []int
	}{
		{"f32_nchw.npy", "f32_nchw.bin", Float32, []int{6, 1, 4, 4}},
		{"f32_big.npy", "f32_nchw.bin", Float32, []int{6, 1, 4, 4}}, // big-endian, swapped on reading
		{"v2.npy", "f32_nchw.bin", Float32, []int{6, 1, 4, 4}},
		{"u8_nhwc.npy", "u8_nhwc.bin", Uint8, []int{6, 4, 4, 3}},
		{"i64_labels.npy", "i64_labels.bin", Int64, []int{6}},
		{"i32_labels.npy", "i32_labels.bin", Int32, []int{6}},
		{"u8_labels.npy", "u8_labels.bin", Uint8, []int{6}},
		{"f64.npy", "f64.bin", Float64, []int{2, 3}},
		{"scalar.npy", "scalar.bin", Float32, []int{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tc.file), testLimit)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", tc.bin))
			if err != nil {
				t.Fatal(err)
			}
			if a.Kind != tc.kind || !slices.Equal(a.Shape, tc.shape) {
				t.Fatalf("got %v %v, want %v %v", a.Kind, a.Shape, tc.kind, tc.shape)
			}
			if !bytes.Equal(a.Data, want) {
				t.Fatalf("elements differ from NumPy's bytes")
			}
		})
	}
}

func TestNPZ(t *testing.T) {
	x, _ := os.ReadFile("testdata/f32_nchw.bin")
	y, _ := os.ReadFile("testdata/i64_labels.bin")
	u8, _ := os.ReadFile("testdata/u8_nhwc.bin")
	for _, tc := range []struct {
		file string
		keys []string
		want [][]byte
	}{
		{"xy.npz", []string{"x", "y"}, [][]byte{x, y}},
		{"named.npz", []string{"images", "labels"}, [][]byte{u8, y}}, // savez_compressed: deflated
	} {
		arrs, err := ReadNPZFile(filepath.Join("testdata", tc.file), tc.keys, testLimit)
		if err != nil {
			t.Fatal(err)
		}
		for i := range arrs {
			if !bytes.Equal(arrs[i].Data, tc.want[i]) {
				t.Errorf("%s %s: elements differ from NumPy's bytes", tc.file, tc.keys[i])
			}
		}
	}
	_, err := ReadNPZFile("testdata/xy.npz", []string{"images"}, testLimit)
	if err == nil || !strings.Contains(err.Error(), `no array "images"; it holds "x", "y"`) {
		t.Errorf("missing key: got %v", err)
	}
}

func TestFloat32s(t *testing.T) {
	a, err := ReadFile("testdata/f64.npy", testLimit)
	if err != nil {
		t.Fatal(err)
	}
	f := a.Float32s()
	for i := range f {
		if f[i] != float32(a.Float(i)) {
			t.Fatalf("element %d: %v, want %v", i, f[i], float32(a.Float(i)))
		}
	}
	l, err := ReadFile("testdata/i64_labels.npy", testLimit)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for i := range l.Len() {
		got = append(got, l.Int(i))
	}
	if !slices.Equal(got, []int64{3, 1, 4, 1, 5, 9}) {
		t.Fatalf("labels %v", got)
	}
}

// npyFile builds a version 1.0 file with header h and payload data.
func npyFile(h string, data []byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), data...)
}

func TestErrors(t *testing.T) {
	good := "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "shorter than its 8-byte magic"},
		{"magic", []byte("PK\x03\x04xxxxxxxx"), "not a .npy file"},
		{"version", []byte("\x93NUMPY\x04\x00\x00\x00"), "version 4.0 unsupported"},
		{"short header", []byte("\x93NUMPY\x01\x00\x50\x00{'descr'"), "truncated header"},
		{"huge header", []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"), "header of 2147483647 bytes"},
		{"truncated data", npyFile(good, make([]byte, 7)), "truncated data: 7 of 8 bytes"},
		{"trailing data", npyFile(good, make([]byte, 9)), "data after the 8 bytes"},
		{"huge shape", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }", nil), "declares more than"},
		{"fortran", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", nil), "Fortran-order"},
		{"object", npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", nil), `dtype "|O" unsupported`},
		{"structured", npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", nil), "structured dtypes"},
		{"negative dim", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", nil), "non-negative"},
		{"missing key", npyFile("{'descr': '<f4', 'shape': (2,), }", nil), `no "fortran_order"`},
		{"unknown key", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", nil), `unknown key "x"`},
		{"not a dict", npyFile("[1, 2]", nil), "not a dict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.file), "f.npy", testLimit)
			var e *Error
			if !errors.As(err, &e) || e.File != "f.npy" {
				t.Fatalf("got %v, want an *Error naming f.npy", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNPZErrors(t *testing.T) {
	_, err := ReadNPZ(bytes.NewReader([]byte("not a zip")), 9, "d.npz", []string{"x"}, testLimit)
	if err == nil || !strings.Contains(err.Error(), "d.npz: not an .npz file") {
		t.Errorf("got %v", err)
	}
	raw, err := os.ReadFile("testdata/xy.npz")
	if err != nil {
		t.Fatal(err)
	}
	// A limit below the member's size is refused before it is read.
	_, err = ReadNPZ(bytes.NewReader(raw), int64(len(raw)), "d.npz", []string{"x"}, 16)
	if err == nil || !strings.Contains(err.Error(), "d.npz:x.npy") {
		t.Errorf("got %v, want an error naming the member", err)
	}
}

// FuzzRead feeds arbitrary bytes to the .npy parser: it must return an
// array whose data matches its shape, or an *Error, and never panic or
// allocate beyond the limit.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"f32_nchw.npy", "u8_nhwc.npy", "i64_labels.npy", "v2.npy", "scalar.npy", "f32_big.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b), "fuzz.npy", 1<<16)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(a.Data) != a.Len()*a.Kind.Size() {
			t.Fatalf("%d bytes for shape %v of %v", len(a.Data), a.Shape, a.Kind)
		}
	})
}

// FuzzNPZ feeds arbitrary bytes to the .npz reader.
func FuzzNPZ(f *testing.F) {
	for _, name := range []string{"xy.npz", "named.npz"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, keys := range [][]string{{"x", "y"}, {"images", "labels"}} {
			arrs, err := ReadNPZ(bytes.NewReader(b), int64(len(b)), "fuzz.npz", keys, 1<<16)
			if err != nil {
				continue
			}
			for _, a := range arrs {
				if len(a.Data) != a.Len()*a.Kind.Size() {
					t.Fatalf("%d bytes for shape %v of %v", len(a.Data), a.Shape, a.Kind)
				}
			}
		}
	})
}
