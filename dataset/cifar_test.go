package dataset

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarRecords returns n CIFAR-10 records with labels label0, label0+1, …
// (mod 10) and pixel bytes derived from the record index.
func cifarRecords(n, label0 int) []byte {
	var b []byte
	for i := range n {
		b = append(b, byte((label0+i)%10))
		for j := range cifarPix {
			b = append(b, byte(i+j))
		}
	}
	return b
}

func TestReadCIFARBin(t *testing.T) {
	badLabel := cifarRecords(2, 0)
	badLabel[cifarRecord] = 10
	tests := []struct {
		name    string
		in      []byte
		n       int
		wantErr string
		offset  int64
	}{
		{name: "empty", in: nil, n: 0},
		{name: "one", in: cifarRecords(1, 3), n: 1},
		{name: "three", in: cifarRecords(3, 8), n: 3},
		{name: "partial", in: cifarRecords(2, 0)[:cifarRecord+100], wantErr: "partial record: 100 of 3073", offset: cifarRecord},
		{name: "label only", in: cifarRecords(1, 0)[:1], wantErr: "partial record: 1 of 3073", offset: 0},
		{name: "bad label", in: badLabel, wantErr: "label 10 out of range", offset: cifarRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadCIFARBin(bytes.NewReader(tt.in), "b.bin")
			if tt.wantErr != "" {
				var fe *FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) || fe.Offset != tt.offset || fe.File != "b.bin" {
					t.Fatalf("error %v, want %q at offset %d", err, tt.wantErr, tt.offset)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != tt.n || len(s.Pix) != tt.n*cifarPix {
				t.Fatalf("got %d samples, %d bytes", s.Len(), len(s.Pix))
			}
			if tt.n > 0 && (!bytes.Equal(s.Pix[:cifarPix], tt.in[1:cifarRecord]) || s.Labels[0] != tt.in[0]) {
				t.Error("first record differs")
			}
		})
	}
}

func TestCIFARBinDir(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cifar-10-batches-bin")
	for i, b := range cifarBatches["train"] {
		writeFile(t, filepath.Join(bin, b), cifarRecords(3, i))
	}
	writeFile(t, filepath.Join(bin, "test_batch.bin"), cifarRecords(4, 5))
	tests := []struct {
		spec   string
		opt    Options
		n      int
		labels []uint8
	}{
		{"cifar10", Options{Dir: dir}, 4, []uint8{5, 6, 7, 8}},
		{"cifar10", Options{Dir: dir, Split: "train"}, 15, []uint8{0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6}},
		{"cifar10", Options{Dir: dir, Split: "train", Limit: 4}, 4, []uint8{0, 1, 2, 1}},
		{"cifar10:" + bin, Options{Split: "train", Limit: 100}, 15, nil},
		{"cifar10:" + dir, Options{}, 4, nil},
		{"cifar10:" + filepath.Join(bin, "data_batch_2.bin"), Options{}, 3, []uint8{1, 2, 3}},
	}
	for _, tt := range tests {
		s, err := Open(tt.spec, tt.opt)
		if err != nil {
			t.Fatalf("%s %+v: %v", tt.spec, tt.opt, err)
		}
		if s.Len() != tt.n || (tt.labels != nil && !slices.Equal(s.Labels, tt.labels)) {
			t.Errorf("%s %+v: %d samples, labels %v; want %d, %v", tt.spec, tt.opt, s.Len(), s.Labels, tt.n, tt.labels)
		}
		if s.C != 3 || s.H != 32 || s.W != 32 || !slices.Equal(s.Classes, CIFAR10Classes) {
			t.Errorf("%s: %v", tt.spec, s)
		}
	}

	// A partial record is reported by file and offset before reading.
	writeFile(t, filepath.Join(bin, "data_batch_3.bin"), cifarRecords(3, 0)[:2*cifarRecord+7])
	_, err := Open("cifar10", Options{Dir: dir, Split: "train"})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 2*cifarRecord || !strings.HasSuffix(fe.File, "data_batch_3.bin") {
		t.Errorf("partial batch: error %v, want data_batch_3.bin at offset %d", err, 2*cifarRecord)
	}
}

func TestCIFARNotFound(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		spec string
		opt  Options
		want string
	}{
		{"cifar10", Options{Dir: dir}, "no CIFAR-10 data found"},
		{"cifar10", Options{Dir: ""}, "QUARTZ_DATA"},
		{"cifar10:" + dir, Options{}, "neither binary batches"},
		{"cifar10:" + filepath.Join(dir, "nope"), Options{}, "no such file"},
	} {
		t.Setenv("QUARTZ_DATA", "")
		_, err := Open(tt.spec, tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.spec, err, tt.want)
		}
	}
	writeFile(t, filepath.Join(dir, "data_batch_1.bin"), cifarRecords(1, 0))
	_, err := Open("cifar10:"+dir, Options{Split: "test"})
	if err == nil || !strings.Contains(err.Error(), "no test_batch.bin") {
		t.Errorf("missing test batch: %v", err)
	}
}
