package snn

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/dataset"
)

func BenchmarkZZMNIST(b *testing.B) {
	raw, err := os.ReadFile("/tmp/lenet-snn.json")
	if err != nil {
		b.Skip(err)
	}
	var f struct {
		Network *Network `json:"network"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	ds, err := dataset.Open("mnist", dataset.Options{Split: "test"})
	if err != nil {
		b.Fatal(err)
	}
	n := ds.Len()
	x := make([]float32, n*784)
	for i := 0; i < n; i++ {
		ds.Image(i, x[i*784:(i+1)*784])
	}
	for _, workers := range []int{1, 2} {
		s, err := NewSim(f.Network, workers)
		if err != nil {
			b.Fatal(err)
		}
		var res *Summary
		b.Run("workers="+string(rune('0'+workers)), func(b *testing.B) {
			start, cpu0 := time.Now(), cpuTime()
			it := 0
			for b.Loop() {
				res, _ = s.Evaluate(x, n, nil)
				it++
			}
			b.ReportMetric(time.Since(start).Seconds()/float64(it), "s/10k")
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(it*n), "cpu-µs/sample")
			t := res.Total()
			b.ReportMetric(float64(t.CurrentUpdates), "cu")
		})
	}
}

func TestZZLayerTimes(t *testing.T) {
	raw, err := os.ReadFile("/tmp/lenet-snn.json")
	if err != nil {
		t.Skip(err)
	}
	var f struct {
		Network *Network `json:"network"`
	}
	json.Unmarshal(raw, &f)
	ds, _ := dataset.Open("mnist", dataset.Options{Split: "test"})
	n := 2000
	x := make([]float32, 784)
	s, _ := NewSim(f.Network, 1)
	w := s.NewWorker()
	var r SampleResult
	tl := make([]time.Duration, len(s.plans))
	for rep := 0; rep < 3; rep++ {
		for i := 0; i < n; i++ {
			ds.Image(i, x)
			r.reset(s.net)
			w.enc.encode(x, &r)
			prev := r.Input
			for li, p := range s.plans {
				t0 := time.Now()
				out, st := r.Times[li], &r.Stats[li]
				if p.l.Kind == MaxPool {
					w.relay(p, prev, out, st)
				} else {
					w.spiking(p, prev, out, st)
				}
				tl[li] += time.Since(t0)
				prev = out
			}
		}
	}
	for li, p := range s.plans {
		t.Logf("%s: %.1f µs/sample", p.l.Name, float64(tl[li].Microseconds())/float64(3*n))
	}
}
