package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/pipeline"
)

// maxCSV bounds the size of a results.csv that LoadCSV reads.
const maxCSV = 64 << 20

// LoadCSV reads a sweep from a results.csv file (WriteCSV's format, such as
// the sweeps shipped in docs/): every point's scalar metrics, the best
// point (the row whose best column is 1) and where it was chosen (the
// best_on column; a file without it chose on the test set). The per-layer
// tables are not in the CSV, so the points have no Layers.
func LoadCSV(name string) (*Results, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCSV+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCSV {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a sweep's results.csv", name, maxCSV>>20)
	}
	r, err := ParseCSV(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// ParseCSV reads a sweep from results.csv data; see LoadCSV.
func ParseCSV(rd io.Reader) (*Results, error) {
	cr := csv.NewReader(rd)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, errors.New("no points: want a header line and one row per point")
	}
	head := recs[0]
	col := map[string]int{}
	for i, h := range head {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("column %q twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"tmax", "percentile", "snn_accuracy", "samples"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("no %q column: not a quartz sweep's results.csv", need)
		}
	}
	res := &Results{Format: Format, Version: 1, Best: -1, SelectOn: SelectTest}
	var valAcc []float64
	seen := map[[2]float64]bool{}
	for line, rec := range recs[1:] {
		at := fmt.Sprintf("line %d", line+2)
		p, err := parseRow(head, rec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if p.Tmax < 1 || p.Samples < 1 || !(p.Percentile > 0 && p.Percentile <= 100) || !(p.SNNAccuracy >= 0 && p.SNNAccuracy <= 100) {
			return nil, fmt.Errorf("%s: Tmax %d, percentile %g, %d samples, SNN accuracy %g: out of range", at, p.Tmax, p.Percentile, p.Samples, p.SNNAccuracy)
		}
		key := [2]float64{float64(p.Tmax), p.Percentile}
		if seen[key] {
			return nil, fmt.Errorf("%s: Tmax %d, percentile %g twice", at, p.Tmax, p.Percentile)
		}
		seen[key] = true
		if len(res.Points) == 0 {
			res.Model, res.Data, res.Samples = p.Model, p.Data, p.Samples
		}
		if i, ok := col["best"]; ok && rec[i] == "1" {
			if res.Best >= 0 {
				return nil, fmt.Errorf("%s: a second best point", at)
			}
			res.Best = len(res.Points)
		}
		if i, ok := col["best_on"]; ok {
			switch rec[i] {
			case SelectVal, SelectTest:
				res.SelectOn = rec[i]
			default:
				return nil, fmt.Errorf("%s: best_on %q: want %s or %s", at, rec[i], SelectVal, SelectTest)
			}
		}
		if i, ok := col["val_snn_accuracy"]; ok && rec[i] != "" {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: val_snn_accuracy: %w", at, err)
			}
			valAcc = append(valAcc, v)
		}
		if !slices.Contains(res.Tmax, p.Tmax) {
			res.Tmax = append(res.Tmax, p.Tmax)
		}
		if !slices.Contains(res.Percentiles, p.Percentile) {
			res.Percentiles = append(res.Percentiles, p.Percentile)
		}
		res.Points = append(res.Points, p)
	}
	slices.Sort(res.Tmax)
	slices.Sort(res.Percentiles)
	if res.Best < 0 {
		res.Best = Best(res.Points)
	}
	if res.SelectOn == SelectVal {
		if len(valAcc) != len(res.Points) {
			return nil, errors.New("best_on val without a val_snn_accuracy on every row")
		}
		res.Validation = &Validation{Accuracy: valAcc}
		if i, ok := col["val_samples"]; ok {
			res.Validation.Samples, _ = strconv.Atoi(recs[1][i])
		}
	}
	return res, nil
}

// parseRow turns one row into a result: the dotted column names become
// nested JSON objects, a cell that parses as a number or a boolean is one,
// any other a string, and an empty cell is absent. A cell that the result
// wants as a string but reads as a number ("energy.x.params" = "8") is
// retried as a string.
func parseRow(head, rec []string) (*pipeline.Result, error) {
	if len(rec) != len(head) {
		return nil, fmt.Errorf("%d cells for %d columns", len(rec), len(head))
	}
	asString := map[string]bool{}
	for range len(head) + 1 {
		obj := map[string]any{}
		for i, h := range head {
			if rec[i] == "" || h == "best" || h == "best_on" || strings.HasPrefix(h, "val_") {
				continue
			}
			if err := setPath(obj, strings.Split(h, "."), cell(rec[i], asString[h])); err != nil {
				return nil, fmt.Errorf("column %q: %w", h, err)
			}
		}
		js, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		var p pipeline.Result
		err = json.Unmarshal(js, &p)
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Value == "number" && !asString[te.Field] {
			if _, ok := indexOf(head, te.Field); ok {
				asString[te.Field] = true
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		p.Layers = []pipeline.LayerResult{} // not in the CSV (and not null)
		return &p, nil
	}
	return nil, errors.New("cells of the wrong type")
}

func indexOf(v []string, s string) (int, bool) {
	i := slices.Index(v, s)
	return i, i >= 0
}

func cell(s string, str bool) any {
	if str {
		return s
	}
	if s == "true" || s == "false" {
		return s == "true"
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && json.Valid([]byte(s)) {
		return json.Number(s)
	}
	return s
}

// setPath sets obj[a][b]… = v for the path a.b.….
func setPath(obj map[string]any, path []string, v any) error {
	for _, k := range path[:len(path)-1] {
		next, ok := obj[k]
		if !ok {
			m := map[string]any{}
			obj[k] = m
			obj = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%q is both a value and an object", k)
		}
		obj = m
	}
	k := path[len(path)-1]
	if _, ok := obj[k]; ok {
		return fmt.Errorf("%q set twice", k)
	}
	obj[k] = v
	return nil
}
