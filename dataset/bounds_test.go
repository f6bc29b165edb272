package dataset

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// bombPNG returns a 1×1 PNG whose header claims w×h pixels (valid CRC): a
// decoder that trusts it allocates w·h·4 bytes before reading any pixel.
func bombPNG(t testing.TB, w, h uint32) []byte {
	b := grayPNG(t, 1, 1, 0)
	// 8-byte signature, IHDR length and type, then width and height.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// TestImageBounds: images beyond the pixel limit are refused from their
// header, before decoding; images of the wrong size for the model are
// refused before the set is decoded; train and test class lists must agree.
func TestImageBounds(t *testing.T) {
	type tc struct {
		name       string
		ms         []member
		split      string
		sampleSize int
		want       string // substrings of the error, separated by *
	}
	tests := []tc{
		{"PNG bomb 46000x46000", []member{{"a/0.png", bombPNG(t, 46000, 46000)}, {"b/0.png", grayPNG(t, 4, 4, 0)}},
			"test", 0, "a/0.png*46000x46000*limit of 16777216 pixels"},
		{"JPEG over a lowered limit", []member{{"a/0.jpg", rgbJPEG(t, 40, 30, 9)}}, "test", 0, "a/0.jpg*40x30*limit of 1000 pixels"},
		{"size against the model", []member{{"a/0.png", grayPNG(t, 4, 4, 0)}, {"b/0.png", grayPNG(t, 4, 4, 0)}},
			"test", 3 * 32 * 32, "1x4x4 (16 values), the model takes 3072"},
		{"class lists differ", []member{
			{"train/cat/0.png", grayPNG(t, 4, 4, 0)}, {"train/dog/0.png", grayPNG(t, 4, 4, 0)},
			{"test/cat/0.png", grayPNG(t, 4, 4, 0)}, {"test/zebra/0.png", grayPNG(t, 4, 4, 0)},
		}, "test", 0, "test split has classes [cat zebra] but the train split has [cat dog]"},
		{"class lists differ (train)", []member{
			{"train/cat/0.png", grayPNG(t, 4, 4, 0)}, {"train/dog/0.png", grayPNG(t, 4, 4, 0)},
			{"test/cat/0.png", grayPNG(t, 4, 4, 0)},
		}, "train", 0, "train split has classes [cat dog] but the test split has [cat]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "JPEG over a lowered limit" {
				old := maxPixels
				maxPixels = 1000
				t.Cleanup(func() { maxPixels = old })
			}
			dir := t.TempDir()
			writeTree(t, dir, tt.ms)
			archive := filepath.Join(t.TempDir(), "x.tar.gz")
			writeFile(t, archive, tarBytes(t, tt.ms, true))
			for _, p := range []string{dir, archive} {
				_, err := Open("folder:"+p, Options{Split: tt.split, SampleSize: tt.sampleSize})
				if err == nil || !containsAll(filepath.ToSlash(err.Error()), tt.want) {
					t.Errorf("%s: error %v, want %q", p, err, tt.want)
				}
			}
		})
	}
	// Same classes in both splits, and the right size: accepted.
	ms := []member{{"train/cat/0.png", grayPNG(t, 4, 4, 0)}, {"test/cat/0.png", grayPNG(t, 4, 4, 0)}}
	dir := t.TempDir()
	writeTree(t, dir, ms)
	if _, err := Open("folder:"+dir, Options{SampleSize: 16}); err != nil {
		t.Fatal(err)
	}
}

// TestCIFARBatchRefusals: an empty, FIFO or device batch file is not a
// batch of 0 records, and the test batch cannot serve as the train split.
func TestCIFARBatchRefusals(t *testing.T) {
	batches := func(t *testing.T) string {
		dir := t.TempDir()
		for i := 1; i <= 5; i++ {
			writeFile(t, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)), cifarRecords(2, i))
		}
		writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecords(2, 0))
		return dir
	}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the spec
		split string
		want  string
	}{
		{"empty batch", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "data_batch_3.bin"), nil)
			return "cifar10:" + dir
		}, "train", "data_batch_3.bin: empty file"},
		{"FIFO batch", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data_batch_2.bin")
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip(err)
			}
			return "cifar10:" + dir
		}, "train", "data_batch_2.bin: not a regular file"},
		{"device batch", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data_batch_5.bin")
			os.Remove(p)
			if err := os.Symlink("/dev/null", p); err != nil {
				t.Skip(err)
			}
			return "cifar10:" + dir
		}, "train", "data_batch_5.bin: not a regular file"},
		{"test batch as train split", func(t *testing.T, dir string) string {
			return "cifar10:" + filepath.Join(dir, "test_batch.bin")
		}, "train", "test_batch.bin is the test batch and cannot serve as the train split"},
		{"empty single file", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "test_batch.bin"), nil)
			return "cifar10:" + filepath.Join(dir, "test_batch.bin")
		}, "test", "empty file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := batches(t)
			spec := c.setup(t, dir)
			_, err := Open(spec, Options{Split: c.split})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	// The test batch as the test split is fine.
	dir := batches(t)
	if s, err := Open("cifar10:"+filepath.Join(dir, "test_batch.bin"), Options{Split: "test"}); err != nil || s.Len() != 2 {
		t.Fatalf("test batch: %v", err)
	}
}
