package dataset

import (
	"errors"
	"slices"
	"testing"
)

func smallSet() *Set {
	s := &Set{Name: "tiny", C: 1, H: 1, W: 2, Classes: []string{"a", "b", "c"}}
	for i := range 5 {
		s.Pix = append(s.Pix, uint8(10*i), 255)
		s.Labels = append(s.Labels, uint8(i%3))
	}
	return s
}

func TestSetAccessors(t *testing.T) {
	s := smallSet()
	if s.Len() != 5 || s.SampleSize() != 2 {
		t.Fatalf("Len %d SampleSize %d, want 5 2", s.Len(), s.SampleSize())
	}
	dst := make([]float32, 2)
	s.Image(3, dst)
	if want := []float32{30.0 / 255, 1}; !slices.Equal(dst, want) {
		t.Errorf("Image(3) = %v, want %v", dst, want)
	}
	x := make([]float32, 4)
	y := make([]int32, 2)
	s.Gather([]int{4, 0}, x, y)
	if want := []float32{40.0 / 255, 1, 0, 1}; !slices.Equal(x, want) {
		t.Errorf("Gather x = %v, want %v", x, want)
	}
	if want := []int32{1, 0}; !slices.Equal(y, want) {
		t.Errorf("Gather y = %v, want %v", y, want)
	}
	v := s.Slice(1, 3)
	if v.Len() != 2 || v.Labels[0] != 1 || v.Pix[0] != 10 || &v.Pix[0] != &s.Pix[2] {
		t.Errorf("Slice(1,3) = %+v, want a 2-sample view from sample 1", v)
	}
	if got := s.Counts(); !slices.Equal(got, []int{2, 2, 1}) {
		t.Errorf("Counts = %v, want [2 2 1]", got)
	}
	if err := s.check(); err != nil {
		t.Error(err)
	}
}

func TestScale(t *testing.T) {
	for v := range 256 {
		if scale[v] != float32(v)/255 {
			t.Fatalf("scale[%d] = %v", v, scale[v])
		}
	}
	if scale[0] != 0 || scale[255] != 1 {
		t.Fatal("scale endpoints not 0 and 1")
	}
}

func TestCheckedSize(t *testing.T) {
	tests := []struct {
		dims []int64
		want int64
		ok   bool
	}{
		{[]int64{10, 28, 28}, 7840, true},
		{[]int64{0, 1 << 40}, 0, true},
		{[]int64{1 << 31}, 1 << 31, true},
		{[]int64{1<<31 + 1}, 0, false},
		{[]int64{1 << 16, 1 << 16}, 0, false},
		{[]int64{1 << 32, 1 << 32, 1 << 32}, 0, false},
		{[]int64{-1, 4}, 0, false},
	}
	for _, tt := range tests {
		got, ok := checkedSize(tt.dims...)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("checkedSize(%v) = %d, %v; want %d, %v", tt.dims, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChunks(t *testing.T) {
	s := &Set{Name: "t", C: 1, H: 1, W: 2, Classes: []string{"a", "b", "c"},
		Pix: []uint8{0, 255, 51, 102, 0, 0, 255, 255, 1, 2}, Labels: []uint8{0, 1, 2, 1, 0}}
	cases := []struct {
		name   string
		idx    []int
		size   int
		labels []int32
		sizes  []int
	}{
		{"all", nil, 2, []int32{0, 1, 2, 1, 0}, []int{2, 2, 1}},
		{"all one chunk", nil, 100, []int32{0, 1, 2, 1, 0}, []int{5}},
		{"subset", []int{4, 2, 0}, 2, []int32{0, 2, 0}, []int{2, 1}},
		{"size 0 means 1", []int{1, 3}, 0, []int32{1, 1}, []int{1, 1}},
	}
	for _, tc := range cases {
		var labels []int32
		var sizes []int
		var firstPix []float32
		err := s.Chunks(tc.idx, tc.size, func(x []float32, y []int32, n int) error {
			if len(x) != n*2 || len(y) != n {
				t.Fatalf("%s: chunk of %d has %d values and %d labels", tc.name, n, len(x), len(y))
			}
			labels = append(labels, y...)
			sizes = append(sizes, n)
			firstPix = append(firstPix, x[0])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(labels, tc.labels) || !slices.Equal(sizes, tc.sizes) {
			t.Errorf("%s: labels %v sizes %v, want %v %v", tc.name, labels, sizes, tc.labels, tc.sizes)
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Chunks(nil, 1, func([]float32, []int32, int) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("error not returned at once: %v after %d calls", err, calls)
	}
}
