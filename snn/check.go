package snn

import (
	"context"
	"fmt"
)

// OracleCheck compares the fast simulator with the time-stepped Oracle on
// the same samples (SPEC §6). With arbitrary float weights the two may
// disagree where a membrane potential lies within float rounding of the
// threshold, since they add the same weights in a different order; a
// disagreement then propagates to the neurons downstream.
type OracleCheck struct {
	Samples    int     `json:"samples"`
	SpikeTimes int64   `json:"spike_times"`  // spike times compared (every neuron of every layer, per sample)
	Differ     int64   `json:"differ"`       // of which differ
	LayerDiff  []int64 `json:"layer_differ"` // per Network layer (an analog layer compares its outputs)
	Classes    int     `json:"class_differ"` // samples whose class differs
	// SamplesDiffer counts samples with at least one differing spike time.
	SamplesDiffer int `json:"samples_differ"`
}

// CheckOracle simulates samples 0..nSamples−1 of x with both simulators,
// one sample at a time (the oracle holds every synapse explicitly: it is
// slow and large), and counts the differences. ctx stops it between
// samples; progress, if not nil, is called after each sample.
func CheckOracle(ctx context.Context, n *Network, x []float32, nSamples int, progress func()) (*OracleCheck, error) {
	sim, err := NewSim(n, 1)
	if err != nil {
		return nil, err
	}
	o, err := NewOracle(n)
	if err != nil {
		return nil, err
	}
	in := sim.inSize
	if nSamples < 0 || len(x) < nSamples*in {
		return nil, fmt.Errorf("snn: %d values hold fewer than %d samples of %d", len(x), nSamples, in)
	}
	c := &OracleCheck{Samples: nSamples, LayerDiff: make([]int64, len(n.Layers))}
	w := sim.NewWorker()
	var rs, ro SampleResult
	for i := range nSamples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		xi := x[i*in : (i+1)*in]
		if err := w.Simulate(xi, &rs); err != nil {
			return nil, err
		}
		if err := o.Simulate(xi, &ro); err != nil {
			return nil, err
		}
		before := c.Differ
		for li := range ro.Times {
			a, b := ro.Times[li], rs.Times[li]
			if n.Layers[li].Analog {
				// The analog layer's outputs are the input spikes.
				a, b = ro.Input, rs.Input
			}
			c.SpikeTimes += int64(len(a))
			for j := range a {
				if a[j] != b[j] {
					c.Differ++
					c.LayerDiff[li]++
				}
			}
		}
		if c.Differ > before {
			c.SamplesDiffer++
		}
		if ro.Class != rs.Class {
			c.Classes++
		}
		if progress != nil {
			progress()
		}
	}
	return c, nil
}
