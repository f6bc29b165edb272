package onnx_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

// fixtureTol bounds |got − want| ≤ fixtureAbs + fixtureRel·|want| between
// the nn engine and PyTorch's CPU outputs on the fixtures. Both compute in
// float32 with different summation orders (im2col + blocked GEMM vs
// PyTorch's kernels); the longest dot product in the fixtures has 392
// terms of magnitude ≲ 1, so rounding differences stay near 1e-6.
const (
	fixtureAbs = 1e-5
	fixtureRel = 1e-4
)

// TestFixtures imports every model under testdata/onnx (exported from
// PyTorch by tools/export_fixtures.py at opsets 9, 13 and 17), runs it with
// the nn engine on the stored input and compares with PyTorch's output.
func TestFixtures(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/onnx/*/input_0.pb")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no fixtures under ../testdata/onnx")
	}
	overall := 0.0
	for _, in := range dirs {
		dir := filepath.Dir(in)
		name := filepath.Base(dir)
		xDims, x, err := onnx.ReadTensor(in)
		if err != nil {
			t.Fatal(err)
		}
		yDims, want, err := onnx.ReadTensor(filepath.Join(dir, "output_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		models, _ := filepath.Glob(filepath.Join(dir, "opset*.onnx"))
		if len(models) != 3 {
			t.Errorf("%s: %d models, want opset 9, 13 and 17", name, len(models))
		}
		for _, path := range models {
			opset := strings.TrimSuffix(filepath.Base(path), ".onnx")
			t.Run(name+"/"+opset, func(t *testing.T) {
				g, notes, err := onnx.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range notes {
					t.Logf("note: %s", n)
				}
				n := int(xDims[0])
				in := x
				if name == "keras_nhwc" {
					// The importer absorbs the leading NHWC→NCHW
					// Transpose: the model is fed NCHW.
					in = nhwcToNCHW(x, xDims)
				}
				net, err := nn.New(g, 1)
				if err != nil {
					t.Fatal(err)
				}
				defer net.Close()
				got := net.Predict(in, n)
				if int64(len(got)) != yDims[0]*yDims[1] || net.OutSize() != 10 {
					t.Fatalf("output %d values (%d per sample), want dims %v", len(got), net.OutSize(), yDims)
				}
				switch g.OutputActivation {
				case "LogSoftmax":
					logSoftmax(got, n)
				case "":
				default:
					t.Fatalf("output activation %q", g.OutputActivation)
				}
				d, err := compare(got, want, fixtureAbs, fixtureRel)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("max abs diff vs PyTorch %.3g", d)
				overall = math.Max(overall, d)
			})
		}
	}
	t.Logf("all fixtures: max abs diff vs PyTorch %.3g", overall)
}

func nhwcToNCHW(x []float32, dims []int64) []float32 {
	n, h, w, c := int(dims[0]), int(dims[1]), int(dims[2]), int(dims[3])
	out := make([]float32, len(x))
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for ch := 0; ch < c; ch++ {
					out[((i*c+ch)*h+y)*w+xx] = x[((i*h+y)*w+xx)*c+ch]
				}
			}
		}
	}
	return out
}

// softmax and logSoftmax apply the dropped final node in place, per sample,
// in float64.
func softmax(v []float32, n int, log bool) {
	k := len(v) / n
	for i := 0; i < n; i++ {
		row := v[i*k : (i+1)*k]
		m := float64(slices.Max(row))
		s := 0.0
		for _, x := range row {
			s += math.Exp(float64(x) - m)
		}
		for j, x := range row {
			if log {
				row[j] = float32(float64(x) - m - math.Log(s))
			} else {
				row[j] = float32(math.Exp(float64(x)-m) / s)
			}
		}
	}
}

func logSoftmax(v []float32, n int) { softmax(v, n, true) }

// compare returns the largest |got−want| and an error naming the first
// element outside abs + rel·|want|.
func compare(got, want []float32, abs, rel float64) (float64, error) {
	if len(got) != len(want) {
		return 0, fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	worst := 0.0
	var bad error
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) || math.IsInf(w, 0) && g != w {
			d = math.Inf(1)
		}
		if math.IsNaN(w) && math.IsNaN(g) {
			d = 0
		}
		worst = math.Max(worst, d)
		if bad == nil && d != 0 && !(d <= abs+rel*math.Abs(w)) { // d = 0: NaN where NaN is expected
			bad = fmt.Errorf("element %d: got %v, want %v (|diff| %.3g > %.0e + %.0e·|want|)", i, got[i], want[i], d, abs, rel)
		}
	}
	return worst, bad
}
