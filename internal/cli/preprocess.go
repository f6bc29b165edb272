package cli

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
)

// preprocFlags are --input-scale, --input-mean and --input-std: the input
// transform x' = (x·scale − mean)/std the model was trained with, where x
// is a loader pixel in [0, 1]. apply folds it into the first layer, or,
// where that is not exact (a mean before a zero-padded first conv) and the
// first layer is analog, keeps it as an explicit input step.
//
// Callers that also have --analog-first set analogFirst before apply: with
// it an unfoldable mean becomes that input step, without it an error that
// says --analog-first is needed.
type preprocFlags struct {
	scale       float64
	mean, std   string
	analogFirst bool
	output      string // --output: the graph output to use
}

// analogFlag is --analog-first: unset means automatic (an analog first
// layer exactly where the model's input transform cannot be folded into a
// spiking one), true or false forces it.
type analogFlag struct{ set, on bool }

func (a *analogFlag) String() string {
	if a == nil || !a.set {
		return "auto"
	}
	return strconv.FormatBool(a.on)
}

func (a *analogFlag) Set(s string) error {
	if s == "auto" {
		a.set, a.on = false, false
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or auto")
	}
	a.set, a.on = true, b
	return nil
}

func (a *analogFlag) IsBoolFlag() bool { return true }

// allows reports whether an unfoldable input transform may become an
// analog first layer (auto or true).
func (a *analogFlag) allows() bool { return !a.set || a.on }

// resolve returns whether m's first layer is analog, and a note when that
// was chosen automatically.
func (a *analogFlag) resolve(m *graph.Model) (bool, string) {
	if a.set {
		return a.on, ""
	}
	if k := m.InputTransform(); k >= 0 {
		return true, fmt.Sprintf("the model standardizes its input (node %q) before a zero-padded first layer, so the input can be negative: "+
			"the first layer runs analog (in floating point), as the paper does for CIFAR-10; --analog-first=false forces a spiking input layer", m.Nodes[k].Name)
	}
	return false, ""
}

const analogUsage = "compute the first layer in floating point (default auto: exactly when a standardized input cannot be folded into a zero-padded first conv; =false forces a spiking input layer)"

func (p *preprocFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.output, "output", "", "the model's graph output `NAME` to use when it has several (default: the class scores)")
	fs.Float64Var(&p.scale, "input-scale", 1, "multiply loader pixels in [0,1] by `S` first (255 for a model trained on 0–255 pixels)")
	fs.StringVar(&p.mean, "input-mean", "", "subtract per-channel `MEANS` after scaling, comma separated (torchvision ImageNet: 0.485,0.456,0.406)")
	fs.StringVar(&p.std, "input-std", "", "divide by per-channel `STDS` after the mean, comma separated (torchvision ImageNet: 0.229,0.224,0.225)")
}

// set reports whether any preprocessing flag differs from the identity.
func (p *preprocFlags) set() bool {
	return p.scale != 1 || strings.TrimSpace(p.mean) != "" || strings.TrimSpace(p.std) != ""
}

func parseFloats(flagName, s string) ([]float32, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []float32
	for i, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: value %d is not a number", flagName, s, i+1)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

// apply returns m with the transform folded into its first Conv or Linear
// layer (m itself when no flag is set). Where the fold would not be exact
// (graph.ErrPreprocessPadding) and analogFirst is set, it returns m with
// the transform as a graph.Affine first layer (graph.PrependPreprocess),
// which the analog first layer computes in floating point: exact.
func (p *preprocFlags) apply(m *graph.Model) (*graph.Model, error) {
	if !p.set() {
		return m, nil
	}
	if !(p.scale > 0) {
		return nil, fmt.Errorf("--input-scale %v: must be positive", p.scale)
	}
	mean, err := parseFloats("input-mean", p.mean)
	if err != nil {
		return nil, err
	}
	std, err := parseFloats("input-std", p.std)
	if err != nil {
		return nil, err
	}
	pp := graph.Preprocess{Scale: float32(p.scale), Mean: mean, Std: std}
	out, err := graph.FoldPreprocess(m, pp)
	if errors.Is(err, graph.ErrPreprocessPadding) {
		if p.analogFirst {
			return graph.PrependPreprocess(m, pp)
		}
		why := ""
		if pp.Negative() {
			why = fmt.Sprintf("; unfolded, the standardized input (x·%g − mean)/std is negative wherever a pixel is below mean/scale, "+
				"and a spiking input layer encodes only non-negative values as spike times", p.scale)
		}
		return nil, fmt.Errorf("%w%s: drop --analog-first=false (an analog first layer computes the first layer in floating point on the standardized input, "+
			"zero-padded as in training: exact), or re-export the model with the normalization inside it or with an unpadded first conv", err, why)
	}
	return out, err
}

// loadModel reads an ONNX model and folds the input preprocessing of pre
// (nil: none) into it.
func loadModel(path string, pre *preprocFlags) (*graph.Model, error) {
	var opt onnx.Options
	if pre != nil {
		opt.Output = pre.output
	}
	if err := checkModel(path); err != nil {
		return nil, err
	}
	m, _, err := onnx.LoadWith(path, opt)
	if err != nil {
		return nil, err
	}
	if err := checkNodes(path, m); err != nil {
		return nil, err
	}
	if pre == nil {
		return m, nil
	}
	if m, err = pre.apply(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// String describes the transform, for identifying a sweep's model.
func (p *preprocFlags) String() string {
	if !p.set() {
		return ""
	}
	return fmt.Sprintf("scale=%g mean=%s std=%s", p.scale, p.mean, p.std)
}

// checkNodes refuses a model of more than pipeline.MaxNodes nodes.
func checkNodes(path string, m *graph.Model) error {
	if len(m.Nodes) > pipeline.MaxNodes {
		return fmt.Errorf("%s: %d nodes, at most %d are supported", path, len(m.Nodes), pipeline.MaxNodes)
	}
	return nil
}
