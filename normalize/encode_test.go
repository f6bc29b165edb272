package normalize_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartz-snn/quartz/normalize"
)

// TestCalibrationRoundTrip: a decoded calibration gives exactly the
// percentiles, channel statistics and normalized models of the original;
// any flipped byte, a truncation or another model is refused.
func TestCalibrationRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const n = 30
	m := randomNet(r)
	if err := m.InferShapes(); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*2*7*7)
	for i := range x {
		x[i] = r.Float32()
	}
	cal, err := normalize.Calibrate(m, netSource(t, m, x, n))
	if err != nil {
		t.Fatal(err)
	}
	data, err := cal.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := normalize.UnmarshalCalibration(m, data)
	if err != nil {
		t.Fatal(err)
	}
	for l := range cal.Layers() {
		if cal.Values(l) != got.Values(l) {
			t.Fatalf("layer %d: %d values, want %d", l, got.Values(l), cal.Values(l))
		}
		for _, p := range []float64{50, 99, 99.9, 100} {
			a, b := cal.Percentile(l, p), got.Percentile(l, p)
			if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("layer %d p %v: %v, want %v", l, p, b, a)
			}
			if !slices.EqualFunc(cal.ChannelPercentile(l, p), got.ChannelPercentile(l, p), func(a, b float64) bool {
				return a == b || math.IsNaN(a) && math.IsNaN(b)
			}) {
				t.Fatalf("layer %d p %v: channel percentiles differ", l, p)
			}
		}
		if !slices.Equal(cal.ChannelMax(l), got.ChannelMax(l)) {
			t.Fatalf("layer %d: channel maxima differ", l)
		}
	}
	if cal.Bytes() != got.Bytes() {
		t.Fatalf("Bytes %d, want %d", got.Bytes(), cal.Bytes())
	}
	for _, p := range []float64{99, 99.99} {
		m1, r1, err := cal.Normalize(normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		m2, r2, err := got.Normalize(normalize.Config{Percentile: p})
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, "decoded", m1, m2)
		sameReport(t, "decoded", r1, r2)
	}
	again, _ := got.MarshalBinary()
	if !slices.Equal(again, data) {
		t.Fatal("re-encoding differs")
	}
	// Corruption: bytes flipped one at a time all along, truncations.
	for i := 0; i < len(data); i += max(1, len(data)/300) {
		bad := slices.Clone(data)
		bad[i] ^= 0x10
		if _, err := normalize.UnmarshalCalibration(m, bad); !errors.Is(err, normalize.ErrCalibrationFormat) {
			t.Fatalf("byte %d flipped: err %v", i, err)
		}
	}
	for _, k := range []int{0, 5, len(data) / 2, len(data) - 1} {
		if _, err := normalize.UnmarshalCalibration(m, data[:k]); !errors.Is(err, normalize.ErrCalibrationFormat) {
			t.Fatalf("truncated to %d: err %v", k, err)
		}
	}
	// Another model with another layer count.
	other := randomNet(r)
	other.Nodes = other.Nodes[:len(other.Nodes)-2]
	if err := other.InferShapes(); err == nil {
		if _, err := normalize.UnmarshalCalibration(other, data); err == nil {
			t.Fatal("another model accepted")
		}
	}
	t.Logf("%d layers: %d bytes encoded, %d held", cal.Layers(), len(data), cal.Bytes())
}
