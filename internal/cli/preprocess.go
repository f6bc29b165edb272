package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/train"
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
	preset      string // --input-preset: a named mean and std
	given       bool   // some --input-* flag was on the command line
	analogFirst bool
	output      string // --output: the graph output to use
}

// inputPresets are the mean and std of --input-preset: the values of the
// usual transforms.Normalize calls (torchvision's ImageNet statistics; the
// per-channel mean and std of the CIFAR-10 and MNIST training pixels).
var inputPresets = map[string][2]string{
	"mnist":    {"0.1307", "0.3081"},
	"cifar10":  {"0.4914,0.4822,0.4465", "0.2470,0.2435,0.2616"},
	"imagenet": {"0.485,0.456,0.406", "0.229,0.224,0.225"},
}

// presetNames lists the presets in the order they are tried.
var presetNames = []string{"mnist", "cifar10", "imagenet"}

// givenFloat is a float64 flag that records that it was set.
type givenFloat struct {
	v     *float64
	given *bool
}

func (g givenFloat) String() string {
	if g.v == nil {
		return "0"
	}
	return strconv.FormatFloat(*g.v, 'g', -1, 64)
}

func (g givenFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("want a number")
	}
	*g.v, *g.given = v, true
	return nil
}

// givenString is a string flag that records that it was set.
type givenString struct {
	v     *string
	given *bool
}

func (g givenString) String() string {
	if g.v == nil {
		return ""
	}
	return *g.v
}

