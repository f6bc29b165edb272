package train

import (
	"fmt"

	"github.com/quartz-snn/quartz/nn"
)

// average is the running mean of the network's parameters over the epochs
// that stochastic weight averaging has taken so far: mean[i] for
// net.Params()[i], over n epochs.
type average struct {
	n    int
	mean [][]float32
}

// add takes the parameters' current values into the mean:
// mean += (value − mean)/n, in float32. Stored and restored as it is, the
// mean makes a resumed run continue bit-identically.
func (a *average) add(ps []*nn.Param) {
	if a.n == 0 {
		a.mean = make([][]float32, len(ps))
		for i, p := range ps {
			a.mean[i] = make([]float32, len(p.Data))
		}
	}
	a.n++
	k := 1 / float32(a.n)
	for i, p := range ps {
		m := a.mean[i][:len(p.Data)]
		for j, v := range p.Data {
			m[j] += (v - m[j]) * k
		}
	}
}

// apply sets the parameters to the mean.
func (a *average) apply(ps []*nn.Param) {
	for i, p := range ps {
		copy(p.Data, a.mean[i])
	}
}

// check reports whether the mean fits ps.
func (a *average) check(ps []*nn.Param) error {
	if a.n == 0 {
		return nil
	}
	if len(a.mean) != len(ps) {
		return fmt.Errorf("weight average of %d tensors for %d parameters", len(a.mean), len(ps))
	}
	for i, p := range ps {
		if len(a.mean[i]) != len(p.Data) {
			return fmt.Errorf("weight average tensor %d has %d values, parameter %s has %d", i, len(a.mean[i]), p.Name, len(p.Data))
		}
	}
	return nil
}
