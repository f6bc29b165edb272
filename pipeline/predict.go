package pipeline

import (
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/train"
)

// labels32 returns the set's labels as int32, the type of predictions.
func labels32(s *dataset.Set) []int32 {
	out := make([]int32, len(s.Labels))
	for i, l := range s.Labels {
		out[i] = int32(l)
	}
	return out
}

// annPredictions runs the ANN m on every sample of s and returns its
// classes and the time it took.
func annPredictions(m *graph.Model, s *dataset.Set, workers int) ([]int32, time.Duration, error) {
	if err := checkShape(m, s); err != nil {
		return nil, 0, err
	}
	net, err := nn.New(m, workers)
	if err != nil {
		return nil, 0, err
	}
	defer net.Close()
	t0 := time.Now()
	pred := train.Predictions(net, s)
	return pred, time.Since(t0), nil
}

// matchPercent returns the percentage of positions where a and b hold the
// same class: accuracy when b holds labels, agreement when it holds
// another classifier's predictions. a and b have the same, non-zero
// length.
func matchPercent(a, b []int32) float64 {
	same := 0
	for i, p := range a {
		if p == b[i] {
			same++
		}
	}
	return 100 * float64(same) / float64(len(a))
}

// annOutputs is annPredictions that also returns every sample's outputs
// when keep is set. The classes are those of train.Predictions: the same
// chunks, the same Predict and Argmax.
func annOutputs(m *graph.Model, s *dataset.Set, workers int, keep bool) ([]int32, [][]float32, time.Duration, error) {
	if !keep {
		pred, dt, err := annPredictions(m, s, workers)
		return pred, nil, dt, err
	}
	if err := checkShape(m, s); err != nil {
		return nil, nil, 0, err
	}
	net, err := nn.New(m, workers)
	if err != nil {
		return nil, nil, 0, err
	}
	defer net.Close()
	t0 := time.Now()
	pred := make([]int32, 0, s.Len())
	outs := make([][]float32, 0, s.Len())
	var am []int32
	err = s.Chunks(nil, 4*nn.BatchFor(m), func(x []float32, _ []int32, n int) error {
		y := net.Predict(x, n)
		am = nn.Argmax(y, n, am)
		pred = append(pred, am[:n]...)
		k := len(y) / n
		for i := 0; i < n; i++ {
			outs = append(outs, append([]float32(nil), y[i*k:(i+1)*k]...))
		}
		return nil
	})
	return pred, outs, time.Since(t0), err
}
