package shard

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  string
	}{
		{"0/1", Spec{0, 1}, ""},
		{"3/4", Spec{3, 4}, ""},
		{" 2/7 ", Spec{2, 7}, ""},
		{"4/4", Spec{}, "index must be in 0..3"},
		{"-1/4", Spec{}, "index must be in 0..3"},
		{"0/0", Spec{}, "count must be in 1..100000"},
		{"0/100001", Spec{}, "count must be in 1..100000"},
		{"1", Spec{}, "want i/n"},
		{"a/4", Spec{}, "integers"},
		{"1/4/5", Spec{}, "integers"},
		{"", Spec{}, "want i/n"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestRangeCovers checks that the shards' slices cover 0..total once, in
// order, and differ in size by at most one.
func TestRangeCovers(t *testing.T) {
	for _, total := range []int64{0, 1, 2, 3, 7, 10, 500, 10000, 1<<62 + 3} {
		for _, n := range []int{1, 2, 3, 4, 7, 64, 1000} {
			next := int64(0)
			var small, big int64 = -1, -1
			for i := 0; i < n; i++ {
				lo, hi := Spec{i, n}.Range(total)
				if lo != next || hi < lo {
					t.Fatalf("total %d, shard %d/%d: [%d, %d) after %d", total, i, n, lo, hi, next)
				}
				if small < 0 || hi-lo < small {
					small = hi - lo
				}
				if hi-lo > big {
					big = hi - lo
				}
				next = hi
			}
			if next != total || big-small > 1 {
				t.Errorf("total %d in %d shards: covers [0, %d), sizes %d..%d", total, n, next, small, big)
			}
		}
	}
	if lo, hi := (Spec{1, 4}).Range(500); lo != 125 || hi != 250 {
		t.Errorf("shard 1/4 of 500: [%d, %d), want [125, 250)", lo, hi)
	}
}

func header(i, n int, model string) Header {
	return NewHeader(Spec{i, n}, Identity{Kind: "eval", Model: "m.onnx", ModelSHA256: model, Data: "mnist-test",
		DataFingerprint: "fp", Samples: 500, CalibKey: "key", Config: "tmax=16"})
}

func TestCheck(t *testing.T) {
	h := func(i, n int) Header { return header(i, n, "sha256:aa") }
	foreign := header(1, 3, "sha256:bb")
	badFormat := h(0, 3)
	badFormat.Format = "other"
	for _, tc := range []struct {
		name  string
		parts []Header
		err   string
		order []int
	}{
		{"all", []Header{h(2, 3), h(0, 3), h(1, 3)}, "", []int{1, 2, 0}},
		{"one", []Header{h(0, 1)}, "", []int{0}},
		{"missing", []Header{h(0, 3), h(2, 3)}, "shard 1/3 missing", nil},
		{"missing two", []Header{h(1, 4), h(2, 4)}, "shards 0/4, 3/4 missing", nil},
		{"duplicate", []Header{h(0, 2), h(1, 2), h(1, 2)}, "shard 1/2 given twice: p1 and p2", nil},
		{"foreign", []Header{h(0, 3), foreign, h(2, 3)}, "p1 is a part of another run than p0 (model SHA-256", nil},
		{"mixed counts", []Header{h(0, 2), h(1, 3)}, "do not mix", nil},
		{"not a part", []Header{badFormat}, "p0: not a quartz part file", nil},
		{"none", nil, "no parts given", nil},
	} {
		names := make([]string, len(tc.parts))
		for i := range names {
			names[i] = "p" + string(rune('0'+i))
		}
		order, err := Check(names, tc.parts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want one with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for k := range order {
			if order[k] != tc.order[k] {
				t.Errorf("%s: order %v, want %v", tc.name, order, tc.order)
				break
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "4/4", "-1/2", "1/100000", "x", "1/2/3", " 0 / 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if sp.Validate() != nil || sp.Index < 0 || sp.Index >= sp.Count {
			t.Fatalf("Parse(%q) accepted %v", s, sp)
		}
		if back, err := Parse(sp.String()); err != nil || back != sp {
			t.Fatalf("%v does not round-trip: %v, %v", sp, back, err)
		}
		lo, hi := sp.Range(1000)
		if lo < 0 || hi < lo || hi > 1000 {
			t.Fatalf("%v: range [%d, %d) of 1000", sp, lo, hi)
		}
	})
}