func (g givenString) Set(s string) error {
	*g.v, *g.given = s, true
	return nil
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

// resolveData returns whether the first layer must be analog for the
// samples of s, and a note when so: float tensors (fed as they are) with
// values outside [0, 1], which a spiking input layer cannot encode as spike
// times. With --analog-first=false such data are an error.
func (a *analogFlag) resolveData(s *dataset.Set) (bool, string, error) {
	if s.Pixels() || (a.set && a.on) {
		return a.on, "", nil
	}
	lo, hi := float32(0), float32(1)
	for _, v := range s.Float {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo >= 0 && hi <= 1 {
		return false, "", nil
	}
	if a.set {
		return false, "", fmt.Errorf("the input tensors range over [%g, %g], but a spiking input layer (--analog-first=false) encodes only values in [0, 1] as spike times; "+
			"drop --analog-first=false (the first layer then runs in floating point on the tensors as they are: exact)", lo, hi)
	}
	return true, fmt.Sprintf("the input tensors range over [%g, %g], outside the [0, 1] a spiking input layer encodes: "+
		"the first layer runs analog (in floating point), as the paper does for CIFAR-10; the tensors are fed as they are", lo, hi), nil
}

const analogUsage = "compute the first layer in floating point (default auto: exactly when a standardized input cannot be folded into a zero-padded first conv; =false forces a spiking input layer)"

func (p *preprocFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.output, "output", "", "the model's graph output `NAME` to use when it has several (default: the class scores)")
	p.scale = 1
	fs.Var(givenFloat{&p.scale, &p.given}, "input-scale", "multiply loader pixels in [0,1] by `S` first (255 for a model trained on 0–255 pixels)")
	fs.Var(givenString{&p.mean, &p.given}, "input-mean", "subtract per-channel `MEANS` after scaling, comma separated (torchvision ImageNet: 0.485,0.456,0.406)")
	fs.Var(givenString{&p.std, &p.given}, "input-std", "divide by per-channel `STDS` after the mean, comma separated (torchvision ImageNet: 0.229,0.224,0.225)")
	fs.Var(givenString{&p.preset, &p.given}, "input-preset", "the `NAME`d transforms.Normalize of a model's training: mnist (mean 0.1307, std 0.3081), "+
		"cifar10 (0.4914,0.4822,0.4465 / 0.2470,0.2435,0.2616) or imagenet (0.485,0.456,0.406 / 0.229,0.224,0.225), after --input-scale")
}

// set reports whether any preprocessing flag differs from the identity.
func (p *preprocFlags) set() bool {
	return p.scale != 1 || strings.TrimSpace(p.mean) != "" || strings.TrimSpace(p.std) != "" || p.preset != ""
}

// meanStd returns the mean and std: --input-mean and --input-std, or
// those of --input-preset.
func (p *preprocFlags) meanStd() (mean, std string, err error) {
	if p.preset == "" {
		return p.mean, p.std, nil
	}
	v, ok := inputPresets[p.preset]
	if !ok {
		return "", "", fmt.Errorf("--input-preset %q: want mnist, cifar10 or imagenet", p.preset)
	}
	if strings.TrimSpace(p.mean) != "" || strings.TrimSpace(p.std) != "" {
		return "", "", fmt.Errorf("--input-preset %s: give either the preset or --input-mean/--input-std", p.preset)
	}
	return v[0], v[1], nil
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
	meanS, stdS, err := p.meanStd()
	if err != nil {
		return nil, err
	}
	mean, err := parseFloats("input-mean", meanS)
	if err != nil {
		return nil, err
	}
	std, err := parseFloats("input-std", stdS)
	if err != nil {
		return nil, err
	}
	pp := graph.Preprocess{Scale: float32(p.scale), Mean: mean, Std: std}
	out, err := graph.FoldPreprocess(m, pp)
	if errors.Is(err, graph.ErrPreprocessPadding) {
		if p.analogFirst {
			return graph.PrependPreprocess(m, pp)
		}
		return nil, paddingRefusal(err, pp, p.scale)
	}
	return out, err
}

// paddingRefusal is the error for an input mean that cannot be folded
// into a zero-padded first layer under --analog-first=false: what, why and
// the fix on short lines (a one-line message ran to 700 characters).
func paddingRefusal(err error, pp graph.Preprocess, scale float64) error {
	detail := strings.TrimSuffix(err.Error(), ": "+graph.ErrPreprocessPadding.Error())
	what, why, _ := strings.Cut(detail, ", and ")
	var b strings.Builder
	b.WriteString(what + ":\n  " + graph.ErrPreprocessPadding.Error() + ", and --analog-first=false rules out the analog first layer that computes it exactly")
	if why != "" {
		b.WriteString("\n  why: " + strings.Replace(why, ": folding", ":\n       folding", 1))
	}
	if pp.Negative() {
		fmt.Fprintf(&b, "\n  why: unfolded, the standardized input (x·%g − mean)/std is negative wherever a pixel is below mean/scale,"+
			"\n       and a spiking input layer encodes only non-negative values as spike times", scale)
	}
	b.WriteString("\n  fix: drop --analog-first=false (an analog first layer computes the first layer in floating point on the standardized input, zero-padded as in training: exact)," +
		"\n       or re-export the model with the normalization inside it or with an unpadded first conv")
	return &wrapped{msg: b.String(), err: err}
}

// wrapped is an error with its own message that still unwraps to err.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

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
	// Messages name the model by its file, not by the graph name the
	// exporter chose ("torch_jit", "main_graph").
	m.Name = filepath.Base(path)
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
	mean, std, _ := p.meanStd()
	return fmt.Sprintf("scale=%g mean=%s std=%s", p.scale, mean, std)
}

// checkNodes refuses a model of more than pipeline.MaxNodes nodes.
func checkNodes(path string, m *graph.Model) error {
	if len(m.Nodes) > pipeline.MaxNodes {
		return fmt.Errorf("%s: %d nodes, at most %d are supported", path, len(m.Nodes), pipeline.MaxNodes)
	}
	return nil
}

// Input check. A model trained on standardized inputs (transforms.Normalize)
// but run without the --input-* flags still runs, and scores far below its
// accuracy with no error: checkInput looks for that before the work.
const (
	// checkSamples is the number of training images the check scores each
	// convention on: a few hundred, so that the gaps it looks for (tens of
	// points) stand out, at about a second for LeNet-5.
	checkSamples = 300
	// checkMargin is the accuracy gain (percentage points) a convention
	// needs over the input as given before the check warns; it keeps
	// near-ties quiet (a ReLU network is positively homogeneous up to its
	// biases, so ×255 often scores close to the right mean and std).
	checkMargin = 5.0
	// checkAlpha is the largest exact McNemar p-value (paired on the same
	// images) at which the gain counts as real.
	checkAlpha = 0.001
)

// inputConvention is one input setting the check tries.
type inputConvention struct {
	flags string // the command-line flags, "" for the input as given
	pre   preprocFlags
}

