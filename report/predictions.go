package report

import (
	"bufio"
	"io"
	"math"
	"strconv"

	"github.com/quartz-snn/quartz/pipeline"
)

// Predictions writes one row per sample of res.PerSample (quartz eval
// --predictions): as CSV with a header, or as JSON Lines when jsonl is set.
// The columns are index, label, ann_class, snn_class (−1: no output spike),
// tie, first_spike_step (−1: none) and, with outputs, ann_out_J and snn_out_J
// per output neuron J (the ANN's outputs and the SNN's decoded outputs; see
// pipeline.SamplePrediction). Without the ANN, ann_class and ann_out are
// empty (null in JSON); an output neuron that did not fire is empty (null).
// JSON Lines rows hold the outputs as arrays "ann_out" and "snn_out".
func Predictions(w io.Writer, res *pipeline.Result, outputs, jsonl bool) error {
	ew := &errWriter{w: w}
	bw := bufio.NewWriter(ew)
	hasANN := res.ANNAccuracy != nil
	nOut := 0
	for _, p := range res.PerSample {
		nOut = max(nOut, len(p.ANNOut), len(p.SNNOut))
	}
	var b []byte
	if !jsonl {
		b = append(b, "index,label,ann_class,snn_class,tie,first_spike_step"...)
		if outputs {
			for _, pre := range []string{",ann_out_", ",snn_out_"} {
				for j := 0; j < nOut; j++ {
					b = append(b, pre...)
					b = strconv.AppendInt(b, int64(j), 10)
				}
			}
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	for _, p := range res.PerSample {
		b = b[:0]
		if jsonl {
			b = jsonRow(b, p, hasANN, outputs)
		} else {
			b = csvRow(b, p, hasANN, outputs, nOut)
		}
		bw.Write(b)
	}
	bw.Flush()
	return ew.err
}

func csvRow(b []byte, p pipeline.SamplePrediction, hasANN, outputs bool, nOut int) []byte {
	b = strconv.AppendInt(b, int64(p.Index), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(p.Label), 10)
	b = append(b, ',')
	if hasANN {
		b = strconv.AppendInt(b, int64(p.ANN), 10)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(p.SNN), 10)
	b = append(b, ',')
	b = strconv.AppendBool(b, p.Tie)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(p.FirstSpike), 10)
	if outputs {
		for j := 0; j < nOut; j++ {
			b = append(b, ',')
			if j < len(p.ANNOut) {
				b = appendFloat(b, float64(p.ANNOut[j]), 32)
			}
		}
		for j := 0; j < nOut; j++ {
			b = append(b, ',')
			if j < len(p.SNNOut) {
				b = appendFloat(b, p.SNNOut[j], 64)
			}
		}
	}
	return append(b, '\n')
}

func jsonRow(b []byte, p pipeline.SamplePrediction, hasANN, outputs bool) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(p.Index), 10)
	b = append(b, `,"label":`...)
	b = strconv.AppendInt(b, int64(p.Label), 10)
	b = append(b, `,"ann_class":`...)
	if hasANN {
		b = strconv.AppendInt(b, int64(p.ANN), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"snn_class":`...)
	b = strconv.AppendInt(b, int64(p.SNN), 10)
	b = append(b, `,"tie":`...)
	b = strconv.AppendBool(b, p.Tie)
	b = append(b, `,"first_spike_step":`...)
	b = strconv.AppendInt(b, int64(p.FirstSpike), 10)
	if outputs {
		b = append(b, `,"ann_out":`...)
		if p.ANNOut == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, v := range p.ANNOut {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONFloat(b, float64(v), 32)
			}
			b = append(b, ']')
		}
		b = append(b, `,"snn_out":`...)
		if p.SNNOut == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, v := range p.SNNOut {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONFloat(b, v, 64)
			}
			b = append(b, ']')
		}
	}
	return append(b, "}\n"...)
}

// appendFloat appends v in the shortest form that reads back exactly,
// nothing for NaN.
func appendFloat(b []byte, v float64, bits int) []byte {
	if math.IsNaN(v) {
		return b
	}
	return strconv.AppendFloat(b, v, 'g', -1, bits)
}

// appendJSONFloat is appendFloat with null for NaN and ±Inf.
func appendJSONFloat(b []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, bits)
}
