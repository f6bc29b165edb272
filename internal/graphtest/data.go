package graphtest

import (
	"math/rand/v2"

	"github.com/quartz-snn/quartz/dataset"
)

// Quadrants is n images of 1×12×12 in 4 classes: class k has its k-th
// quadrant brighter than the noise around it. Every pixel is noise in
// [0, noise); those of the bright quadrant add boost plus up to jitter.
// Low contrast (a small boost against the noise) makes a short window lose
// information.
func Quadrants(n int, seed uint64, noise, boost, jitter int) *dataset.Set {
	r := rand.New(rand.NewPCG(seed, 9))
	s := &dataset.Set{Name: "quadrants", C: 1, H: 12, W: 12, Classes: []string{"tl", "tr", "bl", "br"}}
	for i := range n {
		k := i % 4
		for y := range 12 {
			for x := range 12 {
				v := r.IntN(noise)
				if (y < 6) == (k < 2) && (x < 6) == (k%2 == 0) {
					v += boost + r.IntN(jitter)
				}
				s.Pix = append(s.Pix, uint8(v))
			}
		}
		s.Labels = append(s.Labels, uint8(k))
	}
	return s
}
