package dataset

import (
	"slices"
	"testing"
)

// rampSet returns n samples of c×h×w whose bytes are distinct per sample.
func rampSet(n, c, h, w int) *Set {
	s := &Set{Name: "ramp", C: c, H: h, W: w, Classes: []string{"a", "b", "c"}}
	for i := range n {
		for j := range c * h * w {
			s.Pix = append(s.Pix, uint8(1+(i*7+j)%250))
		}
		s.Labels = append(s.Labels, uint8(i%3))
	}
	return s
}

// collect copies every batch of an epoch.
func collect(l *Loader, epoch int) []Batch {
	var out []Batch
	for k, b := range l.Epoch(epoch) {
		if k != len(out) {
			panic("batch numbers not consecutive")
		}
		out = append(out, Batch{X: slices.Clone(b.X), Y: slices.Clone(b.Y), Index: slices.Clone(b.Index), N: b.N})
	}
	return out
}

func equalBatches(a, b []Batch) bool {
	return slices.EqualFunc(a, b, func(x, y Batch) bool {
		return x.N == y.N && slices.Equal(x.X, y.X) && slices.Equal(x.Y, y.Y) && slices.Equal(x.Index, y.Index)
	})
}

func TestLoaderBatches(t *testing.T) {
	s := rampSet(10, 2, 3, 3)
	tests := []struct {
		name    string
		batch   int
		shuffle bool
		sizes   []int
	}{
		{"exact", 5, false, []int{5, 5}},
		{"partial last", 4, false, []int{4, 4, 2}},
		{"shuffled", 3, true, []int{3, 3, 3, 1}},
		{"whole set", 0, true, []int{10}},
		{"larger than set", 64, false, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLoader(s, tt.batch, tt.shuffle, 42, Augment{})
			bs := collect(l, 0)
			if l.Len() != len(tt.sizes) {
				t.Errorf("Len %d, want %d", l.Len(), len(tt.sizes))
			}
			var seen []int
			for k, b := range bs {
				if b.N != tt.sizes[k] || len(b.X) != b.N*s.SampleSize() || len(b.Y) != b.N {
					t.Fatalf("batch %d: N %d len(X) %d len(Y) %d, want N %d", k, b.N, len(b.X), len(b.Y), tt.sizes[k])
				}
				x := make([]float32, b.N*s.SampleSize())
				y := make([]int32, b.N)
				s.Gather(b.Index, x, y)
				if !slices.Equal(x, b.X) || !slices.Equal(y, b.Y) {
					t.Errorf("batch %d differs from Gather of its Index", k)
				}
				seen = append(seen, b.Index...)
			}
			if !tt.shuffle && !slices.IsSorted(seen) {
				t.Errorf("unshuffled order %v", seen)
			}
			slices.Sort(seen)
			for i, v := range seen {
				if v != i {
					t.Fatalf("epoch does not visit every sample once: %v", seen)
				}
			}
		})
	}
}

func TestLoaderDeterminism(t *testing.T) {
	s := rampSet(37, 3, 6, 5)
	aug := Augment{CropPad: 2, FlipH: true}
	a := collect(NewLoader(s, 8, true, 7, aug), 3)
	b := collect(NewLoader(s, 8, true, 7, aug), 3)
	if !equalBatches(a, b) {
		t.Error("same seed and epoch gave different batches")
	}
	if equalBatches(a, collect(NewLoader(s, 8, true, 7, aug), 4)) {
		t.Error("epochs 3 and 4 gave the same batches")
	}
	if equalBatches(a, collect(NewLoader(s, 8, true, 8, aug), 3)) {
		t.Error("seeds 7 and 8 gave the same batches")
	}
	// Concurrent epochs of one Loader do not interfere.
	l := NewLoader(s, 8, true, 7, aug)
	done := make(chan []Batch)
	for range 3 {
		go func() { done <- collect(l, 3) }()
	}
	for range 3 {
		if !equalBatches(a, <-done) {
			t.Error("concurrent epoch differs")
		}
	}
}

func TestLoaderEarlyBreak(t *testing.T) {
	s := rampSet(50, 1, 2, 2)
	l := NewLoader(s, 4, true, 1, Augment{})
	n := 0
	for range l.Epoch(0) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("got %d batches before break", n)
	}
	for range NewLoader(&Set{C: 1, H: 1, W: 1}, 4, true, 1, Augment{}).Epoch(0) {
		t.Fatal("empty set yielded a batch")
	}
}

// Every augmented sample must be one of the (2p+1)² shifts, each possibly
// mirrored, of its source image, and augmentation must actually vary.
func TestLoaderAugment(t *testing.T) {
	const p = 2
	s := rampSet(20, 2, 5, 4)
	ss := s.SampleSize()
	l := NewLoader(s, 6, true, 3, Augment{CropPad: p, FlipH: true})
	variants := map[[3]int]bool{}
	for _, b := range collect(l, 0) {
		for k := range b.N {
			got := b.X[k*ss : (k+1)*ss]
			src := s.Pix[b.Index[k]*ss : (b.Index[k]+1)*ss]
			found := false
			for dy := -p; dy <= p && !found; dy++ {
				for dx := -p; dx <= p && !found; dx++ {
					for _, flip := range []bool{false, true} {
						want := make([]float32, ss)
						refAugment(src, want, s.C, s.H, s.W, dy, dx, flip)
						if slices.Equal(got, want) {
							found = true
							variants[[3]int{dy, dx, map[bool]int{false: 0, true: 1}[flip]}] = true
							break
						}
					}
				}
			}
			if !found {
				t.Fatalf("sample %d is no shift/flip of its source", b.Index[k])
			}
		}
	}
	if len(variants) < 5 {
		t.Errorf("only %d distinct augmentations in 20 samples", len(variants))
	}
}

// refAugment is a direct transcription of pad-crop-flip: pad src by p zeros,
// crop at (p+dy, p+dx), mirror.
func refAugment(src []uint8, dst []float32, c, h, w, dy, dx int, flip bool) {
	at := func(ch, y, x int) float32 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		return float32(src[(ch*h+y)*w+x]) / 255
	}
	for ch := range c {
		for y := range h {
			for x := range w {
				cx := x
				if flip {
					cx = w - 1 - x
				}
				dst[(ch*h+y)*w+x] = at(ch, y+dy, cx+dx)
			}
		}
	}
}
