package normalize

import "github.com/quartz-snn/quartz/graph"

// EstimateBinades is the number of binades (powers of two) that
// EstimateCalibration assumes a layer's positive activations to span
// (twice as many for a layer whose values take both signs), and
// EstimateChannelBinades the same per channel. Post-ReLU activations of
// trained and random networks span 25–45 binades per layer on the
// calibration sets measured (a float32 can span 277).
const (
	EstimateBinades        = 48
	EstimateChannelBinades = 40
)

// EstimateCalibration returns the bytes a Calibration of m holds, its
// histograms (see the package doc, "Percentiles"), assuming values that
// span EstimateBinades per layer and EstimateChannelBinades per channel:
// 2^11·8 B = 16 KiB per binade per layer, 2^5·8 B = 256 B per binade per
// channel. Layers whose values are all non-negative (those normalized
// through ReLU or a Clip other than Clip(0, a), whose values are taken
// before the clip) use one span; others two. A layer's histogram is
// at most 277·16 KiB ≈ 4.3 MiB per sign whatever its values. The count of
// calibration samples does not change it. The activations themselves are
// nn.EstimateInference's.
func EstimateCalibration(m *graph.Model) int64 {
	param, act := Targets(m)
	var b int64
	for t, p := range param {
		op := m.Nodes[p].Op
		if op == graph.AvgPool || op == graph.GlobalAvgPool {
			continue
		}
		a := m.Nodes[act[t]]
		spans := int64(2)
		// A Clip(0, a) layer's histogram holds the values before the
		// clip (Calibrate), which may be negative.
		if a.Op == graph.ReLU || a.Op == graph.Clip && a.Min >= 0 && !(a.Min == 0 && a.Max > 0 && act[t] != p) {
			spans = 1
		}
		ch, _ := channels(a.OutShape)
		b += histSize + spans*EstimateBinades<<layerBits*8
		b += int64(ch) * (histSize + spans*EstimateChannelBinades<<chanBits*8)
	}
	return b
}
