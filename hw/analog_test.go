package hw

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/snn"
)

// TestQuantizeRefusesAnalog: an analog first layer, with or without an
// input transform (--input-mean on a padded first conv), runs in floating
// point off-chip; Quantize (and so the emulator and the planner) refuses
// it with ErrUnsupported instead of mapping it as a spiking layer.
func TestQuantizeRefusesAnalog(t *testing.T) {
	m := &graph.Model{Name: "analog", InputShape: []int{2, 3, 3}, Nodes: []*graph.Node{
		{Name: "pre", Op: graph.Affine, Scale: []float32{4, 2}, Shift: []float32{-2, -0.5}},
		{Name: "conv", Op: graph.Conv, WShape: []int{1, 2, 3, 3}, W: make([]float32, 18), B: []float32{0.5},
			Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: [4]int{1, 1, 1, 1}, Dilation: [2]int{1, 1}, Group: 1},
		{Name: "relu", Op: graph.ReLU},
		{Name: "flatten", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, WShape: []int{2, 9}, W: make([]float32, 18), B: []float32{0, 0}},
	}}
	for _, withTransform := range []bool{false, true} {
		mm := m.Clone()
		if !withTransform {
			mm.Nodes = mm.Nodes[1:]
		}
		n, err := snn.Convert(mm, snn.Config{Tmax: 4, AnalogFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Quantize(n, Loihi1())
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `layer "conv": an analog first layer runs in floating point off-chip`) {
			t.Errorf("transform %v: Quantize: %v, want ErrUnsupported for the analog layer", withTransform, err)
		}
	}
}
