package sweep_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/quartz-snn/quartz/sweep"
)

// TestCSVRoundTrip writes the golden sweep as results.csv and reads it back:
// every scalar survives, and the best point and its selection with it.
func TestCSVRoundTrip(t *testing.T) {
	s := fixedResults()
	var b bytes.Buffer
	if err := s.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	got, err := sweep.ParseCSV(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Best != s.Best || got.SelectOn != s.SelectOn || len(got.Points) != len(s.Points) {
		t.Fatalf("best %d on %q of %d points, want %d on %q of %d", got.Best, got.SelectOn, len(got.Points), s.Best, s.SelectOn, len(s.Points))
	}
	var again bytes.Buffer
	if err := got.WriteCSV(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != b.String() {
		t.Errorf("results.csv changed on a round trip:\n%s\nwant\n%s", again.String(), b.String())
	}
}

// TestShippedCSV reads the sweeps shipped in docs/: those written before
// best_on existed chose their best point on the test set; later ones say
// where they chose (valSweeps).
func TestShippedCSV(t *testing.T) {
	valSweeps := map[string]bool{"cifar_vgg11_swa_t32_sweep.csv": true}
	names, _ := filepath.Glob(filepath.Join("..", "docs", "*_sweep.csv"))
	if len(names) == 0 {
		t.Fatal("no docs/*_sweep.csv")
	}
	for _, n := range names {
		s, err := sweep.LoadCSV(n)
		if err != nil {
			t.Fatal(err)
		}
		want := sweep.SelectTest
		if valSweeps[filepath.Base(n)] {
			want = sweep.SelectVal
		}
		if s.SelectOn != want || len(s.Points) < 4 || s.Samples != 10000 {
			t.Errorf("%s: %d points on %d samples, best on %q", n, len(s.Points), s.Samples, s.SelectOn)
		}
	}
}

func TestParseCSVErrors(t *testing.T) {
	for _, c := range []string{
		"",
		"tmax,percentile\n1,99\n",
		"tmax,percentile,snn_accuracy,samples\n",
		"tmax,percentile,snn_accuracy,samples\n0,99,90,10\n",
		"tmax,percentile,snn_accuracy,samples\n4,99,90,10\n4,99,91,10\n",
		"tmax,percentile,snn_accuracy,samples\n4,99,x,10\n",
		"tmax,percentile,snn_accuracy,samples,best\n4,99,90,10,1\n8,99,91,10,1\n",
		"tmax,percentile,snn_accuracy,samples,a,a.b\n4,99,90,10,1,2\n",
		"tmax,percentile,snn_accuracy,samples,best_on\n4,99,90,10,val\n",
	} {
		if _, err := sweep.ParseCSV(bytes.NewReader([]byte(c))); err == nil {
			t.Errorf("%q: no error", c)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "cifar_vgg11_sweep.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("tmax,percentile,snn_accuracy,samples,best\n4,99,90,10,1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := sweep.ParseCSV(bytes.NewReader(b))
		if err != nil {
			return
		}
		if s.Best < 0 || s.Best >= len(s.Points) || len(s.Tmax) == 0 || len(s.Percentiles) == 0 {
			t.Fatalf("best %d of %d points", s.Best, len(s.Points))
		}
	})
}
