package dataset

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CIFAR10Classes are the CIFAR-10 class names; index = label.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const (
	cifarSide   = 32
	cifarPix    = 3 * cifarSide * cifarSide // R, G, B planes of 32×32
	cifarRecord = 1 + cifarPix
)

// CIFAR-10 binary batch file names per split, in reading order.
var cifarBatches = map[string][]string{
	"train": {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	"test":  {"test_batch.bin"},
}

// ReadCIFARBin parses one CIFAR-10 binary batch from r: records of one label
// byte (< 10) followed by 3072 pixel bytes (the R, G and B planes of a 32×32
// image, row-major). A partial record at the end is an error naming its
// offset. name is used in error messages and as the Set's Name.
func ReadCIFARBin(r io.Reader, name string) (*Set, error) {
	s := &Set{Name: name, C: 3, H: cifarSide, W: cifarSide, Classes: CIFAR10Classes}
	if err := readCIFAR(r, name, s, -1); err != nil {
		return nil, err
	}
	return s, nil
}

// readCIFAR appends records from r to s, at most limit when limit >= 0.
// It returns early, without reading the rest, once limit records are in s.
func readCIFAR(r io.Reader, name string, s *Set, limit int) error {
	var rec [cifarRecord]byte
	for off := int64(0); limit < 0 || s.Len() < limit; off += cifarRecord {
		n, err := io.ReadFull(r, rec[:])
		if n == 0 && err == io.EOF {
			return nil
		}
		if err == io.ErrUnexpectedEOF {
			return formatErr(name, off, "partial record: %d of %d bytes (file size must be a multiple of %d)", n, cifarRecord, cifarRecord)
		}
		if err != nil {
			return &FormatError{File: name, Offset: off + int64(n), Err: err}
		}
		if rec[0] >= byte(len(CIFAR10Classes)) {
			return formatErr(name, off, "label %d out of range [0,%d)", rec[0], len(CIFAR10Classes))
		}
		if int64(len(s.Pix))+cifarPix > maxBytes {
			return formatErr(name, off, "data exceeds %d bytes", maxBytes)
		}
		s.Labels = append(s.Labels, rec[0])
		s.Pix = append(s.Pix, rec[1:]...)
	}
	return nil
}

// hasCIFARBin reports whether dir holds the batch files of split.
func hasCIFARBin(dir, split string) bool {
	fi, err := os.Stat(filepath.Join(dir, cifarBatches[split][0]))
	return err == nil && fi.Mode().IsRegular()
}

// hasAnyCIFARBin reports whether dir holds batch files of either split.
func hasAnyCIFARBin(dir string) bool {
	return hasCIFARBin(dir, "train") || hasCIFARBin(dir, "test")
}

// cifarBinFiles loads the given batch files in order into one Set. File
// sizes are checked first, so a partial record is reported before anything
// is read and the pixels are allocated once.
func cifarBinFiles(name string, paths []string, limit int) (*Set, error) {
	total := int64(0)
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("dataset: %s: not a regular file (%v)", p, fi.Mode().Type())
		}
		if fi.Size() == 0 {
			return nil, fmt.Errorf("dataset: %s: empty file (0 records of %d bytes)", p, cifarRecord)
		}
		if rem := fi.Size() % cifarRecord; rem != 0 {
			return nil, formatErr(p, fi.Size()-rem, "partial record: %d of %d bytes (file size %d is not a multiple of %d)", rem, cifarRecord, fi.Size(), cifarRecord)
		}
		total += fi.Size() / cifarRecord
	}
	if limit > 0 {
		total = min(total, int64(limit))
	}
	if _, ok := checkedSize(total, cifarPix); !ok {
		return nil, fmt.Errorf("dataset: %s: %d records exceed %d bytes", name, total, maxBytes)
	}
	s := &Set{Name: name, C: 3, H: cifarSide, W: cifarSide, Classes: CIFAR10Classes,
		Pix: make([]uint8, 0, total*cifarPix), Labels: make([]uint8, 0, total)}
	for _, p := range paths {
		if int64(s.Len()) >= total {
			break
		}
		if err := readCIFARFile(p, s, int(total)); err != nil {
			return nil, err
		}
		s.files = append(s.files, p)
	}
	return s, s.check()
}

func readCIFARFile(path string, s *Set, limit int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return readCIFAR(bufio.NewReaderSize(f, 1<<16), path, s, limit)
}

// cifarBinDir loads split from a folder of CIFAR-10 binary batches.
func cifarBinDir(dir, split string, limit int) (*Set, error) {
	var paths []string
	for _, b := range cifarBatches[split] {
		paths = append(paths, filepath.Join(dir, b))
	}
	return cifarBinFiles("cifar10/"+split, paths, limit)
}
