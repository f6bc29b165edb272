package onnx

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/graph"
)

// ReadFile reads an ONNX model file and converts it with ToGraph.
func ReadFile(path string) (*graph.Model, error) {
	g, _, err := Load(path)
	return g, err
}

// Load reads an ONNX model file and converts it with Convert, returning
// the conversion notes too.
func Load(path string) (*graph.Model, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err // *PathError names the file
	}
	m, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	g, notes, err := Convert(m)
	if err != nil {
		return nil, notes, fmt.Errorf("%s: %w", path, err)
	}
	return g, notes, nil
}

// WriteFile converts m with FromGraph and writes it to path atomically: the
// bytes go to a temporary file in the same directory, which is synced and
// then renamed over path. On error no file is left behind and an existing
// file at path is unchanged.
func WriteFile(path string, m *graph.Model) error {
	om, err := FromGraph(m)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b, err := Encode(om)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, b []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable; failure to sync a directory is not fatal on
	// systems that do not support it.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadTensor reads a serialized TensorProto file, such as the input_0.pb
// files of the ONNX backend node tests, and returns its dims and values as
// float32 (float16, bfloat16 and float64 are converted).
func ReadTensor(path string) ([]int64, []float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	t, err := DecodeTensor(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return t.Dims, v, nil
}
