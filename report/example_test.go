package report_test

import (
	"log"
	"os"

	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/report"
)

// Table1 sets a result beside the paper's MNIST row; report.Text writes the
// full report (see testdata/text.golden).
func ExampleTable1() {
	ann := 99.1
	res := &pipeline.Result{ANNAccuracy: &ann, SNNAccuracy: 99.04, Neurons: 4354, Spikes: 4346.7,
		FirstSpike: 68.5, Omega: 175546, Data: "mnist/test"}
	if err := report.Table1(os.Stdout, res); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Table 1 layout (error in %, Ω = σ + 2νT with σ = current updates):
	//                       ANN error  SNN error  neurons  spikes  time steps       Ω
	//    quartz (this run)       0.90       0.96     4.4k    4.3k          68  175.5k
	//   paper, LeNet-5 26k       0.75       0.80     4.4k    4.4k          50    177k
	// time steps: mean step of the first output spike.
}
