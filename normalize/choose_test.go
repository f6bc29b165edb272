package normalize_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/normalize"
)

// TestChooseLayerPercentiles: for each layer, the candidate chosen from
// the histograms encodes the layer's raw activations (kept here in full)
// within 0.5 % of the best candidate's mean squared code error, computed
// exactly. The histogram takes each value at its bin's midpoint (relative
// width 2^-11), which can move a value across a rounding boundary; on
// thousands of values that shifts the mean by far less than 0.5 %, while
// the candidates here differ by 10 % or more wherever they differ at all.
// A short window must favour lower percentiles than a long one somewhere.
func TestChooseLayerPercentiles(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cands := []float64{90, 99, 99.9, 100}
	const n = 60
	shorter := 0
	for trial := 0; trial < 4; trial++ {
		m := randomNet(r)
		if err := m.InferShapes(); err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n*2*7*7)
		for i := range x {
			x[i] = r.Float32()
		}
		src := netSource(t, m, x, n)
		cal, err := normalize.Calibrate(m, src)
		if err != nil {
			t.Fatal(err)
		}
		_, act := normalize.Targets(m)
		raw := make(map[int][]float64)
		err = src(func(l int, out []float32) {
			for _, v := range out {
				raw[l] = append(raw[l], float64(v))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		scales := make([][]float64, len(cands)) // per candidate, per layer
		for k, p := range cands {
			_, rep, err := cal.Normalize(normalize.Config{Percentile: p})
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range rep.Layers {
				scales[k] = append(scales[k], st.Scale)
			}
		}
		var chosenAt [2][]float64
		for wi, T := range []int{2, 64} {
			got, err := cal.ChooseLayerPercentiles(cands, T)
			if err != nil {
				t.Fatal(err)
			}
			chosenAt[wi] = got
			for li, a := range act {
				errs := make([]float64, len(cands))
				best := math.Inf(1)
				for k := range cands {
					errs[k] = codeError(raw[a], scales[k][li], T)
					best = min(best, errs[k])
				}
				k := -1
				for i, p := range cands {
					if p == got[li] {
						k = i
					}
				}
				if k < 0 || errs[k] > best*1.005 {
					t.Errorf("trial %d T %d layer %d: chose %v (error %.6g), the candidates' exact errors are %v", trial, T, li, got[li], errs[max(k, 0)], errs)
				}
			}
		}
		for li := range chosenAt[0] {
			if chosenAt[0][li] < chosenAt[1][li] {
				shorter++
			}
		}
	}
	if shorter == 0 {
		t.Error("a 2-step window never chose a lower percentile than a 64-step one")
	}
	if _, err := (&normalize.Calibration{}).ChooseLayerPercentiles(nil, 4); err == nil {
		t.Error("no candidates: no error")
	}
}

// codeError is the exact mean of (|v| − P·min(1, round(|v|·T/P)/T))².
func codeError(vs []float64, P float64, T int) float64 {
	var s float64
	for _, v := range vs {
		v = math.Abs(v)
		q := P
		if v < P {
			q = min(P, P/float64(T)*math.Round(v*float64(T)/P))
		}
		s += (v - q) * (v - q)
	}
	return s / float64(len(vs))
}
