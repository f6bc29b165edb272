package snn

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
)

// cifarPre is torchvision's usual CIFAR-10 normalization.
var cifarPre = graph.Preprocess{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}

// paddedModel is the common PyTorch CIFAR stem on a small image: a padded
// 3×3 conv on c×h×w, ReLU, 2×2 max pool and a Linear to 4 outputs, with
// random weights (seeded), and the input transform p in front of it
// (graph.PrependPreprocess).
func paddedModel(t *testing.T, seed uint64, c, h, w int, p graph.Preprocess) (orig, pre *graph.Model) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	vec := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * s)
		}
		return v
	}
	const k = 5
	feat := k * (h / 2) * (w / 2)
	orig = &graph.Model{Name: "padded", InputShape: []int{c, h, w}, Nodes: []*graph.Node{
		{Name: "conv1", Op: graph.Conv, WShape: []int{k, c, 3, 3}, W: vec(k*c*9, 0.3), B: vec(k, 0.1),
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "pool1", Op: graph.MaxPool, Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{4, feat}, W: vec(4*feat, 0.2), B: vec(4, 0.1)},
	}}
	if err := orig.InferShapes(); err != nil {
		t.Fatal(err)
	}
	pre, err := graph.PrependPreprocess(orig, p)
	if err != nil {
		t.Fatal(err)
	}
	return orig, pre
}

// TestAnalogInputTransform checks the exactness property end to end on the
// converted layer: the analog layer's pre-ReLU output for pixels x equals
// package nn's output of the first conv of the model with its Affine input
// step, which computes on the same transformed input with zero padding in
// the transformed space. The two sum in different orders (GEMM vs axpy),
// so they agree to float32 rounding: |Δ| ≤ 1e-5·(1 + |y|) (sums of 27
// products of O(1) terms). The spikes both simulators derive from it must
// agree too (simulateAll).
func TestAnalogInputTransform(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c, h, w int
		p       graph.Preprocess
	}{
		{"cifar 3x8x6", 3, 8, 6, cifarPre},
		{"one channel, scale 255", 1, 6, 6, graph.Preprocess{Scale: 255, Mean: []float32{33.3}, Std: []float32{78.6}}},
		{"negative mean", 2, 4, 4, graph.Preprocess{Mean: []float32{-0.5, 0.25}, Std: []float32{0.5, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, pre := paddedModel(t, 7, tc.c, tc.h, tc.w, tc.p)
			n, err := Convert(pre, Config{Tmax: 8, AnalogFirst: true})
			if err != nil {
				t.Fatal(err)
			}
			a := n.Layers[0]
			if !a.Analog || !reflect.DeepEqual(a.InScale, pre.Nodes[0].Scale) || !reflect.DeepEqual(a.InShift, pre.Nodes[0].Shift) {
				t.Fatalf("analog layer %+v: want the Affine layer's scale %v and shift %v", a, pre.Nodes[0].Scale, pre.Nodes[0].Shift)
			}
			net, err := nn.New(pre, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			x := make([]float32, graph.Size(pre.InputShape))
			for it := 0; it < 5; it++ {
				for i := range x {
					x[i] = rng.Float32()
				}
				var ann []float32
				net.Activations(x, 1, func(layer int, out []float32) {
					if layer == 1 { // conv1, after the Affine layer
						ann = append([]float32(nil), out...)
					}
				})
				enc := newEncoder(n)
				enc.analog.forward(x, enc.buf, enc.y)
				for i, v := range enc.y {
					if d := math.Abs(float64(v - ann[i])); d > 1e-5*(1+math.Abs(float64(ann[i]))) {
						t.Fatalf("sample %d: analog y[%d] = %v, ANN conv1 = %v", it, i, v, ann[i])
					}
				}
				simulateAll(t, n, x)
			}
		})
	}
}

// TestAnalogInputTransformLinear: the transform before an analog Linear
// (through a Flatten) maps flattened index j to channel j/(H·W); checked
// against a float64 computation.
func TestAnalogInputTransformLinear(t *testing.T) {
	m := &graph.Model{InputShape: []int{2, 1, 2}, Nodes: []*graph.Node{
		{Name: "pre", Op: graph.Affine, Scale: []float32{2, -1}, Shift: []float32{-1, 0.5}},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, WShape: []int{2, 4}, W: []float32{1, 0.5, 0.25, -1, -1, 1, 2, 0}, B: []float32{0.125, 0}},
		{Name: "relu", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, WShape: []int{1, 2}, W: []float32{1, 1}},
	}}
	n, err := Convert(m, Config{Tmax: 8, AnalogFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0.5, 0.75, 0.25, 1}
	// x' = (0, 0.5, 0.25, −0.5); fc1: 0 + 0.25 + 0.0625 + 0.5 + 0.125 = 0.9375,
	// 0 + 0.5 + 0.5 + 0 = 1.
	enc := newEncoder(n)
	enc.analog.forward(x, enc.buf, enc.y)
	if want := []float32{0.9375, 1}; !reflect.DeepEqual(enc.y, want) {
		t.Errorf("analog fc1 = %v, want %v", enc.y, want)
	}
	// 0.9375·8 = 7.5 rounds (half up) to 8 and 1·8 = 8: both spike at step 0.
	if r := simulateAll(t, n, x); !reflect.DeepEqual(r.Input, []int32{0, 0}) || r.Clamped != 0 {
		t.Errorf("input spikes %v clamped %d, want [0 0] 0", r.Input, r.Clamped)
	}
}

// TestAffineConvertErrors: without AnalogFirst an input transform is
// refused with a hint; with it, only once and only before the first layer.
func TestAffineConvertErrors(t *testing.T) {
	_, pre := paddedModel(t, 1, 3, 4, 4, cifarPre)
	late := pre.Clone()
	late.Nodes = []*graph.Node{late.Nodes[1], late.Nodes[2],
		{Name: "mid", Op: graph.Affine, Scale: []float32{1, 1, 1, 1, 1}, Shift: []float32{0, 0, 0, 0, 0}}, late.Nodes[3], late.Nodes[4], late.Nodes[5]}
	twice := pre.Clone()
	twice.Nodes = append([]*graph.Node{{Name: "pre0", Op: graph.Affine, Scale: []float32{1, 1, 1}, Shift: []float32{0, 0, 0}}}, twice.Nodes...)
	for _, m := range []*graph.Model{late, twice} {
		for _, l := range m.Nodes {
			l.Inputs = nil // a chain again after the reordering
		}
	}
	for _, tc := range []struct {
		name  string
		m     *graph.Model
		cfg   Config
		layer int
		want  string
	}{
		{"no analog", pre, Config{Tmax: 4}, 0, `node 0 "preprocess" (Affine): an input transform (per-channel x·scale + shift, e.g. --input-mean/--input-std that could not be folded into a zero-padded first conv) makes the input negative, which spikes cannot carry: convert with an analog first layer (AnalogFirst, --analog-first)`},
		{"after the first layer", late, Config{Tmax: 4, AnalogFirst: true}, 2, `"mid" (Affine): an input transform is supported only once, before the first (analog) Conv or Linear layer`},
		{"twice", twice, Config{Tmax: 4, AnalogFirst: true}, 1, `"preprocess" (Affine): an input transform is supported only once`},
	} {
		_, err := Convert(tc.m, tc.cfg)
		var ce *ConvertError
		if !errors.As(err, &ce) || ce.Layer != tc.layer || ce.Op != graph.Affine || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a *ConvertError for layer %d containing %q", tc.name, err, tc.layer, tc.want)
		}
	}
}

