package atomicfile

import (
	"fmt"
	"io"
	"os"
)

// MaxModelSize bounds the model files the commands read (ONNX, SNN JSON,
// NIR): 2 GiB, the largest a protobuf message can be.
const MaxModelSize = 2 << 30

// CheckInput reports whether name can be read as an input of at most max
// bytes: it must be a regular file (a symbolic link is followed) no larger
// than max. A device such as /dev/zero, a FIFO or a folder is refused
// before anything is read.
func CheckInput(name string, max int64) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err // *PathError names the file
	}
	return checkInfo(name, fi, max)
}

func checkInfo(name string, fi os.FileInfo, max int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, not a regular file", name, kind(fi.Mode()))
	}
	if fi.Size() > max {
		return fmt.Errorf("%s: %d bytes, over the limit of %d", name, fi.Size(), max)
	}
	return nil
}

// ReadFile reads name like os.ReadFile, refusing a file that is not
// regular or holds more than max bytes (checked on the open file, and
// again while reading, in case it grows).
func ReadFile(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(name, fi, max); err != nil {
		return nil, err
	}
	b := make([]byte, 0, fi.Size()+1)
	b, err = readAll(f, b, max)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

func readAll(r io.Reader, b []byte, max int64) ([]byte, error) {
	lr := io.LimitReader(r, max+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > max {
			return nil, fmt.Errorf("over the limit of %d bytes", max)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
