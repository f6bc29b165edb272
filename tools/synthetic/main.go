// Command synthetic writes an ImageNet-size stress case for the memory and
// calibration checks of docs/benchmarks.md: a zoo model with random
// weights at the given input size, as ONNX, and a folder data set of
// random images (train/ and test/, one folder per class) that quartz reads
// with --data folder:DIR.
//
//	go run ./tools/synthetic -o /tmp/syn -model vgg11 -size 224 -n 256
//
// Nothing is overwritten: the output folder must not exist yet.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

func main() {
	out := flag.String("o", "", "output folder (must not exist)")
	model := flag.String("model", "vgg11", "zoo model: "+fmt.Sprint(nn.ZooNames))
	size := flag.Int("size", 224, "input height and width")
	n := flag.Int("n", 256, "images per split")
	classes := flag.Int("classes", 1000, "model outputs")
	folders := flag.Int("folders", 10, "class folders of the data set (at most -classes)")
	seed := flag.Uint64("seed", 1, "seed of the weights and images")
	flag.Parse()
	if err := run(*out, *model, *size, *n, *classes, *folders, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "synthetic:", err)
		os.Exit(1)
	}
}

func run(out, model string, size, n, classes, folders int, seed uint64) error {
	if out == "" {
		return errors.New("-o is required")
	}
	if size < 8 || size > 1024 || n < 1 || n > 100000 || classes < 1 || folders < 1 || folders > classes {
		return fmt.Errorf("bad sizes: -size %d -n %d -classes %d -folders %d", size, n, classes, folders)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	m, err := nn.Zoo(model, []int{3, size, size}, classes, 1)
	if err != nil {
		return err
	}
	nn.Init(m, seed)
	m.Name = fmt.Sprintf("%s-%d-random", model, size)
	if err := onnx.WriteFile(filepath.Join(out, m.Name+".onnx"), m); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for _, split := range []string{"train", "test"} {
		for i := range n {
			dir := filepath.Join(out, split, fmt.Sprintf("c%03d", i%folders))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			// Smooth random images: a random colour per 8×8 block plus
			// noise, so that activations are not all alike.
			for y := range size {
				for x := range size {
					o := img.PixOffset(x, y)
					b := uint32((y/8)*31 + (x/8)*17 + i*7)
					for c := range 3 {
						v := int((b*uint32(c+3))%200) + rng.IntN(56)
						img.Pix[o+c] = uint8(v)
					}
					img.Pix[o+3] = 255
				}
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.png", i)))
			if err != nil {
				return err
			}
			err = png.Encode(f, img)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
	fmt.Printf("wrote %s/%s.onnx and %d images per split in %s/{train,test}\n", out, m.Name, n, out)
	return nil
}