// TestAffineValidate: the input transform survives JSON, and Validate
// refuses it where it does not belong.
func TestAffineValidate(t *testing.T) {
	_, pre := paddedModel(t, 2, 3, 4, 4, cifarPre)
	n, err := Convert(pre, Config{Tmax: 4, AnalogFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"in_scale":[`) || !strings.Contains(string(b), `"in_shift":[`) {
		t.Errorf("JSON lacks in_scale/in_shift: %.300s", b)
	}
	var back Network
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n, &back) {
		t.Error("network differs after a JSON round trip")
	}
	for _, tc := range []struct {
		name   string
		damage func(n *Network)
		want   string
	}{
		{"not analog", func(n *Network) {
			n.Layers[2].InScale, n.Layers[2].InShift = []float32{1, 1, 1, 1, 1}, make([]float32, 5)
		}, "allowed only in an analog first layer"},
		{"count", func(n *Network) { n.Layers[0].InScale = n.Layers[0].InScale[:2] }, "2 scales and 3 shifts, want one per input channel of [3 4 4]"},
		{"shift missing", func(n *Network) { n.Layers[0].InShift = nil }, "3 scales and 0 shifts"},
		{"NaN", func(n *Network) { n.Layers[0].InShift[1] = float32(math.NaN()) }, "in_shift[1] = NaN is not finite"},
		{"Inf", func(n *Network) { n.Layers[0].InScale[2] = float32(math.Inf(1)) }, "in_scale[2] = +Inf is not finite"},
	} {
		var d Network
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		tc.damage(&d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate() = %v, want an ErrInvalid containing %q", tc.name, err, tc.want)
		}
	}
}
