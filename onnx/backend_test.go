package onnx

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

const backendTar = "../../shared/data/onnx-backend-test-data/onnx-backend-test-data-v1.22.0.tar.gz"

// TestBackendData decodes every model and tensor file of the ONNX backend
// test data and checks test_relu's expected output against its input.
func TestBackendData(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	f, err := os.Open(backendTar)
	if err != nil {
		t.Skipf("ONNX backend test data not available: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var models, tensors, floatTensors int
	var reluIn, reluOut []float32
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := h.Name
		if !strings.HasSuffix(name, ".onnx") && !strings.HasSuffix(name, ".pb") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".onnx") {
			models++
			if _, err := Decode(b); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		// Sequence, map and optional test data are other messages.
		if !strings.Contains(name, "/test_data_set_") || strings.Contains(name, "seq") || strings.Contains(name, "optional") {
			continue
		}
		tensors++
		tn, err := DecodeTensor(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		switch tn.DataType {
		case Float, Double, Float16, BFloat16:
			v, err := tn.Float32s()
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			floatTensors++
			if strings.Contains(name, "/node/test_relu/test_data_set_0/input_0.pb") {
				reluIn = v
			}
			if strings.Contains(name, "/node/test_relu/test_data_set_0/output_0.pb") {
				reluOut = v
			}
		}
	}
	t.Logf("decoded %d models and %d tensor files (%d floating-point)", models, tensors, floatTensors)
	if models < 1000 || floatTensors < 1000 {
		t.Errorf("only %d models and %d float tensors", models, floatTensors)
	}
	if len(reluIn) == 0 || len(reluIn) != len(reluOut) {
		t.Fatalf("test_relu: %d inputs, %d outputs", len(reluIn), len(reluOut))
	}
	for i, x := range reluIn {
		if want := max(x, 0); reluOut[i] != want {
			t.Fatalf("test_relu[%d]: relu(%v) = %v in the file", i, x, reluOut[i])
		}
	}
}
