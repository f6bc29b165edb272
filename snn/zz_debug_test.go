package snn
import ("testing")
func TestZZFlag(t *testing.T) {
	x := randomPixels(100, 2)
	n, _ := Convert(lenetModel(1), Config{Tmax: 16})
	s, _ := NewSim(n, 1)
	w := s.NewWorker()
	var r SampleResult
	per := make([]int64, len(n.Layers)); early := make([]int64, len(n.Layers))
	for i := 0; i < 100; i++ {
		w.Simulate(x[i*784:(i+1)*784], &r)
		for li := range n.Layers { early[li] += r.Stats[li].Early }
	}
	_ = per
	t.Log(early, w.scans, w.scanL)
	// per layer flagged via bound
	for li, l := range n.Layers { t.Log(li, l.Kind, l.Size()) }
}
