package plot

import (
	"strings"
	"testing"
)

// TestLogTicks: the sparsest of decades, 1-2-5 steps and finer steps that
// labels at least MinTickLabels ticks, with the labels written alike.
func TestLogTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		unit   string
		want   string
	}{
		{0.01, 100, "", "0.01 0.1 1 10 100"}, // decades suffice
		{0.7, 25, "", "1 2 5 10 20"},         // 1-2-5 (issue: "31.2, 50, 50.6")
		{31.2, 50.6, "", "35 40 45 50"},      // under a factor 1.6: linear
		{12.6e-9, 40e-9, "J", "15 nJ 20 nJ 25 nJ 30 nJ 40 nJ"},
		{21800, 624000, "", "50k 100k 200k 500k"},
		{4.7e6, 1.3e7, "", "5M 6M 8M 10M 12M"},
	} {
		var got []string
		for _, tk := range (logTicks{unit: c.unit}).Ticks(c.lo, c.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("log ticks over [%g, %g]: %q, want %q", c.lo, c.hi, g, c.want)
		}
		if len(got) < MinTickLabels {
			t.Errorf("[%g, %g]: %d labels", c.lo, c.hi, len(got))
		}
	}
}

func TestLinTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 81, "0 20 40 60 80"},
		{-1.8, 1.1, "-1.5 -1.0 -0.5 0.0 0.5 1.0"},
		{0, 3456, "0 1k 2k 3k"},
		{96, 99.6, "96 97 98 99"},
		{0, 0.025, "0.000 0.005 0.010 0.015 0.020 0.025"},
	} {
		var got []string
		for _, tk := range (linTicks{}).Ticks(c.lo, c.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("linear ticks over [%g, %g]: %q, want %q", c.lo, c.hi, g, c.want)
		}
	}
}

func TestShortNames(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"conv1", "pool1", "fc1"}, []string{"conv1", "pool1", "fc1"}},
		{[]string{"/features/features.0/Conv", "/features/features.2/MaxPool", "/classifier/classifier.6/Gemm"},
			[]string{"features.0", "features.2", "classifier.6"}},
		// Two blocks' conv1: one more segment tells them apart.
		{[]string{"/layer1/layer1.0/conv1/Conv", "/layer2/layer2.0/conv1/Conv", "/fc/Gemm"},
			[]string{"layer1.0/conv1", "layer2.0/conv1", "fc"}},
		{[]string{"/model/encoder/a_very_long_module_name_indeed/Conv"}, []string{"a_very_…indeed"}},
	} {
		got := ShortNames(c.in)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("ShortNames(%q) = %q, want %q", c.in, got, c.want)
		}
		seen := map[string]bool{}
		for _, s := range got {
			if seen[s] || len([]rune(s)) > MaxLabel {
				t.Errorf("ShortNames(%q): %q repeated or longer than %d", c.in, s, MaxLabel)
			}
			seen[s] = true
		}
	}
}
