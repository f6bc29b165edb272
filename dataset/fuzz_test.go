package dataset

import (
	"bytes"
	"testing"
)

// Fuzz targets run with the allocation limits lowered so that inputs
// declaring large payloads are exercised quickly.
func fuzzLimits(f *testing.F) {
	oldT, oldM := maxBytes, maxMember
	maxBytes, maxMember = 1<<22, 1<<20
	f.Cleanup(func() { maxBytes, maxMember = oldT, oldM })
}

func FuzzIDX(f *testing.F) {
	fuzzLimits(f)
	img := idxBytes([]int{2, 3, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(img)
	f.Add(gz(f, img))
	f.Add(idxBytes([]int{4}, []byte{1, 2, 3, 4}))
	f.Add(img[:9])
	f.Add(append(img, 1))
	f.Add(idxBytes([]int{1 << 20, 1 << 20}, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := ReadIDX(bytes.NewReader(in), "fuzz.idx")
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if len(x.Dims) < 1 || len(x.Data) != n || int64(n) > maxBytes {
			t.Fatalf("dims %v with %d bytes", x.Dims, len(x.Data))
		}
		if len(x.Dims) == 3 && x.Dims[1] > 0 && x.Dims[2] > 0 {
			lb := &IDX{Dims: x.Dims[:1], Data: make([]byte, x.Dims[0])}
			s, err := idxToSet("fuzz", x, "i", lb, "l", MNISTClasses)
			if err != nil || s.Len() != x.Dims[0] {
				t.Fatalf("idxToSet: %v", err)
			}
		}
	})
}

func FuzzCIFARBin(f *testing.F) {
	fuzzLimits(f)
	f.Add(cifarRecords(2, 9))
	f.Add(cifarRecords(1, 0)[:100])
	f.Add([]byte{10})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadCIFARBin(bytes.NewReader(in), "fuzz.bin")
		if err != nil {
			return
		}
		if len(in)%cifarRecord != 0 || s.Len() != len(in)/cifarRecord || s.check() != nil {
			t.Fatalf("%d bytes gave %d samples", len(in), s.Len())
		}
		for _, l := range s.Labels {
			if l >= 10 {
				t.Fatalf("label %d", l)
			}
		}
	})
}

// FuzzImageFolder fuzzes the image-folder reader through its archive form:
// the input is a tar stream, gzipped or not, of class folders.
func FuzzImageFolder(f *testing.F) {
	fuzzLimits(f)
	f.Add(tarBytes(f, grayTree(f, ""), true))
	f.Add(tarBytes(f, grayTree(f, "root/"), false))
	f.Add(tarBytes(f, []member{
		{"test/a/0.png", rgbPNG(f, 3, 3, 1)},
		{"test/b/0.jpg", rgbJPEG(f, 3, 3, 2)},
		{"train/a/0.png", grayPNG(f, 2, 2, 0)},
	}, false))
	f.Add(tarBytes(f, []member{{"a/0.jpg", rgbJPEG(f, 8, 8, 5)}, {"a/1.png", grayPNG(f, 9, 8, 5)}}, false))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadImageTar(bytes.NewReader(in), "fuzz.tar", "test")
		if err != nil {
			return
		}
		if err := s.check(); err != nil || s.Len() == 0 {
			t.Fatalf("invalid set %v: %v", s, err)
		}
		for _, l := range s.Labels {
			if int(l) >= len(s.Classes) {
				t.Fatalf("label %d of %d classes", l, len(s.Classes))
			}
		}
	})
}
