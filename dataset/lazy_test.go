package dataset

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// lazyTree is a two-split tree of RGB JPEGs (3 classes × 7 files) and
// grayscale PNGs mixed in one class, as members.
func lazyTree(t testing.TB) []member {
	var ms []member
	for _, split := range []string{"train", "test"} {
		for c, class := range []string{"ant", "bee", "cat"} {
			for k := range 7 {
				name := fmt.Sprintf("%s/%s/%02d.jpg", split, class, k)
				ms = append(ms, member{name, rgbJPEG(t, 6, 5, uint8(40*c+5*k))})
			}
		}
	}
	return ms
}

// TestLazyMatchesEager: a lazy folder or archive reads the same samples,
// bit for bit, in the same order, as the eager one, decodes only the
// samples read (counted), and fingerprints like it.
func TestLazyMatchesEager(t *testing.T) {
	dir := t.TempDir()
	ms := lazyTree(t)
	writeTree(t, filepath.Join(dir, "tree"), ms)
	writeFile(t, filepath.Join(dir, "a.tar.gz"), tarBytes(t, ms, true))
	for _, spec := range []string{"folder:" + filepath.Join(dir, "tree"), "folder:" + filepath.Join(dir, "a.tar.gz")} {
		for _, limit := range []int{0, 8} {
			eager, err := Open(spec, Options{Split: "train", Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			before := decodes.Load()
			lazy, err := Open(spec, Options{Split: "train", Limit: limit, Lazy: true})
			if err != nil {
				t.Fatal(err)
			}
			if n := decodes.Load() - before; n != 0 || !lazy.Lazy() || lazy.Pix != nil {
				t.Fatalf("%s: Open decoded %d images (lazy %v)", spec, n, lazy.Lazy())
			}
			if lazy.String() != eager.String() || !slices.Equal(lazy.Labels, eager.Labels) {
				t.Fatalf("%s: %v vs %v", spec, lazy, eager)
			}
			idx := []int{1, 4, 5, 7}
			var got, want [][]float32
			for _, s := range []*Set{lazy, eager} {
				var all []float32
				if err := s.Chunks(idx, 3, func(x []float32, y []int32, n int) error {
					all = append(all, x...)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if s == lazy {
					got = append(got, all)
				} else {
					want = append(want, all)
				}
			}
			if n := decodes.Load() - before; n != int64(len(idx)) {
				t.Errorf("%s: %d decodes for %d samples read", spec, n, len(idx))
			}
			if !slices.Equal(got[0], want[0]) {
				t.Fatalf("%s: lazy pixels differ", spec)
			}
			// Image and Slice.
			a, b := make([]float32, eager.SampleSize()), make([]float32, eager.SampleSize())
			lazy.Slice(2, 6).Image(1, a)
			eager.Image(3, b)
			if !slices.Equal(a, b) {
				t.Fatalf("%s: Slice/Image differ", spec)
			}
			// Subset: decoded once, in memory, the same pixels.
			sub, err := lazy.Subset(idx)
			if err != nil {
				t.Fatal(err)
			}
			var subPix []float32
			sub.Chunks(nil, 10, func(x []float32, _ []int32, _ int) error { subPix = append(subPix, x...); return nil })
			if sub.Lazy() || !slices.Equal(subPix, want[0]) {
				t.Fatalf("%s: Subset differs", spec)
			}
			fa, err := lazy.Fingerprint()
			if err != nil {
				t.Fatal(err)
			}
			fb, _ := eager.Fingerprint()
			if fa != fb {
				t.Fatalf("%s: fingerprints differ", spec)
			}
		}
	}
}

// TestFingerprintChanges: a rewritten file or another limit changes the
// fingerprint; an in-memory set hashes its pixels.
func TestFingerprintChanges(t *testing.T) {
	dir := t.TempDir()
	ms := lazyTree(t)
	writeTree(t, dir, ms)
	fp := func(limit int) string {
		s, err := Open("folder:"+dir, Options{Split: "train", Limit: limit, Lazy: true})
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := fp(0), fp(5)
	if a == b {
		t.Fatal("limit does not change the fingerprint")
	}
	writeFile(t, filepath.Join(dir, "train", "ant", "00.jpg"), rgbJPEG(t, 6, 5, 200))
	if fp(0) == a {
		t.Fatal("rewritten file does not change the fingerprint")
	}
	s := &Set{Name: "m", C: 1, H: 1, W: 2, Classes: []string{"a"}, Pix: []uint8{1, 2}, Labels: []uint8{0}}
	f1, _ := s.Fingerprint()
	s.Pix[1] = 3
	if f2, _ := s.Fingerprint(); f1 == f2 {
		t.Fatal("in-memory pixels do not change the fingerprint")
	}
}
