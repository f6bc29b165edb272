package onnx

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
)

// ReadFile reads an ONNX model file and converts it with ToGraph.
func ReadFile(path string) (*graph.Model, error) {
	g, _, err := Load(path)
	return g, err
}

// Load reads an ONNX model file and converts it with Convert, returning
// the conversion notes too. External tensor data is read from the file's
// folder.
func Load(path string) (*graph.Model, []string, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with options; opt.Dir defaults to the file's folder.
func LoadWith(path string, opt Options) (*graph.Model, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err // *PathError names the file
	}
	m, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if opt.Dir == "" {
		opt.Dir = filepath.Dir(path)
	}
	g, notes, err := ConvertWith(m, opt)
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
	return WriteFileWith(path, m, WriteOptions{})
}

// WriteFileWith is WriteFile with options, such as float16 weights.
func WriteFileWith(path string, m *graph.Model, opt WriteOptions) error {
	om, err := FromGraphWith(m, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b, err := Encode(om)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := atomicfile.Write(path, b); err != nil {
		return fmt.Errorf("onnx: %w", err)
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
