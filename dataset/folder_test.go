package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// grayTree is a class-folder tree of 2×3 gray PNGs: class "b" has 3 files,
// "a" 2 and "c" 1, named so that sorting matters.
func grayTree(t testing.TB, prefix string) []member {
	return []member{
		{prefix + "b/10.png", grayPNG(t, 3, 2, 12)},
		{prefix + "b/02.png", grayPNG(t, 3, 2, 11)},
		{prefix + "a/x.png", grayPNG(t, 3, 2, 2)},
		{prefix + "a/w.png", grayPNG(t, 3, 2, 1)},
		{prefix + "c/only.png", grayPNG(t, 3, 2, 21)},
		{prefix + "b/03.png", grayPNG(t, 3, 2, 13)},
		{prefix + "a/notes.txt", []byte("ignored")},
	}
}

func TestImageFolderOrder(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, grayTree(t, ""))
	archive := filepath.Join(t.TempDir(), "tree.tar.gz")
	writeFile(t, archive, tarBytes(t, grayTree(t, "./top/"), true))
	plain := filepath.Join(t.TempDir(), "tree.tar")
	writeFile(t, plain, tarBytes(t, grayTree(t, ""), false))

	wantLabels := []uint8{0, 1, 2, 0, 1, 1}
	wantFirstPix := []uint8{1, 11, 21, 2, 13, 12} // b: 02.png, 03.png, 10.png // pixel (0,0) of each sample
	for _, p := range []string{dir, archive, plain} {
		for _, split := range []string{"test", "train"} { // no split folders: split is ignored
			s, err := Open("folder:"+p, Options{Split: split})
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !slices.Equal(s.Classes, []string{"a", "b", "c"}) || s.C != 1 || s.H != 2 || s.W != 3 {
				t.Fatalf("%s: %v classes %v", p, s, s.Classes)
			}
			if !slices.Equal(s.Labels, wantLabels) {
				t.Errorf("%s: labels %v, want %v", p, s.Labels, wantLabels)
			}
			for i, v := range wantFirstPix {
				if got := s.Pix[i*6]; got != v {
					t.Errorf("%s: sample %d pixel 0 = %d, want %d", p, i, got, v)
				}
			}
			if s.Pix[5] != 1+1+2 { // sample 0, pixel (x=2, y=1)
				t.Errorf("%s: sample 0 last pixel %d", p, s.Pix[5])
			}
		}
	}
	s, err := Open("folder:"+archive, Options{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Labels, wantLabels[:4]) || s.Name != "tree/test" {
		t.Errorf("limit 4: labels %v name %q", s.Labels, s.Name)
	}
}