// inputConventions returns the conventions the check tries on a model of c
// input channels: the input as given, ×255, and the presets of c channels.
func inputConventions(c int) []inputConvention {
	cs := []inputConvention{{flags: ""}, {flags: "--input-scale 255"}}
	cs[0].pre.scale, cs[1].pre.scale = 1, 255
	for _, name := range presetNames {
		if strings.Count(inputPresets[name][0], ",")+1 != c {
			continue
		}
		cs = append(cs, inputConvention{flags: "--input-preset " + name, pre: preprocFlags{scale: 1, preset: name}})
	}
	return cs
}

// checkInput scores the ANN m (as loaded, before any --input-* transform)
// on checkSamples training images of set with each input convention and
// returns a warning when one scores clearly better than the input as given:
// at least checkMargin points more, McNemar p < checkAlpha. It returns ""
// (checks nothing) when an --input-* flag was given, when the data are
// float tensors fed as they are or have no training split, when the
// model's graph standardizes its input itself, when the images are not
// of the model's input shape, or when the ANN pass would need more memory
// than maxMem (0: no limit). It never changes the input.
func (p *preprocFlags) checkInput(ctx context.Context, model string, m *graph.Model, set *dataset.Set, workers int, maxMem int64) (string, error) {
	if p.given || p.set() || !set.Pixels() || set.Unsplit() || m.InputTransform() >= 0 || set.Len() == 0 {
		return "", nil
	}
	if in := m.InputShape; len(in) != 3 || in[0] != set.C || in[1] != set.H || in[2] != set.W {
		return "", nil // the conversion reports the mismatch
	}
	n := min(checkSamples, set.Len())
	// Advisory: where the ANN pass would exceed --max-memory, skip it and
	// let the conversion report the limit.
	need := pipeline.EstimateEvaluate(m, set.Slice(0, n), workers) + int64(n)*int64(set.SampleSize())
	if pipeline.CheckMemory("the input check", need, maxMem) != nil {
		return "", nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i * set.Len() / n // spread over the split
	}
	sub, err := set.Subset(idx)
	if err != nil {
		return "", fmt.Errorf("input check: %w", err)
	}
	convs := inputConventions(m.InputShape[0])
	right := make([][]bool, len(convs))
	acc := make([]float64, len(convs))
	for k, c := range convs {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		c.pre.analogFirst = true // the ANN computes any transform exactly
		cm, err := c.pre.apply(m)
		if err != nil {
			return "", fmt.Errorf("input check %s: %w", c.flags, err)
		}
		net, err := nn.New(cm, workers)
		if err != nil {
			return "", fmt.Errorf("input check: %w", err)
		}
		pred := train.Predictions(net, sub)
		net.Close()
		right[k] = make([]bool, n)
		for i, y := range pred {
			if y == int32(sub.Labels[i]) {
				right[k][i] = true
				acc[k]++
			}
		}
		acc[k] *= 100 / float64(n)
	}
	best := 0
	for k := range convs {
		if acc[k] > acc[best] {
			best = k
		}
	}
	if best == 0 || acc[best]-acc[0] < checkMargin {
		return "", nil
	}
	var b, c int // discordant pairs: only the best right, only the input as given right
	for i := range n {
		switch {
		case right[best][i] && !right[0][i]:
			b++
		case right[0][i] && !right[best][i]:
			c++
		}
	}
	pv := pipeline.McNemarExact(b, c)
	if pv >= checkAlpha {
		return "", nil
	}
	var b2 strings.Builder
	fmt.Fprintf(&b2, "%s probably expects another input convention; its ANN on %d training images scores\n", filepath.Base(model), n)
	for k, c := range convs {
		what := c.flags
		if k == 0 {
			what = "the input as given (pixels in [0, 1])"
		}
		fmt.Fprintf(&b2, "  %5.1f %%  %s\n", acc[k], what)
	}
	fmt.Fprintf(&b2, "  %s is %.1f pp above the input as given (exact McNemar p = %.1g).\n", convs[best].flags, acc[best]-acc[0], pv)
	fmt.Fprintf(&b2, "  Rerun with the flags of the transform the model was trained with (the best here: %s).\n", convs[best].flags)
	b2.WriteString("  quartz never changes the input on its own; any --input-* flag (--input-scale 1: the input as given) skips this check")
	return b2.String(), nil
}
