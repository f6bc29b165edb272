package cli_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

// paddedModel is tinyModel with the usual PyTorch first conv: 3×3 with
// padding 1, so an input mean cannot be folded into its bias.
func paddedModel() *graph.Model {
	m := tinyModel(1, 28, 28)
	m.Name = "padded"
	m.Nodes[0].Pad = [4]int{1, 1, 1, 1}
	const feat = 4 * 14 * 14
	r := rand.New(rand.NewPCG(3, 4))
	fc := m.Nodes[4]
	fc.WShape = []int{10, feat}
	fc.W = make([]float32, 10*feat)
	for i := range fc.W {
		fc.W[i] = 0.1 * (2*r.Float32() - 1)
	}
	return m
}

// TestInputMeanPaddedConv: quartz eval and convert of a model trained on
// standardized inputs whose first conv zero-pads. With --analog-first=false
// the mean cannot be folded exactly and the one-line error says so; by
// default (auto) and with --analog-first the transform runs as the analog
// layer's input step, the default saying so in a note: eval
// succeeds, the converted file holds the transform (in_scale, in_shift:
// 1/std and −mean/std), and eval --snn of that file gives the same result as
// eval --model.
func TestInputMeanPaddedConv(t *testing.T) {
	dir := t.TempDir()
	om, err := onnx.FromGraph(paddedModel())
	if err != nil {
		t.Fatal(err)
	}
	model := writeONNX(t, dir, "padded.onnx", om)
	data := randomMNISTDir(t, 20, 5)
	pre := []string{"--input-mean", "0.1307", "--input-std", "0.3081"}
	common := append([]string{"--data-dir", data, "--calib", "20", "--workers", "1", "--tmax", "8"}, pre...)
	snnPath := filepath.Join(dir, "padded.snn.json")

	// With --analog-first=false: the refusal, pointing at the fix.
	spiking := append(append([]string(nil), common...), "--analog-first=false")
	for _, args := range [][]string{
		append([]string{"eval", "--model", model}, spiking...),
		append([]string{"convert", "--model", model, "-o", snnPath}, spiking...),
	} {
		r := run(t, args...)
		for _, want := range []string{
			`padded.onnx: input preprocessing: layer "conv1" zero-pads its input (pads [1 1 1 1]):`,
			"input mean cannot be folded into a zero-padded first layer",
			"the standardized input (x·1 − mean)/std is negative wherever a pixel is below mean/scale",
			"drop --analog-first=false (an analog first layer computes the first layer in floating point on the standardized input, zero-padded as in training: exact)",
		} {
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("%v: want exit 1 and %q\n%v", args[0], want, r)
			}
		}
		if r.stdout != "" {
			t.Errorf("%v: want nothing on stdout\n%v", args[0], r)
		}
		// What, why and the fix on lines a terminal shows whole.
		for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > 180 {
				t.Errorf("%v: a line of %d characters: %q", args[0], n, line)
			}
		}
	}
	mustNotExist(t, snnPath)

	// By default: the analog first layer is chosen, with a note.
	r0 := run(t, append([]string{"eval", "--model", model}, common...)...)
	if r0.code != 0 || !strings.Contains(r0.stderr, `note: the model standardizes its input (node "preprocess") before a zero-padded first layer`) {
		t.Errorf("eval without --analog-first: want success and the automatic analog-first note\n%v", r0)
	}

	// With --analog-first: exact, and it runs.
	analog := append(common, "--analog-first")
	direct := evalJSON(t, append([]string{"--model", model}, analog...)...)
	if direct["analog_first"] != true || direct["samples"] != 5.0 {
		t.Errorf("eval: analog_first %v samples %v", direct["analog_first"], direct["samples"])
	}
	layers, _ := direct["layers"].([]any)
	if len(layers) == 0 || layers[0].(map[string]any)["kind"] != "analog Conv" {
		t.Errorf("eval: first layer %v, want the analog conv", layers)
	}
	if acc, ok := direct["ann_accuracy"].(float64); !ok || acc < 0 {
		t.Errorf("eval: ann_accuracy %v", direct["ann_accuracy"])
	}

	r := run(t, append([]string{"convert", "--model", model, "-o", snnPath}, analog...)...)
	if r.code != 0 {
		t.Fatalf("convert --analog-first: %v", r)
	}
	b, err := os.ReadFile(snnPath)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Network struct {
			Layers []struct {
				Analog  bool      `json:"analog"`
				InScale []float32 `json:"in_scale"`
				InShift []float32 `json:"in_shift"`
			} `json:"layers"`
		} `json:"network"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	// float32(1/std) and float32(−mean/std), within float32 rounding.
	l0 := f.Network.Layers[0]
	scale, shift := 1/0.3081, -0.1307/0.3081
	if !l0.Analog || len(l0.InScale) != 1 || len(l0.InShift) != 1 ||
		math.Abs(float64(l0.InScale[0])-scale) > 1e-6 || math.Abs(float64(l0.InShift[0])-shift) > 1e-6 {
		t.Errorf("converted layer 0: analog %v in_scale %v in_shift %v; want true [%v] [%v]", l0.Analog, l0.InScale, l0.InShift, scale, shift)
	}
	for _, l := range f.Network.Layers[1:] {
		if l.InScale != nil || l.InShift != nil {
			t.Error("a spiking layer has an input transform")
		}
	}

	// eval --snn reads the transform back: same SNN, same counts; with
	// --model (and the same flags) the same ANN too.
	fromFile := evalJSON(t, append([]string{"--snn", snnPath, "--model", model, "--data-dir", data, "--workers", "1"}, pre...)...)
	volatile := func(k string) bool { return k == "model" || strings.HasPrefix(k, "seconds") }
	dropKeys(direct, volatile)
	dropKeys(fromFile, volatile)
	if d := jsonDiff(direct, fromFile); d != "" {
		t.Errorf("eval --snn --model differs from eval --model (-model +snn):\n%s", d)
	}
}
