package snn_test

import (
	"fmt"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
)

// The paper's Figure 1: y1 = max(0, x1 − x2), y2 = max(0, x2 − x1).
func figure1() *graph.Model {
	return &graph.Model{InputShape: []int{2, 1, 1}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 2}, W: []float32{1, -1, -1, 1}},
		{Name: "relu", Op: graph.ReLU},
	}}
}

func ExampleConvert() {
	n, err := snn.Convert(figure1(), snn.Config{Tmax: 4})
	if err != nil {
		panic(err)
	}
	l := n.Layers[0]
	fmt.Println(l.Kind, l.T, l.Theta, l.Counter, l.Rectify, l.Output)
	// Output: Linear 4 3.5 [1 1] true true
}

func ExampleWorker_Simulate() {
	n, _ := snn.Convert(figure1(), snn.Config{Tmax: 4})
	s, _ := snn.NewSim(n, 1)
	w := s.NewWorker()
	var r snn.SampleResult
	if err := w.Simulate([]float32{0.75, 0.25}, &r); err != nil {
		panic(err)
	}
	fmt.Println("input spikes:", r.Input)
	fmt.Println("output spikes:", r.Times[0], "class:", r.Class, "steps:", r.Steps)
	// Output:
	// input spikes: [1 3]
	// output spikes: [6 8] class: 0 steps: 9
}

func ExampleOracle_Simulate() {
	n, _ := snn.Convert(figure1(), snn.Config{Tmax: 4})
	o, _ := snn.NewOracle(n)
	var r snn.SampleResult
	o.Simulate([]float32{0.75, 0.25}, &r)
	fmt.Printf("%+v\n", r.Stats[0])
	// Output: {Spikes:2 SynEvents:4 BiasEvents:0 ReadoutEvents:2 RectifierEvents:2 CurrentUpdates:8 Early:0 Rectified:1 DelayedSynapses:0 DelaySteps:0}
}

func ExampleSim_Evaluate() {
	n, _ := snn.Convert(figure1(), snn.Config{Tmax: 4})
	s, _ := snn.NewSim(n, 2)
	x := []float32{0.75, 0.25, 0.25, 0.75, 0.5, 0.5}
	sum, _ := s.Evaluate(x, 3, []int32{0, 1, 0})
	fmt.Println("correct:", sum.Correct, "ties:", sum.Ties, "σ:", sum.Total().SynEvents)
	fmt.Println("Ω per sample:", n.Omega(float64(sum.Total().SynEvents)/float64(sum.Samples)))
	// Output:
	// correct: 3 ties: 1 σ: 12
	// Ω per sample: 20
}

func ExampleSim_Run() {
	n, _ := snn.Convert(figure1(), snn.Config{Tmax: 4})
	s, _ := snn.NewSim(n, 1)
	s.Run([]float32{0.75, 0.25, 0.25, 0.75}, 2, func(i int, r *snn.SampleResult) {
		fmt.Println(i, r.Class, r.FirstSpike)
	})
	// Output:
	// 0 0 6
	// 1 1 6
}

func ExampleNetwork_Validate() {
	n, _ := snn.Convert(figure1(), snn.Config{Tmax: 4})
	n.Layers[0].Counter[0] = 0
	fmt.Println(n.Validate())
	// Output: snn: layer 0 "fc" (Linear): counterweight[0] = 0, want 1 − b − Σw = 1
}
