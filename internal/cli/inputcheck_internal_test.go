package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/onnx"
)

// TestInputCheckSilentOnShipped runs the input check on every shipped
// model with its documented setting (all were trained by quartz on pixels
// in [0, 1], so: no --input-* flag) on the data it was trained on: the
// check must not warn. The CIFAR-10 models need ../shared/data; the full
// VGG-11s are skipped under -short.
func TestInputCheckSilentOnShipped(t *testing.T) {
	cifar := filepath.Join("..", "..", "..", "shared", "data", "cifar10-jpeg", "cifar10-jpeg-q75.tar.gz")
	for _, tc := range []struct {
		model, data string
		long        bool
	}{
		{"lenet5.onnx", "mnist", false},
		{"vgg11-w025.onnx", "cifar10:" + cifar, false},
		{"mobilenet-v1-w05.onnx", "cifar10:" + cifar, false},
		{"vgg11-w05.onnx", "cifar10:" + cifar, true},
		{"vgg11.onnx", "cifar10:" + cifar, true},
		{"vgg11-swa.onnx", "cifar10:" + cifar, true},
	} {
		t.Run(tc.model, func(t *testing.T) {
			if tc.data != "mnist" {
				if _, err := os.Stat(cifar); err != nil {
					t.Skipf("CIFAR-10 not available: %v", err)
				}
			}
			if tc.long && testing.Short() {
				t.Skip("-short")
			}
			path := filepath.Join("..", "..", "models", tc.model)
			m, _, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			d := dataFlags{spec: tc.data}
			set, err := d.calibSet(m)
			if err != nil {
				t.Fatal(err)
			}
			pre := preprocFlags{scale: 1}
			warn, err := pre.checkInput(context.Background(), path, m, set, 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			if warn != "" {
				t.Fatalf("warning on a shipped model with its documented flags:\n%s", warn)
			}
		})
	}
}

// TestInputCheckSkips checks when the input check stays out of the way:
// a flag given (even --input-scale 1), float tensors fed as they are.
func TestInputCheckSkips(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "normalized_mnist", "model.onnx")
	m, _, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	mnist, err := dataset.Open("mnist", dataset.Options{Split: "train", Limit: 400})
	if err != nil {
		t.Fatal(err)
	}
	tensors, err := dataset.Open("npz:"+filepath.Join("..", "..", "testdata", "normalized_mnist", "test.npz"), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pre  preprocFlags
		set  *dataset.Set
		warn bool
	}{
		{"no flag", preprocFlags{scale: 1}, mnist, true},
		{"--input-scale 1", preprocFlags{scale: 1, given: true}, mnist, false},
		{"--input-preset mnist", preprocFlags{scale: 1, preset: "mnist", given: true}, mnist, false},
		{"float tensors", preprocFlags{scale: 1}, tensors, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warn, err := tc.pre.checkInput(context.Background(), path, m, tc.set, 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			if (warn != "") != tc.warn {
				t.Fatalf("warning %q, want one: %v", warn, tc.warn)
			}
		})
	}
}