func TestImageFolderSplitsAndColor(t *testing.T) {
	ms := []member{
		{"train/cat/0.png", rgbPNG(t, 4, 4, 200)},
		{"train/dog/0.png", grayPNG(t, 4, 4, 50)},
		{"train/dog/1.jpg", rgbJPEG(t, 4, 4, 100)},
		{"test/cat/0.png", grayPNG(t, 4, 4, 7)},
		{"test/dog/0.png", grayPNG(t, 4, 4, 9)},
		{"test/dog/1.png", grayPNG(t, 4, 4, 8)},
	}
	dir := t.TempDir()
	writeTree(t, dir, ms)
	archive := filepath.Join(t.TempDir(), "s.tgz")
	writeFile(t, archive, tarBytes(t, ms, true))
	for _, p := range []string{dir, archive} {
		test, err := Open("folder:"+p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if test.C != 1 || test.Len() != 3 || !slices.Equal(test.Labels, []uint8{0, 1, 1}) {
			t.Errorf("%s test: %v labels %v", p, test, test.Labels)
		}
		train, err := Open("folder:"+p, Options{Split: "train"})
		if err != nil {
			t.Fatal(err)
		}
		if train.C != 3 || train.Len() != 3 {
			t.Fatalf("%s train: %v", p, train)
		}
		// Sample 0 is cat/0.png: R=200, G=x, B=y; sample 1 is gray dog/0.png replicated.
		if train.Pix[0] != 200 || train.Pix[16+1] != 1 || train.Pix[32+4] != 1 {
			t.Errorf("%s: RGB planes wrong: %v", p, train.Pix[:48])
		}
		g := train.Pix[48:96]
		if !bytes.Equal(g[:16], g[16:32]) || !bytes.Equal(g[:16], g[32:]) || g[0] != 50 {
			t.Errorf("%s: gray image not replicated: %v", p, g)
		}
	}
}

func TestImageFolderErrors(t *testing.T) {
	type tc struct {
		name string
		ms   []member
		want string // substrings of the error, separated by *
	}
	tests := []tc{
		{"size mismatch", []member{
			{"a/0.png", grayPNG(t, 4, 4, 0)}, {"b/0.png", grayPNG(t, 4, 4, 0)}, {"a/1.png", grayPNG(t, 5, 4, 0)},
		}, "a/1.png*image is 5x4, but"},
		{"corrupt", []member{
			{"a/0.png", grayPNG(t, 4, 4, 0)}, {"a/1.png", []byte("\x89PNG garbage")},
		}, "a/1.png*decoding image header"},
		{"no images", []member{{"a/readme.txt", []byte("x")}}, "no"},
		{"split without wanted split", []member{{"train/a/0.png", grayPNG(t, 4, 4, 0)}}, "test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.ms)
			archive := filepath.Join(t.TempDir(), "x.tar.gz")
			writeFile(t, archive, tarBytes(t, tt.ms, true))
			for _, p := range []string{dir, archive} {
				_, err := Open("folder:"+p, Options{})
				if err == nil || !containsAll(filepath.ToSlash(err.Error()), tt.want) {
					t.Errorf("%s: error %v, want %q", p, err, tt.want)
				}
			}
		})
	}

	// Archive-only layout errors.
	for _, tt := range []tc{
		{"mixed layouts", []member{{"test/a/0.png", grayPNG(t, 4, 4, 0)}, {"a/0.png", grayPNG(t, 4, 4, 0)}}, "mixed layouts"},
		{"two roots", []member{{"r1/a/0.png", grayPNG(t, 4, 4, 0)}, {"r2/a/0.png", grayPNG(t, 4, 4, 0)}}, "not under \"r1\""},
		{"truncated", nil, "tar"},
	} {
		data := tarBytes(t, tt.ms, false)
		if tt.ms == nil {
			data = tarBytes(t, []member{{"a/0.png", grayPNG(t, 4, 4, 0)}}, false)[:512+20]
		}
		_, err := ReadImageTar(bytes.NewReader(data), "x.tar", "test")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// The other split is skipped unread: a corrupt training image does not
// affect loading the test split.
func TestImageTarSkipsOtherSplit(t *testing.T) {
	ms := []member{
		{"test/a/0.png", grayPNG(t, 4, 4, 0)},
		{"train/a/0.png", []byte("not a png")},
	}
	s, err := ReadImageTar(bytes.NewReader(tarBytes(t, ms, true)), "x.tar.gz", "test")
	if err != nil || s.Len() != 1 {
		t.Fatalf("test split: %v, %v", s, err)
	}
	_, err = ReadImageTar(bytes.NewReader(tarBytes(t, ms, true)), "x.tar.gz", "train")
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != "x.tar.gz:train/a/0.png" || fe.Offset <= 0 {
		t.Errorf("train split: error %v, want a FormatError for x.tar.gz:train/a/0.png with its offset", err)
	}
}

func TestImageFolderLimits(t *testing.T) {
	ms := []member{{"a/0.png", grayPNG(t, 64, 64, 0)}, {"a/1.png", grayPNG(t, 64, 64, 0)}}
	lowerLimits(t, 64*64+10, 1<<20)
	_, err := ReadImageTar(bytes.NewReader(tarBytes(t, ms, true)), "x", "test")
	if err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("total limit: %v", err)
	}
	lowerLimits(t, 1<<20, 50)
	_, err = ReadImageTar(bytes.NewReader(tarBytes(t, ms, true)), "x", "test")
	if err == nil || !strings.Contains(err.Error(), "exceeds 50") {
		t.Errorf("member limit: %v", err)
	}
}

// opaqueImage hides the concrete type of an image so putPixels takes its
// generic path.
type opaqueImage struct{ image.Image }

func TestPutPixelsFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rect := image.Rect(3, 5, 3+7, 5+6) // non-zero origin
	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	gray := image.NewGray(rect)
	rgba := image.NewRGBA(rect)
	for _, p := range [][]byte{ycc.Y, ycc.Cb, ycc.Cr, gray.Pix} {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
	}
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			rgba.SetRGBA(x, y, color.RGBA{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), 255})
		}
	}
	for _, tt := range []struct {
		img image.Image
		c   int
	}{{ycc, 3}, {gray, 1}, {gray, 3}, {rgba, 3}} {
		fast := make([]uint8, tt.c*42)
		slow := make([]uint8, tt.c*42)
		putPixels(tt.img, tt.c, fast)
		putPixels(opaqueImage{tt.img}, tt.c, slow)
		if !bytes.Equal(fast, slow) {
			t.Errorf("%T c=%d: fast path differs from generic path", tt.img, tt.c)
		}
	}
}

