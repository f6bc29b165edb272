package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// LeNet-5 convolution shapes at batch 64.
var lenetConvs = []struct {
	name string
	c    convCase
}{
	{"conv1", convCase{64, 1, 28, 28, 6, 5, 5, 1, 1, [4]int{}, 1, 1, 1, true}},
	{"conv2", convCase{64, 6, 12, 12, 12, 5, 5, 1, 1, [4]int{}, 1, 1, 1, true}},
	{"conv3", convCase{64, 12, 4, 4, 120, 4, 4, 1, 1, [4]int{}, 1, 1, 1, true}},
}

// MobileNet-like depthwise 3×3 pad-1 convolutions at batch 64.
var dwConvs = []struct {
	name string
	c    convCase
}{
	{"dw64s1", convCase{64, 64, 16, 16, 64, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, 1, 1, 64, false}},
	{"dw64s2", convCase{64, 64, 16, 16, 64, 3, 3, 2, 2, [4]int{1, 1, 1, 1}, 1, 1, 64, false}},
}

func benchConv(b *testing.B, backward bool) {
	benchConvs(b, lenetConvs, backward)
}

func benchConvs(b *testing.B, convs []struct {
	name string
	c    convCase
}, backward bool) {
	for _, lc := range convs {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/w%d", lc.name, workers), func(b *testing.B) {
				c := lc.c
				m := model(b, []int{c.cin, c.h, c.w}, c.layer())
				net, err := New(m, workers)
				if err != nil {
					b.Fatal(err)
				}
				defer net.Close()
				net.inputGrad = true // dX as for a layer that is not first
				x := randVec(rand.New(rand.NewPCG(1, 2)), c.n*c.cin*c.h*c.w, 1)
				y := net.Forward(x, c.n, true)
				dy := append([]float32(nil), y...)
				l := m.Nodes[0]
				b.ResetTimer()
				cpu0 := cpuTime()
				for b.Loop() {
					if backward {
						net.Backward(dy)
					} else {
						net.Forward(x, c.n, true)
					}
				}
				macs := float64(l.MACs()) * float64(c.n)
				if backward {
					macs *= 2
				}
				b.ReportMetric(macs*2*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

func BenchmarkConvForward(b *testing.B)  { benchConv(b, false) }
func BenchmarkConvBackward(b *testing.B) { benchConv(b, true) }

func BenchmarkDepthwiseForward(b *testing.B)  { benchConvs(b, dwConvs, false) }
func BenchmarkDepthwiseBackward(b *testing.B) { benchConvs(b, dwConvs, true) }

// BenchmarkMobileNetTrainStep is one SGD step of mobilenet-v1 at width 0.5
// on 3×32×32 at batch 128; s/epoch extrapolates to 391 steps (50,000
// images).
func BenchmarkMobileNetTrainStep(b *testing.B) { benchCIFARStep(b, "mobilenet-v1", 0.5) }

// BenchmarkVGG11TrainStep is one SGD step of vgg11 at widths 0.25 and 0.5,
// batch 128 on 3×32×32, extrapolated to a 391-step epoch like the
// MobileNet benchmark.
func BenchmarkVGG11TrainStep(b *testing.B) {
	for _, width := range []float64{0.25, 0.5, 1} {
		b.Run(fmt.Sprintf("width%g", width), func(b *testing.B) { benchCIFARStep(b, "vgg11", width) })
	}
}

func benchCIFARStep(b *testing.B, model string, width float64) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("w%d", workers), func(b *testing.B) {
			m, err := Zoo(model, []int{3, 32, 32}, 10, width)
			if err != nil {
				b.Fatal(err)
			}
			net, err := New(m, workers)
			if err != nil {
				b.Fatal(err)
			}
			defer net.Close()
			const n = 128
			x, lab := randomBatch(n, 3*32*32, 10, 1)
			dl := make([]float32, n*10)
			opt := &SGD{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}
			step := func() {
				net.ZeroGrad()
				out := net.Forward(x, n, true)
				SoftmaxCrossEntropy(out, lab, n, dl)
				net.Backward(dl)
				opt.Step(net)
			}
			step() // buffers
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				step()
			}
			ms := b.Elapsed().Seconds() * 1e3 / float64(b.N)
			cpuMs := float64(cpuTime()-cpu0) / 1e6 / float64(b.N)
			b.ReportMetric(ms, "ms/step")
			b.ReportMetric(ms*391/1e3, "s/epoch")
			b.ReportMetric(cpuMs, "cpu-ms/step")
			b.ReportMetric(cpuMs*391/1e3/float64(workers), "cpu-s/epoch/worker")
		})
	}
}

// BenchmarkLeNetTrainStep is one SGD step (forward, loss, backward, update)
// of LeNet-5 at batch 64; s/epoch extrapolates to 938 steps (60,000 images).
func BenchmarkLeNetTrainStep(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("w%d", workers), func(b *testing.B) {
			m, _ := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
			net, err := New(m, workers)
			if err != nil {
				b.Fatal(err)
			}
			defer net.Close()
			const n = 64
			x, lab := randomBatch(n, 784, 10, 1)
			dl := make([]float32, n*10)
			opt := &SGD{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}
			cpu0 := cpuTime()
			for b.Loop() {
				net.ZeroGrad()
				out := net.Forward(x, n, true)
				SoftmaxCrossEntropy(out, lab, n, dl)
				net.Backward(dl)
				opt.Step(net)
			}
			ms := b.Elapsed().Seconds() * 1e3 / float64(b.N)
			b.ReportMetric(ms, "ms/step")
			b.ReportMetric(ms*938/1e3, "s/epoch")
			// CPU time per step: on a loaded machine, cpu-ms/step ÷ workers
			// estimates the wall time the step would take uncontended.
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/step")
		})
	}
}

// BenchmarkLeNetPredict classifies 10,000 28×28 images (Predict runs them
// PredictBatch at a time).
func BenchmarkLeNetPredict(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("w%d", workers), func(b *testing.B) {
			m, _ := Zoo("lenet5", []int{1, 28, 28}, 10, 1)
			net, err := New(m, workers)
			if err != nil {
				b.Fatal(err)
			}
			defer net.Close()
			const n = 10000
			x, _ := randomBatch(n, 784, 10, 1)
			cpu0 := cpuTime()
			for b.Loop() {
				net.Predict(x, n)
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(n/s, "images/s")
			b.ReportMetric(s, "s/10k")
			b.ReportMetric(float64(cpuTime()-cpu0)/1e9/float64(b.N), "cpu-s/10k")
		})
	}
}

// BenchmarkPredictVGG11 runs Predict on 256 CIFAR-shaped images
// (-benchmem: the bytes allocated by New and the first Predict, per op).
func BenchmarkPredictVGG11(b *testing.B) {
	for _, width := range []float64{0.25, 1} {
		b.Run(fmt.Sprintf("w%v", width), func(b *testing.B) {
			m, err := Zoo("vgg11", []int{3, 32, 32}, 10, width)
			if err != nil {
				b.Fatal(err)
			}
			Init(m, 1)
			x := make([]float32, PredictBatch*3*32*32)
			for i := range x {
				x[i] = float32(i%13) / 13
			}
			b.ReportAllocs()
			for b.Loop() {
				net, err := New(m, 2)
				if err != nil {
					b.Fatal(err)
				}
				net.Predict(x, PredictBatch)
				net.Close()
			}
		})
	}
}
