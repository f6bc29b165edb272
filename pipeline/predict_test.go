package pipeline

import (
	"testing"

	"github.com/quartz-snn/quartz/dataset"
)

func TestMatchPercent(t *testing.T) {
	for _, c := range []struct {
		a, b []int32
		want float64
	}{
		{[]int32{1}, []int32{1}, 100},
		{[]int32{1}, []int32{2}, 0},
		{[]int32{0, 1, 2, 3}, []int32{0, 1, 9, 9}, 50},
		{[]int32{-1, 5, 5}, []int32{-1, 5, 4}, 200.0 / 3}, // -1: no class
	} {
		if got := matchPercent(c.a, c.b); got != c.want {
			t.Errorf("matchPercent(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestLabels32(t *testing.T) {
	s := &dataset.Set{Labels: []uint8{0, 9, 3}}
	got := labels32(s)
	if len(got) != 3 || got[0] != 0 || got[1] != 9 || got[2] != 3 {
		t.Errorf("labels32 = %v, want [0 9 3]", got)
	}
}
