package ratecode_test

import (
	"fmt"

	"github.com/quartz-snn/quartz/ratecode"
)

func ExampleSim_Run() {
	// twoLayer: pixels (1, 1) give the hidden neuron a current of 0.75.
	s, err := ratecode.New(twoLayer(), ratecode.Config{Steps: 100})
	if err != nil {
		panic(err)
	}
	tr, _ := s.Run([]float32{1, 1})
	fmt.Println("hidden spikes:", tr.Counts[0], "output potential:", tr.Potential, "class:", tr.Class)
	// Output: hidden spikes: [75] output potential: [75 -25] class: 0
}

func ExampleSim_Evaluate() {
	// Three samples: hidden currents 0.75, 0.1 and 0 (class 0, 0, 1). After
	// one step no neuron has fired and output 1's bias (0.5) wins.
	s, _ := ratecode.New(twoLayer(), ratecode.Config{Steps: 40, Checkpoints: []int{1, 10}, Workers: 2})
	sum, _ := s.Evaluate([]float32{1, 1, 0.2, 0, 0, 0}, 3, []int32{0, 0, 1})
	nu, _ := s.Neurons()
	for _, c := range sum.Checkpoints {
		sigma := float64(c.SynEvents) / 3
		fmt.Printf("%d steps: %d/3 correct, σ %.1f, Ω-eq %.1f per sample\n", c.Steps, c.Correct, sigma, sigma+float64(nu*c.Steps))
	}
	// Output:
	// 1 steps: 1/3 correct, σ 0.0, Ω-eq 3.0 per sample
	// 10 steps: 2/3 correct, σ 5.3, Ω-eq 35.3 per sample
	// 40 steps: 2/3 correct, σ 22.7, Ω-eq 142.7 per sample
}
