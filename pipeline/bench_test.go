package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
)

// cifarJPEG is the CIFAR-10 archive of ../shared/data (absent on machines
// without the shared data; the benchmark then skips).
const cifarJPEG = "../../shared/data/cifar10-jpeg/cifar10-jpeg-q75.tar.gz"

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkCIFAR10 simulates the shipped CIFAR-10 networks (models/*.onnx)
// on the first 500 JPEG test images at Tmax 32 and extrapolates to the 10k
// test set (s/10k). Calibration uses 1,000 test images: the timing does not
// depend on it, and no accuracy is reported here.
func BenchmarkCIFAR10(b *testing.B) {
	if _, err := os.Stat(cifarJPEG); err != nil {
		b.Skipf("CIFAR-10 JPEG archive not available (%v)", err)
	}
	test, err := dataset.Open("cifar10:"+cifarJPEG, dataset.Options{Split: "test"})
	if err != nil {
		b.Fatal(err)
	}
	const samples = 500
	sub := test.Slice(0, samples)
	for _, name := range []string{"vgg11-w025", "vgg11-w05", "vgg11", "mobilenet-v1-w05"} {
		file := filepath.Join("..", "models", name+".onnx")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		m, err := onnx.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/T=32/w%d", name, workers), func(b *testing.B) {
				cfg := pipeline.Config{Tmax: 32, Percentile: 99.99, Calib: 1000, Workers: workers}
				c, err := pipeline.Convert(context.Background(), m, test, cfg)
				if err != nil {
					b.Fatal(err)
				}
				c.ANN = nil // time the SNN alone
				b.ResetTimer()
				start, cpu0, iters := time.Now(), cpuTime(), 0
				for b.Loop() {
					if _, err := pipeline.Evaluate(context.Background(), c, sub); err != nil {
						b.Fatal(err)
					}
					iters++
				}
				sec := time.Since(start).Seconds() / float64(iters*samples)
				b.ReportMetric(sec*10000, "s/10k")
				b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(iters*samples), "cpu-ms/sample")
			})
		}
	}
}
