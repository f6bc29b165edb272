package dataset_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/dataset"
)

// writeDigit writes a 4×4 grayscale PNG filled with v to dir/class/name.
func writeDigit(dir, class, name string, v uint8) {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, class, name), b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// Open reads a folder of class sub-folders; "mnist", "cifar10" and the
// other specs work the same way. Samples come round-robin over the classes.
func Example() {
	dir, err := os.MkdirTemp("", "dataset-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	writeDigit(dir, "test/cat", "a.png", 255)
	writeDigit(dir, "test/cat", "b.png", 51)
	writeDigit(dir, "test/dog", "a.png", 0)
	writeDigit(dir, "train/cat", "a.png", 0) // both splits must have the same classes
	writeDigit(dir, "train/dog", "a.png", 0)

	s, err := dataset.Open("folder:"+dir, dataset.Options{Split: "test"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Len(), "samples of", s.C, "×", s.H, "×", s.W, "classes", s.Classes)
	fmt.Println("labels", s.Labels)
	x := make([]float32, s.SampleSize())
	s.Image(2, x)
	fmt.Println("sample 2 pixel 0:", x[0])
	// Output:
	// 3 samples of 1 × 4 × 4 classes [cat dog]
	// labels [0 1 0]
	// sample 2 pixel 0: 0.2
}

func ExampleLoader_Epoch() {
	s := &dataset.Set{Name: "toy", C: 1, H: 1, W: 1, Classes: []string{"even", "odd"}}
	for i := range 5 {
		s.Pix = append(s.Pix, uint8(51*i))
		s.Labels = append(s.Labels, uint8(i%2))
	}
	l := dataset.NewLoader(s, 2, false, 1, dataset.Augment{})
	for k, b := range l.Epoch(0) {
		// b is reused after this iteration: copy what must outlive it.
		fmt.Println("batch", k, "N", b.N, "X", b.X, "Y", b.Y)
	}
	// Output:
	// batch 0 N 2 X [0 0.2] Y [0 1]
	// batch 1 N 2 X [0.4 0.6] Y [0 1]
	// batch 2 N 1 X [0.8] Y [0]
}
