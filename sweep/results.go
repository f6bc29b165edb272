package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/pipeline"
)

// Write writes results.json and results.csv under dir, atomically, and
// rate.csv when r holds rate baselines (otherwise it removes a rate.csv that
// an earlier run with them left, which would not match results.json).
func (r *Results) Write(dir string) error {
	var js, cs, rs bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		return err
	}
	if err := r.WriteCSV(&cs); err != nil {
		return err
	}
	if err := r.WriteRateCSV(&rs); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "results.json"), js.Bytes()); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "results.csv"), cs.Bytes()); err != nil {
		return err
	}
	rateCSV := filepath.Join(dir, "rate.csv")
	if len(r.Rate) == 0 {
		if err := os.Remove(rateCSV); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return atomicfile.Write(rateCSV, rs.Bytes())
}

// WriteJSON writes r as indented JSON (DIR/results.json).
func (r *Results) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Load reads DIR/results.json.
func Load(dir string) (*Results, error) {
	name := filepath.Join(dir, "results.json")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if r.Format != Format {
		return nil, fmt.Errorf("%s: not a quartz sweep (format %q)", name, r.Format)
	}
	switch r.SelectOn {
	case "":
		r.SelectOn = SelectTest // written before select_on: chosen on the test set
	case SelectTest:
	case SelectVal:
		if r.Validation == nil || len(r.Validation.Accuracy) != len(r.Points) {
			return nil, fmt.Errorf("%s: select_on val without a validation accuracy per point", name)
		}
	default:
		return nil, fmt.Errorf("%s: select_on %q: want %s or %s", name, r.SelectOn, SelectVal, SelectTest)
	}
	for i, p := range r.Points {
		if p == nil {
			return nil, fmt.Errorf("%s: point %d is empty", name, i)
		}
	}
	if r.Best < 0 || r.Best >= len(r.Points) {
		return nil, fmt.Errorf("%s: best point %d out of range", name, r.Best)
	}
	if len(r.Rate) > 0 && len(r.Rate) != len(r.Percentiles) {
		return nil, fmt.Errorf("%s: %d rate baselines for %d percentiles", name, len(r.Rate), len(r.Percentiles))
	}
	for i, rr := range r.Rate {
		if rr == nil || len(rr.Checkpoints) == 0 {
			return nil, fmt.Errorf("%s: rate baseline %d is empty", name, i)
		}
	}
	return &r, nil
}

// WriteCSV writes one row per point (DIR/results.csv). The columns are every
// scalar field of the point's JSON encoding (what `quartz eval --json`
// prints), in that order, nested objects flattened with dotted names
// ("energy.loihi.dynamic"); arrays (the per-layer table, warnings) are left
// to results.json. A null is an empty cell; numbers are written as JSON
// writes them. Then come, with a validation slice, val_snn_accuracy (the
// point's SNN accuracy on it) and val_samples; best, which marks the best
// point with 1; and best_on, where it was chosen (val or test).
func (r *Results) WriteCSV(w io.Writer) error {
	var cols []string
	seen := map[string]bool{}
	rows := make([]map[string]string, len(r.Points))
	for i, p := range r.Points {
		fields, err := Flatten(p)
		if err != nil {
			return err
		}
		rows[i] = map[string]string{}
		for _, f := range fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				cols = append(cols, f.Name)
			}
			rows[i][f.Name] = f.Value
		}
	}
	val := r.Validation != nil && len(r.Validation.Accuracy) == len(r.Points)
	cw := csv.NewWriter(w)
	head := append([]string(nil), cols...)
	if val {
		head = append(head, "val_snn_accuracy", "val_samples")
	}
	cw.Write(append(head, "best", "best_on"))
	on := r.SelectOn
	if on == "" {
		on = SelectTest
	}
	for i, row := range rows {
		rec := make([]string, 0, len(head)+2)
		for _, c := range cols {
			rec = append(rec, row[c])
		}
		if val {
			rec = append(rec, strconv.FormatFloat(r.Validation.Accuracy[i], 'f', -1, 64), strconv.Itoa(r.Validation.Samples))
		}
		best := "0"
		if i == r.Best {
			best = "1"
		}
		cw.Write(append(rec, best, on))
	}
	cw.Flush()
	return cw.Error()
}

// WriteRateCSV writes the rate-coded baselines (DIR/rate.csv), one row per
// percentile and checkpoint, in the order of Percentiles and then of steps;
// nothing when r has none. The columns are percentile, then every scalar of
// the checkpoint's JSON encoding (steps, accuracy, spikes, synaptic_events,
// omega_eq, energy.loihi.total, …), then best (1 marks the percentile's
// most accurate checkpoint, ties to the fewest steps), then the scalars of
// the run (model, samples, total_steps = N, neurons, ann_accuracy,
// match_steps, …; its energy at N is the last row's).
func (r *Results) WriteRateCSV(w io.Writer) error {
	if len(r.Rate) == 0 {
		return nil
	}
	var cols []string
	seen := map[string]bool{}
	var rows []map[string]string
	add := func(row map[string]string, name, value string) {
		if !seen[name] {
			seen[name] = true
			cols = append(cols, name)
		}
		row[name] = value
	}
	for _, rr := range r.Rate {
		run, err := flattenAny(rr)
		if err != nil {
			return err
		}
		best := BestCheckpoint(rr)
		for i := range rr.Checkpoints {
			row := map[string]string{}
			add(row, "percentile", strconv.FormatFloat(rr.Percentile, 'f', -1, 64))
			cp, err := flattenAny(&rr.Checkpoints[i])
			if err != nil {
				return err
			}
			for _, f := range cp {
				add(row, f.Name, f.Value)
			}
			add(row, "best", map[bool]string{true: "1", false: "0"}[i == best])
			for _, f := range run {
				switch {
				case f.Name == "percentile" || strings.HasPrefix(f.Name, "energy."):
					continue
				case f.Name == "steps":
					f.Name = "total_steps"
				}
				add(row, f.Name, f.Value)
			}
			rows = append(rows, row)
		}
	}
	cw := csv.NewWriter(w)
	cw.Write(cols)
	for _, row := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = row[c]
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// Field is one flattened scalar of a result.
type Field struct{ Name, Value string }

// Flatten lists the scalar fields of res's JSON encoding in order, nested
// objects as dotted names; arrays are skipped.
func Flatten(res *pipeline.Result) ([]Field, error) { return flattenAny(res) }

func flattenAny(v any) ([]Field, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var out []Field
	if err := flattenValue(dec, "", &out); err != nil {
		return nil, err
	}
	return out, nil
}

func flattenValue(dec *json.Decoder, name string, out *[]Field) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, ok := kt.(string)
				if !ok {
					return errors.New("flatten: object key is not a string")
				}
				if name != "" {
					k = name + "." + k
				}
				if err := flattenValue(dec, k, out); err != nil {
					return err
				}
			}
			_, err := dec.Token() // '}'
			return err
		case '[':
			// Skip the array.
			for dec.More() {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		}
	case nil:
		*out = append(*out, Field{name, ""})
	case bool:
		*out = append(*out, Field{name, strconv.FormatBool(v)})
	case json.Number:
		*out = append(*out, Field{name, v.String()})
	case string:
		*out = append(*out, Field{name, v})
	}
	return nil
}
