package dataset

import (
	"encoding/binary"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

const npyDir = "../internal/npy/testdata/"

// TestTensorSets opens the NumPy-written fixtures (tools/make_npy_fixtures.py)
// as data sets: float32 values come out bit for bit as NumPy wrote them,
// uint8 NHWC tensors are transposed to NCHW and read as x/255.
func TestTensorSets(t *testing.T) {
	raw, err := os.ReadFile(npyDir + "f32_nchw.bin")
	if err != nil {
		t.Fatal(err)
	}
	wantF := make([]uint32, len(raw)/4)
	for i := range wantF {
		wantF[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	u8, err := os.ReadFile(npyDir + "u8_nhwc.bin")
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := []uint8{3, 1, 4, 1, 5, 9}
	for _, tc := range []struct {
		spec    string
		opt     Options
		c, h, w int
		float   bool
	}{
		{"npy:" + npyDir + "f32_nchw.npy," + npyDir + "i64_labels.npy", Options{}, 1, 4, 4, true},
		{"npy:" + npyDir + "f32_big.npy," + npyDir + "i32_labels.npy", Options{Split: "train"}, 1, 4, 4, true},
		{"npz:" + npyDir + "xy.npz", Options{}, 1, 4, 4, true},
		{"npz:" + npyDir + "named.npz:images,labels", Options{}, 3, 4, 4, false},
		{"npy:" + npyDir + "u8_nhwc.npy," + npyDir + "u8_labels.npy", Options{Layout: LayoutNHWC}, 3, 4, 4, false},
		{"npy:" + npyDir + "f32_nchw.npy," + npyDir + "i64_labels.npy", Options{Layout: LayoutNCHW}, 1, 4, 4, true},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := Open(tc.spec, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if s.C != tc.c || s.H != tc.h || s.W != tc.w || !slices.Equal(s.Labels, wantLabels) || !s.Unsplit() || s.Pixels() == tc.float {
				t.Fatalf("got %v labels %v unsplit %v pixels %v", s, s.Labels, s.Unsplit(), s.Pixels())
			}
			if len(s.Classes) != 10 {
				t.Errorf("classes %v, want 0..9 (the largest label is 9)", s.Classes)
			}
			x := make([]float32, s.Len()*s.SampleSize())
			y := make([]int32, s.Len())
			idx := make([]int, s.Len())
			for i := range idx {
				idx[i] = i
			}
			s.Gather(idx, x, y)
			for i, v := range x {
				var want uint32
				if tc.float {
					want = wantF[i]
				} else {
					// NHWC bytes: sample n, channel ch, pixel p.
					n, r := i/(3*16), i%(3*16)
					ch, p := r/16, r%16
					want = math.Float32bits(float32(u8[n*48+p*3+ch]) / 255)
				}
				if math.Float32bits(v) != want {
					t.Fatalf("value %d: bits %08x, want %08x", i, math.Float32bits(v), want)
				}
			}
		})
	}
}

func TestTensorSetErrors(t *testing.T) {
	x, y := npyDir+"f32_nchw.npy", npyDir+"i64_labels.npy"
	for _, tc := range []struct {
		spec string
		opt  Options
		want string
	}{
		{"npy:" + x, Options{}, "want npy:IMAGES.npy,LABELS.npy"},
		{"npy:" + y + "," + y, Options{}, "images of int64"},
		{"npy:" + x + "," + x, Options{}, "labels of float32"},
		{"npy:" + x + "," + npyDir + "f64.npy", Options{}, "labels of float64"},
		{"npy:" + x + ",nonexistent.npy", Options{}, "nonexistent.npy"},
		{"npy:" + x + "," + npyDir + "u8_nhwc.npy", Options{}, "labels of shape [6 4 4 3]"},
		{"npy:" + x + "," + y, Options{SampleSize: 784}, "the model takes 784"},
		{"npy:" + x + "," + y, Options{Layout: "hwcn"}, `layout "hwcn"`},
		{"npz:" + npyDir + "xy.npz:x", Options{}, "npz:FILE.npz:IMAGES,LABELS"},
		{"npz:" + npyDir + "xy.npz:images,labels", Options{}, `no array "images"`},
		{"npz:" + x, Options{}, "not an .npz file"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Open(tc.spec, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		told  string
		nhwc  bool
		err   bool
	}{
		{[]int{5, 3, 32, 32}, "", false, false},
		{[]int{5, 32, 32, 3}, "", true, false},
		{[]int{5, 1, 28, 28}, "", false, false},
		{[]int{5, 3, 4, 3}, "", false, true}, // both look like channels
		{[]int{5, 3, 4, 3}, LayoutNHWC, true, false},
		{[]int{5, 64, 8, 8}, "", false, true}, // neither
		{[]int{5, 64, 8, 8}, LayoutNCHW, false, false},
	} {
		nhwc, err := layout(tc.shape, tc.told)
		if nhwc != tc.nhwc || (err != nil) != tc.err {
			t.Errorf("%v %q: got %v %v, want %v error %v", tc.shape, tc.told, nhwc, err, tc.nhwc, tc.err)
		}
	}
}

func TestFloatSetSliceSubset(t *testing.T) {
	s, err := Open("npz:"+npyDir+"xy.npz", Options{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 {
		t.Fatalf("limit 4: %d samples", s.Len())
	}
	sub, err := s.Subset([]int{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]float32, 16), make([]float32, 16)
	s.Image(3, a)
	sub.Image(0, b)
	if !slices.Equal(a, b) || sub.Labels[1] != s.Labels[1] || !sub.Unsplit() {
		t.Fatalf("subset differs from the set")
	}
	if _, err := sub.Fingerprint(); err != nil {
		t.Fatal(err)
	}
}