func TestParallelForFirstError(t *testing.T) {
	for range 20 {
		err := parallelFor(1000, func(i int) error {
			if i%97 == 96 {
				return fmt.Errorf("bad %d", i)
			}
			return nil
		})
		if err == nil || err.Error() != "bad 96" {
			t.Fatalf("got %v, want bad 96", err)
		}
	}
}

const cifarJPEG = "cifar10-jpeg/cifar10-jpeg-q75.tar.gz"

func TestCIFARJPEGTarball(t *testing.T) {
	p := sharedData(t, cifarJPEG)
	start := time.Now()
	s, err := Open("cifar10:"+p, Options{Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v loaded in %v", s, time.Since(start))
	if s.Len() != 10000 || s.C != 3 || s.H != 32 || s.W != 32 || s.Name != "cifar10/test" {
		t.Fatalf("got %v", s)
	}
	if !slices.Equal(s.Labels[:10], []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("first labels %v, want 0..9", s.Labels[:10])
	}
	if c := s.Counts(); slices.Min(c) != 1000 || slices.Max(c) != 1000 {
		t.Errorf("class counts %v", c)
	}
	// shared/data/README.md gives the sha256 of the class-sorted test split
	// written as a CIFAR-10 binary batch after decoding with Go's image/jpeg.
	h := sha256.New()
	for c := range 10 {
		for k := range 1000 {
			i := k*10 + c // round-robin order
			h.Write([]byte{s.Labels[i]})
			h.Write(s.Pix[i*cifarPix : (i+1)*cifarPix])
		}
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), "79707bb89735de43919fa9f4858b6adb22ae4846a4d5d6de2afca69d35efe8ed"; got != want {
		t.Errorf("class-sorted test_batch sha256 %s, want %s (README)", got, want)
	}

	if testing.Short() {
		return
	}
	start = time.Now()
	tr, err := Open("cifar10:"+p, Options{Split: "train"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v loaded in %v", tr, time.Since(start))
	if tr.Len() != 50000 || !slices.Equal(tr.Labels[:10], []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("train: %v first labels %v", tr, tr.Labels[:10])
	}
}

func TestCIFARFromSharedDir(t *testing.T) {
	p := sharedData(t, cifarJPEG)
	s, err := Open("cifar10", Options{Dir: filepath.Dir(filepath.Dir(p)), Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 20 || s.Labels[19] != 9 {
		t.Errorf("got %v labels %v", s, s.Labels)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

func containsAll(s, subs string) bool {
	for sub := range strings.SplitSeq(subs, "*") {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
