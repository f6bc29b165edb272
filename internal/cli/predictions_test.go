package cli_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// evalSummary is the part of eval --json that the per-sample file must
// reproduce.
type evalSummary struct {
	Samples   int      `json:"samples"`
	ANN       *float64 `json:"ann_accuracy"`
	SNN       float64  `json:"snn_accuracy"`
	TieRate   float64  `json:"tie_rate"`
	NoClass   float64  `json:"no_class_rate"`
	Agreement *float64 `json:"ann_snn_agreement"`
	Stats     *struct {
		SNNCI  [2]float64  `json:"snn_accuracy_ci95"`
		ANNCI  *[2]float64 `json:"ann_accuracy_ci95"`
		Paired *struct {
			B      int        `json:"ann_only_correct"`
			C      int        `json:"snn_only_correct"`
			P      float64    `json:"mcnemar_p"`
			DropCI [2]float64 `json:"drop_ci95"`
		} `json:"ann_snn_paired"`
	} `json:"accuracy_stats"`
}

// TestPredictionsReproduceAccuracy: eval --predictions on the shipped
// LeNet-5 (500 MNIST test samples) writes one row per sample from which
// snn_accuracy, ann_accuracy, the tie and no-class rates, the agreement
// and McNemar's b and c recompute exactly (the same float64 arithmetic as
// pipeline: 100·count/n); the JSON Lines file holds the same rows, and
// --logits adds outputs whose argmax is the ANN class.
func TestPredictionsReproduceAccuracy(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "pred.csv")
	base := []string{"eval", "--model", lenetPath, "--data", "mnist", "--limit", "500", "--calib", "500",
		"--percentile", "99.9", "--tmax", "16", "--no-cache", "--workers", "2", "--json"}
	r := run(t, append(base, "--predictions", csvPath, "--logits")...)
	if r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	var sum evalSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, r.stdout)
	}
	if sum.Samples != 500 || sum.ANN == nil || sum.Agreement == nil || sum.Stats == nil || sum.Stats.Paired == nil || sum.Stats.ANNCI == nil {
		t.Fatalf("eval --json lacks fields: %+v", sum)
	}

	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	if strings.Join(head[:6], ",") != "index,label,ann_class,snn_class,tie,first_spike_step" || len(head) != 6+2*10 {
		t.Fatalf("header %v", head)
	}
	rows = rows[1:]
	if len(rows) != 500 {
		t.Fatalf("%d rows, want 500", len(rows))
	}
	atoi := func(s string) int {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return v
	}
	var annOK, snnOK, ties, noClass, agree, b, c int
	for i, row := range rows {
		idx, label, ann, snnC, first := atoi(row[0]), atoi(row[1]), atoi(row[2]), atoi(row[3]), atoi(row[4+1])
		tie, err := strconv.ParseBool(row[4])
		if err != nil {
			t.Fatal(err)
		}
		if idx != i {
			t.Fatalf("row %d has index %d", i, idx)
		}
		if ann == label {
			annOK++
		}
		if snnC == label {
			snnOK++
		}
		if tie {
			ties++
		}
		if snnC < 0 {
			noClass++
			if first != -1 {
				t.Errorf("row %d: no class but first spike %d", i, first)
			}
		}
		if ann == snnC {
			agree++
		}
		if ann == label && snnC != label {
			b++
		}
		if snnC == label && ann != label {
			c++
		}
		// The logits: the ANN class is their argmax; the SNN class is
		// the largest decoded output (first spike = largest value).
		annOut := row[6:16]
		best, bestV := -1, math.Inf(-1)
		for j, s := range annOut {
			v, err := strconv.ParseFloat(s, 32)
			if err != nil {
				t.Fatalf("row %d ann_out_%d %q: %v", i, j, s, err)
			}
			if v > bestV {
				best, bestV = j, v
			}
		}
		if best != ann {
			t.Errorf("row %d: argmax of the ANN outputs %d, ann_class %d", i, best, ann)
		}
		if snnC >= 0 {
			best, bestV = -1, math.Inf(-1)
			for j, s := range row[16:26] {
				if s == "" {
					continue
				}
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("row %d snn_out_%d %q: %v", i, j, s, err)
				}
				if v > bestV {
					best, bestV = j, v
				}
			}
			if best != snnC {
				t.Errorf("row %d: largest decoded SNN output %d, snn_class %d", i, best, snnC)
			}
		}
	}
	pct := func(k int) float64 { return 100 * float64(k) / 500 }
	if got := pct(snnOK); got != sum.SNN {
		t.Errorf("snn_accuracy from the file %v, eval says %v", got, sum.SNN)
	}
	if got := pct(annOK); got != *sum.ANN {
		t.Errorf("ann_accuracy from the file %v, eval says %v", got, *sum.ANN)
	}
	if got := pct(ties); got != sum.TieRate {
		t.Errorf("tie_rate from the file %v, eval says %v", got, sum.TieRate)
	}
	if got := pct(noClass); got != sum.NoClass {
		t.Errorf("no_class_rate from the file %v, eval says %v", got, sum.NoClass)
	}
	if got := pct(agree); got != *sum.Agreement {
		t.Errorf("agreement from the file %v, eval says %v", got, *sum.Agreement)
	}
	if p := sum.Stats.Paired; p.B != b || p.C != c {
		t.Errorf("McNemar b, c from the file %d, %d; eval says %d, %d", b, c, p.B, p.C)
	}
	if ci := sum.Stats.SNNCI; !(ci[0] <= sum.SNN && sum.SNN <= ci[1]) {
		t.Errorf("SNN interval %v does not hold %v", ci, sum.SNN)
	}

	// JSON Lines: the same rows.
	jsonlPath := filepath.Join(dir, "pred.jsonl")
	if r := run(t, append(base, "--predictions", jsonlPath)...); r.code != 0 {
		t.Fatalf("eval: %v", r)
	}
	jf, err := os.Open(jsonlPath)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	sc := bufio.NewScanner(jf)
	n := 0
	for sc.Scan() {
		var row struct {
			Index, Label int
			ANN          *int `json:"ann_class"`
			SNN          int  `json:"snn_class"`
			Tie          bool
			First        int       `json:"first_spike_step"`
			ANNOut       []float32 `json:"ann_out"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		want := rows[n]
		if row.Index != n || strconv.Itoa(row.Label) != want[1] || row.ANN == nil || strconv.Itoa(*row.ANN) != want[2] ||
			strconv.Itoa(row.SNN) != want[3] || strconv.FormatBool(row.Tie) != want[4] || strconv.Itoa(row.First) != want[5] || row.ANNOut != nil {
			t.Fatalf("line %d %s differs from CSV row %v", n+1, sc.Text(), want)
		}
		n++
	}
	if n != 500 {
		t.Errorf("%d JSON lines, want 500", n)
	}
}

// TestPredictionsRefused: a wrong extension, --logits alone, --coding rate
// and a target that is a folder are refused before the work.
func TestPredictionsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--predictions", filepath.Join(dir, "p.txt")}, "want a .csv or .jsonl file"},
		{[]string{"--logits"}, "--logits: needs --predictions"},
		{[]string{"--predictions", filepath.Join(dir, "p.csv"), "--coding", "rate"}, "--predictions"},
		{[]string{"--predictions", dir + "/"}, "want a .csv"},
		{[]string{"--predictions", filepath.Join(dir, "no", "p.csv")}, "does not exist"},
	} {
		r := run(t, append([]string{"eval", "--model", filepath.Join(dir, "missing.onnx")}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want an error with %q, got %v", tc.args, tc.want, r)
		}
	}
	folder := filepath.Join(dir, "d.csv")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, "eval", "--model", filepath.Join(dir, "missing.onnx"), "--predictions", folder)
	if r.code == 0 || !strings.Contains(r.stderr, "is a folder") {
		t.Errorf("a folder target: %v", r)
	}
}
