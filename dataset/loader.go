package dataset

import (
	"iter"
	"math/rand/v2"
)

// Augment selects random training-time transformations, applied per sample.
type Augment struct {
	CropPad int  // >0: pad each side with CropPad zeros, then crop H×W at a random offset
	FlipH   bool // mirror left-right with probability 1/2
}

// Batch is one mini-batch: N samples, X holding N*C*H*W float32 values in
// [0,1] (NCHW), Y the N labels and Index the N sample indices in the Set.
//
// A Batch yielded by Loader.Epoch is valid only until the loop body returns:
// its buffers are then refilled with a later batch. Copy what must be kept.
type Batch struct {
	X     []float32
	Y     []int32
	Index []int
	N     int
}

// Loader serves a Set in mini-batches, optionally shuffled and augmented.
// While the caller works on one batch, the next is prepared by a goroutine.
//
// The batches of an epoch depend only on (seed, epoch) and the Set: the
// order is a permutation drawn from a PCG generator seeded (seed, epoch),
// and the augmentation draws come from a second PCG stream, in sample order,
// from one goroutine. A Loader is immutable; it may run several epochs
// concurrently.
type Loader struct {
	set     *Set
	batch   int
	shuffle bool
	seed    uint64
	aug     Augment
}

// NewLoader returns a Loader over s with batches of batch samples (batch <= 0:
// one batch holding the whole set). The last batch of an epoch may be
// smaller. With shuffle false samples come in Set order. A negative CropPad
// counts as zero.
func NewLoader(s *Set, batch int, shuffle bool, seed uint64, aug Augment) *Loader {
	if batch <= 0 {
		batch = max(s.Len(), 1)
	}
	aug.CropPad = max(aug.CropPad, 0)
	return &Loader{set: s, batch: batch, shuffle: shuffle, seed: seed, aug: aug}
}

// Len returns the number of batches per epoch, the last one possibly partial.
func (l *Loader) Len() int { return (l.set.Len() + l.batch - 1) / l.batch }

// BatchSize returns the (maximum) number of samples per batch.
func (l *Loader) BatchSize() int { return l.batch }

// augSalt separates the augmentation stream from the shuffling stream.
const augSalt = 0x9e3779b97f4a7c15

// Order returns the sample order of the given epoch.
func (l *Loader) Order(epoch int) []int {
	n := l.set.Len()
	if !l.shuffle {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rand.New(rand.NewPCG(l.seed, uint64(epoch))).Perm(n)
}

// Epoch returns the batches of one epoch as (batch number, batch) pairs.
// Breaking out of the loop stops the prefetching goroutine before Epoch's
// iterator returns. See Batch for how long a yielded batch stays valid.
func (l *Loader) Epoch(epoch int) iter.Seq2[int, *Batch] {
	return func(yield func(int, *Batch) bool) {
		order := l.Order(epoch)
		nb := l.Len()
		if len(order) == 0 {
			return
		}
		rng := rand.New(rand.NewPCG(l.seed^augSalt, uint64(epoch)))
		ss := l.set.SampleSize()
		free := make(chan *Batch, 2)
		for range 2 {
			free <- &Batch{X: make([]float32, l.batch*ss), Y: make([]int32, l.batch), Index: make([]int, l.batch)}
		}
		ready := make(chan *Batch) // unbuffered: the producer holds at most one batch
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(ready)
			for k := range nb {
				var b *Batch
				select {
				case b = <-free:
				case <-stop:
					return
				}
				l.fill(b, order[k*l.batch:min((k+1)*l.batch, len(order))], rng)
				select {
				case ready <- b:
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			<-done
		}()
		k := 0
		for b := range ready {
			if !yield(k, b) {
				return
			}
			free <- b
			k++
		}
	}
}

// fill gathers the samples idx into b, augmenting them.
func (l *Loader) fill(b *Batch, idx []int, rng *rand.Rand) {
	s := l.set
	ss := s.SampleSize()
	b.N = len(idx)
	b.X, b.Y, b.Index = b.X[:b.N*ss], b.Y[:b.N], b.Index[:b.N]
	copy(b.Index, idx)
	for k, i := range idx {
		b.Y[k] = int32(s.Labels[i])
		dst := b.X[k*ss : (k+1)*ss]
		p := l.aug.CropPad
		if p == 0 && !l.aug.FlipH {
			s.Image(i, dst)
			continue
		}
		dy, dx, flip := 0, 0, false
		if p > 0 {
			dy, dx = rng.IntN(2*p+1)-p, rng.IntN(2*p+1)-p
		}
		if l.aug.FlipH {
			flip = rng.IntN(2) == 1
		}
		if s.Float != nil {
			augmentFloat(s.Float[i*ss:(i+1)*ss], dst, s.C, s.H, s.W, dy, dx, flip)
		} else {
			augment(s.Pix[i*ss:(i+1)*ss], dst, s.C, s.H, s.W, dy, dx, flip)
		}
	}
}

// augmentFloat is augment for a Float set: the values are copied as they
// are (zero outside).
func augmentFloat(src, dst []float32, c, h, w, dy, dx int, flip bool) {
	for ch := range c {
		for y := range h {
			row := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			sy := y + dy
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			srow := src[(ch*h+sy)*w : (ch*h+sy+1)*w]
			for x := range w {
				sx := x + dx
				if flip {
					sx = w - 1 - x + dx
				}
				if sx < 0 || sx >= w {
					row[x] = 0
				} else {
					row[x] = srow[sx]
				}
			}
		}
	}
}

// augment writes src (C×H×W bytes) to dst as x/255, shifted so that
// dst(y, x) = src(y+dy, x+dx) (zero outside), then mirrored if flip.
func augment(src []uint8, dst []float32, c, h, w, dy, dx int, flip bool) {
	for ch := range c {
		for y := range h {
			row := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			sy := y + dy
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			srow := src[(ch*h+sy)*w : (ch*h+sy+1)*w]
			for x := range w {
				sx := x + dx
				if flip {
					sx = w - 1 - x + dx
				}
				if sx < 0 || sx >= w {
					row[x] = 0
				} else {
					row[x] = scale[srow[sx]]
				}
			}
		}
	}
}
