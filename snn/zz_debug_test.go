package snn
import ("testing";"time")
func TestZZLayers(t *testing.T) {
	x := randomPixels(256, 1)
	for _, T := range []int{16,64} {
	n, _ := Convert(lenetModel(1), Config{Tmax: T})
	s, _ := NewSim(n, 1)
	w := s.NewWorker()
	var r SampleResult
	w.Simulate(x[:784], &r)
	dur := make([]time.Duration, len(n.Layers))
	for it := 0; it < 2000; it++ {
		xs := x[it%256*784:(it%256+1)*784]
		r.reset(n); w.enc.encode(xs, &r)
		prev := r.Input
		for li, p := range s.plans {
			t0 := time.Now()
			if p.l.Kind == MaxPool { w.relay(p, prev, r.Times[li], &r.Stats[li]) } else { w.spiking(p, prev, r.Times[li], &r.Stats[li]) }
			dur[li] += time.Since(t0)
			prev = r.Times[li]
		}
	}
	for li := range dur { t.Log(T, n.Layers[li].Name, dur[li]/2000) }
	}
}
