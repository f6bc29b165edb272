package pipeline_test

import (
	"context"
	"fmt"
	"log"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/pipeline"
)

// stripes is a synthetic data set of 4×4 images: class 0 lights the left
// half, class 1 the right half, at varying brightness.
func stripes(n int) *dataset.Set {
	s := &dataset.Set{Name: "stripes", C: 1, H: 4, W: 4, Classes: []string{"left", "right"}}
	for i := range n {
		class := i % 2
		level := uint8(100 + 20*(i%7))
		for range 4 {
			for x := range 4 {
				v := uint8(10)
				if (x < 2) == (class == 0) {
					v = level
				}
				s.Pix = append(s.Pix, v)
			}
		}
		s.Labels = append(s.Labels, uint8(class))
	}
	return s
}

// halvesModel is the model of ExampleConvert.
func halvesModel() *graph.Model {
	w1 := make([]float32, 2*16)
	for i := range 16 {
		if i%4 < 2 {
			w1[i] = 0.125
		} else {
			w1[16+i] = 0.125
		}
	}
	return &graph.Model{Name: "halves", InputShape: []int{1, 4, 4}, Nodes: []*graph.Node{
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc1", Op: graph.Linear, W: w1, B: []float32{0, 0}, WShape: []int{2, 16}},
		{Name: "relu1", Op: graph.ReLU},
		{Name: "fc2", Op: graph.Linear, W: []float32{1, -1, -1, 1}, B: []float32{0, 0}, WShape: []int{2, 2}},
	}}
}

// EvaluatePart tallies slices of the test set (shards); MergeParts sums
// them into the Result of the whole set, the same bits as Evaluate but for
// the wall times.
func ExampleMergeParts() {
	ctx := context.Background()
	conv, err := pipeline.Convert(ctx, halvesModel(), stripes(64), pipeline.Config{Tmax: 8, Percentile: 100, Calib: 16, CalibSeed: 1, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	test := stripes(20)
	var parts []*pipeline.Part
	for _, s := range [][2]int{{0, 7}, {7, 13}, {13, 20}} {
		t, err := pipeline.EvaluatePart(ctx, conv, test, s[0], s[1])
		if err != nil {
			log.Fatal(err)
		}
		parts = append(parts, &pipeline.Part{Lo: s[0], Hi: s[1], Base: pipeline.Base(conv, test), Layout: pipeline.LayoutOf(conv), Tally: *t})
	}
	merged, err := pipeline.MergeParts(parts, false)
	if err != nil {
		log.Fatal(err)
	}
	whole, err := pipeline.Evaluate(ctx, conv, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("merged: %d samples, SNN %.0f %%, spikes %v, Ω %v\n", merged.Samples, merged.SNNAccuracy, merged.Spikes, merged.Omega)
	fmt.Printf("same as one pass: %v\n", merged.Spikes == whole.Spikes && merged.Omega == whole.Omega && merged.FirstSpike == whole.FirstSpike)
	_, err = pipeline.MergeParts(parts[:2], false)
	fmt.Println(err)
	// Output:
	// merged: 20 samples, SNN 100 %, spikes 3, Ω 74
	// same as one pass: true
	// samples [13, 20) are in no part
}

// Convert calibrates, normalizes and converts a model; Evaluate simulates
// the SNN beside the ANN and gathers the metrics.
func ExampleConvert() {
	// fc1 sums each half of the image; fc2 reads the two sums.
	w1 := make([]float32, 2*16)
	for i := range 16 {
		if i%4 < 2 {
			w1[i] = 0.125 // left half → neuron 0
		} else {
			w1[16+i] = 0.125 // right half → neuron 1
		}
	}
	m := &graph.Model{
		Name:       "halves",
		InputShape: []int{1, 4, 4},
		Nodes: []*graph.Node{
			{Name: "flatten", Op: graph.Flatten},
			{Name: "fc1", Op: graph.Linear, W: w1, B: []float32{0, 0}, WShape: []int{2, 16}},
			{Name: "relu1", Op: graph.ReLU},
			{Name: "fc2", Op: graph.Linear, W: []float32{1, -1, -1, 1}, B: []float32{0, 0}, WShape: []int{2, 2}},
		},
	}
	ctx := context.Background()
	cfg := pipeline.Config{Tmax: 8, Percentile: 100, Calib: 16, CalibSeed: 1, Workers: 1}
	conv, err := pipeline.Convert(ctx, m, stripes(64), cfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range conv.Norm.Layers {
		fmt.Printf("%s: P_l = %.4g\n", st.Name, st.Scale)
	}
	res, err := pipeline.Evaluate(ctx, conv, stripes(20))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ANN %.0f %%, SNN %.0f %% on %d samples, ties %.0f %%\n", *res.ANNAccuracy, res.SNNAccuracy, res.Samples, res.TieRate)
	fmt.Printf("neurons %d, spikes %.1f, Ω %.0f, first output spike at step %.1f\n", res.Neurons, res.Spikes, res.Omega, res.FirstSpike)
	for _, l := range res.Layers {
		fmt.Printf("%s %s %v: T %d, %.1f spikes, %.0f synaptic events\n", l.Name, l.Kind, l.Shape, l.T, l.Spikes, l.SynapticEvents)
	}
	// Output:
	// fc1: P_l = 0.8627
	// fc2: P_l = 0.8235
	// ANN 100 %, SNN 100 % on 20 samples, ties 0 %
	// neurons 4, spikes 3.0, Ω 74, first output spike at step 18.2
	// fc1 Linear [2]: T 8, 2.0 spikes, 36 synaptic events
	// fc2 Linear [2]: T 8, 1.0 spikes, 6 synaptic events
}
