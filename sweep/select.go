package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/pipeline"
)

// DefaultValSamples is the size of the validation slice (Config.ValSamples).
const DefaultValSamples = 1000

// valPoint is DIR/points/t16_p99.val.json: a point's SNN accuracy on the
// validation slice, with what identifies the slice.
type valPoint struct {
	Tmax       int     `json:"tmax"`
	Percentile float64 `json:"percentile"`
	Data       string  `json:"data"`
	Samples    int     `json:"samples"`
	Calib      int     `json:"calibration_samples"`
	Seed       uint64  `json:"seed"`
	Accuracy   float64 `json:"snn_accuracy"`
}

func valPath(dir string, p Point) string {
	return filepath.Join(dir, "points", p.Key()+".val.json")
}

// readVal returns the stored validation accuracy of p on slice v, nil when
// there is none or it belongs to another slice (recomputed then).
func readVal(dir string, p Point, v *Validation) (*float64, error) {
	name := valPath(dir, p)
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var vp valPoint
	if err := json.Unmarshal(data, &vp); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if vp.Tmax != p.Tmax || vp.Percentile != p.Percentile || vp.Data != v.Data || vp.Samples != v.Samples || vp.Calib != v.Calib || vp.Seed != v.Seed {
		return nil, fmt.Errorf("%s holds another point or validation slice", name)
	}
	return &vp.Accuracy, nil
}

// valSlice draws the validation slice of cfg from the training split train:
// the ValSamples samples after the calibration draw in the same seeded
// permutation (pipeline.SplitIndices), held in memory.
func valSlice(train *dataset.Set, cfg Config) (*dataset.Set, *Validation, error) {
	calib := min(cfg.Calib, train.Len())
	_, idx := pipeline.SplitIndices(train.Len(), cfg.Calib, cfg.ValSamples, cfg.CalibSeed)
	if len(idx) == 0 {
		return nil, nil, fmt.Errorf("selecting the best point on a validation slice needs training samples outside the calibration draw, "+
			"but the calibration takes all %d: lower the calibration size or select on the test set", train.Len())
	}
	set, err := train.Subset(idx)
	if err != nil {
		return nil, nil, fmt.Errorf("validation slice: %w", err)
	}
	v := &Validation{Data: train.Name, Samples: len(idx), Calib: calib, Seed: cfg.CalibSeed}
	return set, v, nil
}

// evaluateVal measures c's SNN accuracy on the validation slice and stores
// it for p.
func (j *job) evaluateVal(ctx context.Context, c *pipeline.Converted, p Point) (float64, error) {
	r, err := pipeline.Evaluate(ctx, c, j.val)
	if err != nil {
		return 0, fmt.Errorf("%s, validation slice: %w", p, err)
	}
	v := j.validation
	vp := valPoint{Tmax: p.Tmax, Percentile: p.Percentile, Data: v.Data, Samples: v.Samples, Calib: v.Calib, Seed: v.Seed, Accuracy: r.SNNAccuracy}
	if err := writeJSON(valPath(j.dir, p), vp); err != nil {
		return 0, err
	}
	return r.SNNAccuracy, nil
}

// BestBy returns the index of the result with the highest score (score[i]
// belongs to rs[i]); ties go to the fewest Ω, then to the lowest index; −1
// if rs has no result.
func BestBy(rs []*pipeline.Result, score []float64) int {
	best := -1
	for i, r := range rs {
		if r == nil {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		if score[i] > score[best] || (score[i] == score[best] && r.Omega < rs[best].Omega) {
			best = i
		}
	}
	return best
}
