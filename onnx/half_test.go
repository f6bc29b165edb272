package onnx

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// Every finite float16 survives float16 → float32 → float16 unchanged, and
// every NaN stays a NaN.
func TestFloat32ToHalfRoundTripsEveryHalf(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := halfToFloat32(h)
		got := float32ToHalf(f)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x → %#04x: not a NaN", h, got)
			}
			continue
		}
		if got != h {
			t.Fatalf("%#04x (%g) → %#04x", h, f, got)
		}
	}
}

// positiveHalves returns every finite float16 ≥ 0 in increasing order
// with its value (bit order is value order for non-negative halves).
func positiveHalves() ([]uint16, []float64) {
	var hs []uint16
	var vs []float64
	for h := uint16(0); h < 0x7c00; h++ {
		hs = append(hs, h)
		vs = append(vs, float64(halfToFloat32(h)))
	}
	return hs, vs
}

// Midpoints between neighbouring halves round to the even one; the
// float32 just below or above a midpoint rounds down or up. This covers
// every rounding boundary: subnormal, normal, the carry into the next
// binade, and 65520 (the midpoint above 65504) rounding to Inf.
func TestFloat32ToHalfRoundsTiesToEven(t *testing.T) {
	hs, vs := positiveHalves()
	vs = append(vs, 65536) // the "next" value past 65504 is Inf
	hs = append(hs, 0x7c00)
	for i := 0; i+1 < len(hs); i++ {
		mid := (vs[i] + vs[i+1]) / 2
		m := float32(mid)
		if float64(m) != mid {
			t.Fatalf("midpoint %g of %#04x and %#04x not exact in float32", mid, hs[i], hs[i+1])
		}
		even := hs[i]
		if hs[i]&1 == 1 {
			even = hs[i+1]
		}
		for _, c := range []struct {
			f    float32
			want uint16
		}{
			{m, even},
			{math.Nextafter32(m, 0), hs[i]},
			{math.Nextafter32(m, float32(math.Inf(1))), hs[i+1]},
		} {
			if got := float32ToHalf(c.f); got != c.want {
				t.Fatalf("float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
			}
			if got := float32ToHalf(-c.f); got != c.want|0x8000 {
				t.Fatalf("float32ToHalf(%g) = %#04x, want %#04x", -c.f, got, c.want|0x8000)
			}
		}
	}
}

// Random float32 values across the float16 range and beyond agree with a
// brute-force nearest-value search (ties to even).
func TestFloat32ToHalfMatchesNearestSearch(t *testing.T) {
	hs, vs := positiveHalves()
	vs = append(vs, 65536) // the value past 65504: Inf
	hs = append(hs, 0x7c00)
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200000; n++ {
		// Exponents 2^-30 … 2^17: below the subnormals to past the top.
		f := float32(math.Ldexp(1+r.Float64(), r.IntN(48)-30))
		want := uint16(0x7c00)
		if float64(f) < 65536 {
			j := sort.SearchFloat64s(vs, float64(f)) // first vs[j] ≥ f
			want = hs[j]
			if vs[j] != float64(f) && j > 0 {
				lo, hi := float64(f)-vs[j-1], vs[j]-float64(f)
				if lo < hi || lo == hi && hs[j-1]&1 == 0 {
					want = hs[j-1]
				}
			}
		}
		if got := float32ToHalf(f); got != want {
			t.Fatalf("float32ToHalf(%g) = %#04x, want %#04x", f, got, want)
		}
	}
}

func TestFloat32ToHalfSpecials(t *testing.T) {
	tiny := float32(math.Ldexp(1, -25)) // half the smallest subnormal
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{0, 0},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65519.996, 0x7bff},
		{65520, 0x7c00},
		{1e30, 0x7c00},
		{-1e30, 0xfc00},
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{tiny, 0},                                   // tie: to even (zero)
		{math.Nextafter32(tiny, 1), 1},              // just above: smallest subnormal
		{-math.Nextafter32(tiny, 1), 0x8001},        // sign kept
		{math.SmallestNonzeroFloat32, 0},            // float32 subnormal
		{float32(math.Ldexp(1, -14)), 0x0400},       // smallest normal
		{float32(math.Ldexp(1023, -24)), 0x03ff},    // largest subnormal
		{float32(math.Ldexp(2047, -25)), 0x0400},    // tie at the subnormal top: carry to normal
		{float32(math.Ldexp(1, -24) * 1.5), 0x0002}, // tie between 1 and 2 units: even
		{float32(math.Ldexp(1, -24) * 2.5), 0x0002}, // tie between 2 and 3 units: even
		{float32(1 + math.Ldexp(1, -11)), 0x3c00},   // tie above 1: even
		{float32(1 + 3*math.Ldexp(1, -11)), 0x3c02}, // tie: up to even
		{float32(math.NaN()), 0x7e00},
	} {
		got := float32ToHalf(c.f)
		if got != c.want {
			t.Errorf("float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestHalfTensor(t *testing.T) {
	in := []float32{0, 1, -0.1, 65504, 1e-8, 3.14159}
	tn, err := HalfTensor("w", []int64{2, 3}, in)
	if err != nil {
		t.Fatal(err)
	}
	if tn.DataType != Float16 || len(tn.RawData) != 12 {
		t.Fatalf("data type %v, %d raw bytes: want float16, 12", tn.DataType, len(tn.RawData))
	}
	got, err := tn.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range in {
		// The float16 grid has 11 significant bits: the relative error of
		// a rounded normal value is at most 2^-11; 1e-8 is below the
		// subnormal grid's half step (2^-25 ≈ 3e-8) and becomes 0.
		want := float64(x)
		if x == 1e-8 {
			want = 0
		}
		if math.Abs(float64(got[i])-want) > math.Abs(want)*math.Ldexp(1, -11) {
			t.Errorf("value %d: %g read back as %g", i, x, got[i])
		}
	}
	for _, bad := range []float32{65520, -1e6, float32(math.NaN()), float32(math.Inf(1))} {
		_, err := HalfTensor("conv1.weight", []int64{2}, []float32{1, bad})
		if err == nil || !strings.Contains(err.Error(), `"conv1.weight"`) || !strings.Contains(err.Error(), "index 1") {
			t.Errorf("HalfTensor with %g: error %v, want one naming the tensor and index 1", bad, err)
		}
	}
}

// A float16 write reads back as the same graph when the weights are
// float16 values (testNet's are small multiples of 1/8), and as the
// weights rounded to float16 otherwise; biases and BatchNorm stay float32.
func TestFromGraphFloat16(t *testing.T) {
	want := testNet()
	if err := want.InferShapes(); err != nil {
		t.Fatal(err)
	}
	read := func(m *graph.Model) (*graph.Model, *Model) {
		t.Helper()
		om, err := FromGraphWith(m, WriteOptions{Float16: true})
		if err != nil {
			t.Fatal(err)
		}
		got, notes := encodeConvert(t, om)
		if want := "4 weight tensors are stored as float16"; len(notes) != 1 || !strings.HasPrefix(notes[0], want) {
			t.Errorf("notes %q, want one starting %q", notes, want)
		}
		got.Producer, got.Opset = "", 0
		return got, om
	}
	got, om := read(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("float16 round trip of float16-exact weights differs:\n got %+v\nwant %+v", got, want)
	}
	types := map[string]DataType{}
	for _, in := range om.Graph.Initializer {
		types[in.Name] = in.DataType
	}
	for name, dt := range map[string]DataType{
		"conv1.weight_fp16": Float16, "dw.weight_fp16": Float16, "fc.weight_fp16": Float16, "fc2.weight_fp16": Float16,
		"conv1.bias": Float, "fc.bias": Float, "bn1.running_var": Float,
	} {
		if types[name] != dt {
			t.Errorf("initializer %q: type %v, want %v", name, types[name], dt)
		}
	}
	casts := 0
	for _, n := range om.Graph.Node {
		if n.OpType == "Cast" {
			casts++
		}
	}
	if casts != 4 {
		t.Errorf("%d Cast nodes, want 4 (one per weight)", casts)
	}

	// Weights off the float16 grid come back rounded to it.
	m := testNet()
	for i := range m.Nodes[0].W {
		m.Nodes[0].W[i] = 0.1 * float32(i+1)
	}
	got, om = read(m)
	for i, w := range m.Nodes[0].W {
		if r := halfToFloat32(float32ToHalf(w)); got.Nodes[0].W[i] != r {
			t.Fatalf("conv1 weight %d: %g read back as %g, want %g", i, w, got.Nodes[0].W[i], r)
		}
	}
	// Two bytes per weight.
	half := 0
	for _, in := range om.Graph.Initializer {
		if in.DataType == Float16 {
			half += len(in.RawData)
		}
	}
	if nw := 4*3*3*3 + 4*1*3*3 + 5*4 + 2*5; half != 2*nw {
		t.Errorf("float16 initializers hold %d bytes, want %d (2 per weight)", half, 2*nw)
	}

	m.Nodes[11].W[3] = 1e5
	_, err := FromGraphWith(m, WriteOptions{Float16: true})
	if err == nil || !strings.Contains(err.Error(), `"fc"`) || !strings.Contains(err.Error(), "float16") {
		t.Errorf("weight 1e5 in fc: error %v, want one naming layer fc and float16", err)
	}
}

// Cast folding in the reader takes float16, bfloat16 and int64 constants
// to float32; a cast to int64 folds too, and the Conv then refuses the
// integer weight.
func TestCastConstant(t *testing.T) {
	for _, c := range []struct {
		name string
		to   DataType
		w    *Tensor
		err  string
	}{
		{"float16", Float, &Tensor{DataType: Float16, Dims: []int64{1, 1, 1, 1}, RawData: []byte{0x00, 0x3c}}, ""},
		{"bfloat16", Float, &Tensor{DataType: BFloat16, Dims: []int64{1, 1, 1, 1}, Int32Data: []int32{0x3f80}}, ""},
		{"to int64", Int64, &Tensor{DataType: Float16, Dims: []int64{1, 1, 1, 1}, RawData: []byte{0x00, 0x3c}}, "an integer tensor"},
		{"int source", Float, &Tensor{DataType: Int64, Dims: []int64{1, 1, 1, 1}, Int64Data: []int64{1}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.w.Name = "w16"
			g := &Graph{
				Name:        "g",
				Input:       []*ValueInfo{valueInfo("x", []int{1, 2, 2})},
				Output:      []*ValueInfo{valueInfo("y", []int{1, 2, 2})},
				Initializer: []*Tensor{c.w},
				Node: []*Node{
					{Name: "cast", OpType: "Cast", Input: []string{"w16"}, Output: []string{"w"}, Attribute: []*Attribute{intAttr("to", int64(c.to))}},
					{Name: "conv", OpType: "Conv", Input: []string{"x", "w"}, Output: []string{"y"}},
				},
			}
			m, _, err := Convert(&Model{IRVersion: 7, OpsetImport: []OpsetID{{Version: 13}}, Graph: g})
			if c.err != "" {
				// The Cast folds; the Conv refuses its integer weight.
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), `"conv"`) {
					t.Fatalf("error %v, want one naming node conv and saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Nodes) != 1 || !reflect.DeepEqual(m.Nodes[0].W, []float32{1}) {
				t.Fatalf("layers %+v: want one conv with weight 1", m.Nodes)
			}
		})
	}
}
