package onnx_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

// realWorldDir is the corpus of classifiers exported by other people's
// tools, with onnxruntime 1.30 reference outputs (see its README).
const realWorldDir = "../../shared/data/onnx-realworld"

type manifestRow struct {
	name, data, layout string
	scale              float32
	mean, std          []float32
}

func readManifest(t *testing.T) []manifestRow {
	f, err := os.Open(filepath.Join(realWorldDir, "manifest.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s is absent (the shared data folder): skipping the real-world corpus", realWorldDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	floats := func(s string) []float32 {
		if s == "-" {
			return nil
		}
		var v []float32
		for _, p := range strings.Split(s, ",") {
			x, err := strconv.ParseFloat(p, 32)
			if err != nil {
				t.Fatalf("manifest: %q: %v", s, err)
			}
			v = append(v, float32(x))
		}
		return v
	}
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) < 6 {
			t.Fatalf("manifest line %q: want 6+ columns", line)
		}
		scale, err := strconv.ParseFloat(c[3], 32)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, manifestRow{name: c[0], data: c[1], layout: c[2], scale: float32(scale), mean: floats(c[4]), std: floats(c[5])})
	}
	return rows
}

type ortOutputs struct {
	Labels []int       `json:"labels"`
	Logits [][]float64 `json:"logits"`
}

// realWorldImages returns the first n test images of a data set as the
// reference outputs were made (x/255 as decoded by package dataset), or
// skips.
func realWorldImages(t *testing.T, data string, n int) ([]float32, []int, int) {
	var spec string
	switch data {
	case "mnist":
		spec = "mnist"
	case "cifar10":
		spec = "cifar10:../../shared/data/cifar10-jpeg/cifar10-jpeg-q75.tar.gz"
	default:
		return nil, nil, 0
	}
	s, err := dataset.Open(spec, dataset.Options{Split: "test", Limit: n})
	if err != nil {
		t.Logf("%s: %v", data, err)
		return nil, nil, 0
	}
	n = min(n, s.Len())
	size := s.SampleSize()
	x := make([]float32, n*size)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		s.Image(i, x[i*size:(i+1)*size])
		labels[i] = int(s.Labels[i])
	}
	return x, labels, size
}

// TestRealWorldModels imports every model of the corpus and compares its
// ANN outputs on the first 500 test images with onnxruntime's: within
// 1e-4·max|logit| + 1e-5 (float32 sums in a different order: a few ulps of
// the largest logit), with the same argmax on every sample. A model that
// does not import must fail with one line naming node, op and reason.
func TestRealWorldModels(t *testing.T) {
	rows := readManifest(t)
	imported, ran := 0, 0
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			ran++
			path := filepath.Join(realWorldDir, r.name, "model.onnx")
			m, notes, err := onnx.Load(path)
			if err != nil {
				if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "node ") {
					t.Errorf("import error is not one line naming the node: %v", err)
				}
				t.Logf("does not import: %v", err)
				return
			}
			imported++
			for _, n := range notes {
				t.Logf("note: %s", n)
			}
			b, err := os.ReadFile(filepath.Join(realWorldDir, r.name, "ort-outputs.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ref ortOutputs
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			x, labels, size := realWorldImages(t, r.data, len(ref.Logits))
			if x == nil {
				t.Skipf("data set %s is not available here", r.data)
			}
			pp := graph.Preprocess{Scale: r.scale, Mean: r.mean, Std: r.std}
			if !pp.IsIdentity() {
				if m, err = graph.PrependPreprocess(m, pp); err != nil {
					t.Fatal(err)
				}
			}
			if r.layout == "pad32" {
				x, size = padImages(x, size, 28, 32)
			}
			if graph.Size(m.InputShape) != size {
				t.Fatalf("model input %v, images have %d values", m.InputShape, size)
			}
			net, err := nn.New(m, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			n := len(ref.Logits)
			out := net.Predict(x, n)
			k := net.OutSize()
			worst, agree, correct := 0.0, 0, 0
			for i := 0; i < n; i++ {
				y := applyOutput(m.OutputActivation, out[i*k:(i+1)*k])
				want := ref.Logits[i]
				if len(want) != k {
					t.Fatalf("sample %d: %d outputs, reference has %d", i, k, len(want))
				}
				maxAbs := 0.0
				for _, v := range want {
					maxAbs = math.Max(maxAbs, math.Abs(v))
				}
				tol := 1e-4*maxAbs + 1e-5
				for j, v := range want {
					d := math.Abs(y[j] - v)
					worst = math.Max(worst, d/tol)
					if d > tol && worst == d/tol {
						t.Errorf("sample %d output %d: %v, onnxruntime %v (tolerance %.3g)", i, j, y[j], v, tol)
					}
				}
				if argmax(y) == argmax(want) {
					agree++
				}
				if argmax(y) == labels[i] {
					correct++
				}
			}
			if agree != n {
				t.Errorf("argmax agrees with onnxruntime on %d of %d samples", agree, n)
			}
			t.Logf("%d samples: worst |Δ| = %.3g of the tolerance; accuracy %.1f %%", n, worst, 100*float64(correct)/float64(n))
		})
	}
	if ran == len(rows) && imported < 18 {
		t.Errorf("%d of %d models import; want at least 18", imported, len(rows))
	}
}

func applyOutput(act string, v []float32) []float64 {
	y := make([]float64, len(v))
	for i, x := range v {
		y[i] = float64(x)
	}
	if act == "" {
		return y
	}
	mx := math.Inf(-1)
	for _, x := range y {
		mx = math.Max(mx, x)
	}
	s := 0.0
	for _, x := range y {
		s += math.Exp(x - mx)
	}
	for i, x := range y {
		if act == "LogSoftmax" {
			y[i] = x - mx - math.Log(s)
		} else {
			y[i] = math.Exp(x-mx) / s
		}
	}
	return y
}

func argmax(v []float64) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

// padImages zero-pads square one-channel images from `from` to `to`
// pixels a side, centred (MNIST to 32×32 as LeNet-5's original input).
func padImages(x []float32, size, from, to int) ([]float32, int) {
	n := len(x) / size
	off := (to - from) / 2
	out := make([]float32, n*to*to)
	for i := 0; i < n; i++ {
		for y := 0; y < from; y++ {
			copy(out[i*to*to+(y+off)*to+off:], x[i*size+y*from:i*size+(y+1)*from])
		}
	}
	return out, to * to
}
