package finetune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/snn"
	"github.com/quartz-snn/quartz/train"
)

// Metadata keys Run sets beside graph.MetaNormalized and graph.MetaTmax.
const (
	// MetaOutputScale is P_out, the output layer's normalization scale
	// (the logits' scale in the loss); a second fine-tune reuses it.
	MetaOutputScale = "quartz.output_scale"
	// MetaPercentile is the percentile (or per-layer list) the weights
	// were normalized at before fine-tuning.
	MetaPercentile = "quartz.percentile"
	// MetaEpochs is the number of fine-tuning epochs.
	MetaEpochs = "quartz.finetune_epochs"
)

// Names of the nodes Build and addFloatHead add; Strip removes every
// Quant node and every node named with ownPrefix.
const (
	quantPrefix = "quant:"
	ownPrefix   = "finetune:"
	scaleName   = ownPrefix + "output_scale"
)

// floatLevels is the level count of the float head's clip: rounding to
// 2⁻²⁴ is below float32 resolution at 1, so the node only clips.
const floatLevels = 1 << 24

// Build returns the fine-tuning network of c: c.Normalized with a
// graph.Quant node on the input and after every node that is a spiking or
// analog layer of c.SNN (see the package doc), and a final Affine that
// multiplies the output by scale. The weights are copies. c must be a
// chain converted with the Round threshold.
func Build(c *pipeline.Converted, scale float64) (*graph.Model, error) {
	nm, sn := c.Normalized, c.SNN
	if nm == nil || sn == nil || len(sn.Layers) == 0 {
		return nil, errors.New("finetune: the conversion has no normalized model or SNN")
	}
	if err := nm.CheckChain(); err != nil {
		return nil, fmt.Errorf("finetune: only chains are supported yet: %w", err)
	}
	if sn.Threshold != snn.Round {
		return nil, fmt.Errorf("finetune: threshold %v: only the round threshold (θ = T−½) is supported", sn.Threshold)
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("finetune: output scale %v: must be positive", scale)
	}
	m := nm.Clone()
	if err := m.InferShapes(); err != nil {
		return nil, err
	}
	type quant struct {
		levels int
		min    float32
	}
	after := map[string]quant{}
	for _, l := range sn.Layers {
		if l.TOut == 0 {
			continue // a relay (MaxPool): levels in, levels out
		}
		q := quant{levels: l.TOut, min: -math.MaxFloat32}
		if l.Rectify || l.Analog {
			q.min = 0
		}
		after[l.Name] = q
	}
	var nodes []*graph.Node
	add := func(l *graph.Node, in int) int {
		l.Inputs = []int{in}
		nodes = append(nodes, l)
		return len(nodes) - 1
	}
	at := make([]int, len(m.Nodes)) // new index of node i's value
	input := graph.ModelInput
	if !sn.Layers[0].Analog {
		input = add(&graph.Node{Name: quantPrefix + "input", Op: graph.Quant, Levels: sn.InputT(), Min: 0, Max: 1}, graph.ModelInput)
	}
	found := 0
	for i, l := range m.Nodes {
		in := input
		if j := m.InputsOf(i)[0]; j != graph.ModelInput {
			in = at[j]
		}
		at[i] = add(l, in)
		if q, ok := after[l.Name]; ok {
			found++
			at[i] = add(&graph.Node{Name: quantPrefix + l.Name, Op: graph.Quant, Levels: q.levels, Min: q.min, Max: 1}, at[i])
		}
	}
	if found != len(after) {
		return nil, fmt.Errorf("finetune: %d of the SNN's %d layers name no node of the normalized model", len(after)-found, len(after))
	}
	k := graph.Size(m.OutputShape())
	sc, sh := make([]float32, k), make([]float32, k)
	for i := range sc {
		sc[i] = float32(scale)
	}
	add(&graph.Node{Name: scaleName, Op: graph.Affine, Scale: sc, Shift: sh}, len(nodes)-1)
	m.Nodes = nodes
	if err := m.InferShapes(); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return m, nil
}

// Strip returns a copy of a Build network without the nodes Build added:
// the normalized network with the trained weights.
func Strip(m *graph.Model) (*graph.Model, error) {
	c := m.Clone()
	if err := c.InferShapes(); err != nil {
		return nil, err
	}
	at := make([]int, len(c.Nodes))
	var nodes []*graph.Node
	for i, l := range c.Nodes {
		ins := c.InputsOf(i)
		for k, j := range ins {
			if j != graph.ModelInput {
				ins[k] = at[j]
			}
		}
		if l.Op == graph.Quant || strings.HasPrefix(l.Name, ownPrefix) {
			at[i] = ins[0] // the Concat of two heads: the quantized one
			continue
		}
		l.Inputs = ins
		nodes = append(nodes, l)
		at[i] = len(nodes) - 1
	}
	if len(nodes) == 0 || at[len(at)-1] != len(nodes)-1 {
		return nil, errors.New("finetune: nothing left of the network after removing the fake quantization")
	}
	c.Nodes = nodes
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return c, nil
}

// addFloatHead adds to a Build network a second head beside the first: the
// output layer's values clipped at 1 (no rounding, the same one-sided
// gradient) times scale, and a Concat of both heads, so that the output is
// [quantized logits, clipped logits]. Its loss (runTwoHeads) keeps a margin
// between the classes before rounding, which the rounded head alone does
// not see once they fall into different levels.
func addFloatHead(m *graph.Model, scale float64) (*graph.Model, error) {
	m = m.Clone()
	last := len(m.Nodes) - 1
	qa := m.Nodes[last].Inputs[0] // the output Quant
	o := m.Nodes[qa].Inputs[0]    // the output layer
	k := graph.Size(m.OutputShape())
	sc, sh := make([]float32, k), make([]float32, k)
	for i := range sc {
		sc[i] = float32(scale)
	}
	m.Nodes = append(m.Nodes,
		&graph.Node{Name: ownPrefix + "float_clip", Op: graph.Quant, Levels: floatLevels, Min: -math.MaxFloat32, Max: 1, Inputs: []int{o}},
		&graph.Node{Name: ownPrefix + "float_scale", Op: graph.Affine, Scale: sc, Shift: sh, Inputs: []int{last + 1}},
		&graph.Node{Name: ownPrefix + "heads", Op: graph.Concat, Inputs: []int{last, last + 2}})
	if err := m.InferShapes(); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return m, nil
}

// OutputScale returns the scale of the loss's logits for c: a model
// fine-tuned before keeps the one it recorded (MetaOutputScale), else
// P_out, the output layer's normalization scale.
func OutputScale(c *pipeline.Converted) (float64, error) {
	if s := c.ANN.Metadata[MetaOutputScale]; c.ANN.Normalized() && s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("finetune: metadata %s = %q: want a positive number", MetaOutputScale, s)
		}
		return v, nil
	}
	if c.Norm == nil || len(c.Norm.Layers) == 0 {
		return 0, errors.New("finetune: the conversion has no normalization report")
	}
	return c.Norm.Layers[len(c.Norm.Layers)-1].Scale, nil
}

// Config sets up a fine-tuning run.
type Config struct {
	Train   train.Config // epochs, batch, optimizer, learning rate, seed, log
	Workers int          // goroutines (< 1: all CPUs)
	// Probe is how many training samples the saturation is measured on
	// before and after training (0: DefaultProbe).
	Probe int
	// FloatLoss, if positive, adds to the loss FloatLoss times the
	// cross-entropy of the output layer's values clipped at 1 without
	// rounding (addFloatHead), meant to keep a margin between the classes
	// so that fewer of them share the top level on unseen samples. On the
	// shipped LeNet it changed test accuracy by less than its noise
	// (docs/lowlatency.md).
	FloatLoss float64
	// LogitScale, if positive, replaces OutputScale as the factor between
	// the output layer's values and the loss's logits. A larger one makes
	// the loss of a sample decided by one level smaller, so that training
	// dwells on ties and errors (no gain on the shipped LeNet either).
	LogitScale float64
}

// DefaultProbe is Config.Probe's default.
const DefaultProbe = 2000

// Saturation is the fraction of one layer's values (before rounding)
// above 1 on the probe samples: neurons the SNN clips to 1 or, if their
// partial sums cross the threshold before all inputs arrive, fires early.
type Saturation struct {
	Layer  string  `json:"layer"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
}

// Result is what Run produced.
type Result struct {
	// Model is the fine-tuned normalized network, marked normalized
	// (graph.MetaNormalized) with its window, percentile and output scale
	// in its metadata.
	Model      *graph.Model
	Epochs     []train.Epoch
	Saturation []Saturation
	// ProbeAccBefore and ProbeAccAfter are the quantized network's
	// accuracy (%) on the probe samples (training data).
	ProbeAccBefore, ProbeAccAfter float64
	Seconds                       float64 // wall time of the training
}

// Run fine-tunes c's network for its SNN on trainSet (see the package
// doc). The context stops it between batches; an interrupted run returns
// the context's error and no model.
func Run(ctx context.Context, c *pipeline.Converted, trainSet *dataset.Set, cfg Config) (*Result, error) {
	scale, err := OutputScale(c)
	if err != nil {
		return nil, err
	}
	logit := scale
	if cfg.LogitScale > 0 {
		logit = cfg.LogitScale
	}
	m, err := Build(c, logit)
	if err != nil {
		return nil, err
	}
	if cfg.FloatLoss > 0 {
		if m, err = addFloatHead(m, logit); err != nil {
			return nil, err
		}
	}
	net, err := nn.New(m, cfg.Workers)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	defer net.Close()
	net.SetSeed(cfg.Train.Seed)
	probe := cfg.Probe
	if probe == 0 {
		probe = DefaultProbe
	}
	idx := pipeline.CalibIndices(trainSet.Len(), probe, cfg.Train.Seed^0x9e3779b97f4a7c15)
	sat0, acc0, err := saturation(ctx, net, trainSet, idx)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	var hist []train.Epoch
	if cfg.FloatLoss > 0 {
		hist, err = runTwoHeads(ctx, net, trainSet, cfg.Train, float32(cfg.FloatLoss))
	} else {
		hist, err = train.Run(ctx, net, trainSet, nil, cfg.Train, nil)
	}
	if err != nil {
		return nil, err
	}
	secs := time.Since(t0).Seconds()
	sat1, acc1, err := saturation(ctx, net, trainSet, idx)
	if err != nil {
		return nil, err
	}
	out, err := Strip(net.Model())
	if err != nil {
		return nil, err
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	out.Metadata[graph.MetaNormalized] = "1"
	out.Metadata[graph.MetaTmax] = tmaxString(c)
	out.Metadata[MetaOutputScale] = strconv.FormatFloat(scale, 'g', -1, 64)
	out.Metadata[MetaEpochs] = strconv.Itoa(len(hist))
	if p := percentileString(c); p != "" {
		out.Metadata[MetaPercentile] = p
	}
	r := &Result{Model: out, Epochs: hist, ProbeAccBefore: acc0, ProbeAccAfter: acc1, Seconds: secs}
	for i, l := range m.Nodes {
		if l.Op == graph.Quant && l.Inputs[0] != graph.ModelInput && !strings.HasPrefix(l.Name, ownPrefix) {
			name := m.Nodes[l.Inputs[0]].Name
			r.Saturation = append(r.Saturation, Saturation{Layer: name, Before: sat0[i], After: sat1[i]})
		}
	}
	return r, nil
}

// saturation runs the samples idx of s through the fine-tuning network and
// returns, by Quant node, the fraction of its input values above its Max,
// and the accuracy (%) of the network's output.
func saturation(ctx context.Context, net *nn.Net, s *dataset.Set, idx []int) (map[int]float64, float64, error) {
	m := net.Model()
	above, total := map[int]int{}, map[int]int{}
	quantOf := map[int]int{} // node → the Quant node reading it
	for i, l := range m.Nodes {
		if l.Op == graph.Quant && l.Inputs[0] != graph.ModelInput && !strings.HasPrefix(l.Name, ownPrefix) {
			quantOf[l.Inputs[0]] = i
		}
	}
	last := len(m.Nodes) - 1
	k := net.OutSize()
	if m.Nodes[last].Op == graph.Concat {
		last = m.Nodes[last].Inputs[0] // two heads: the quantized one
		k /= 2
	}
	correct := 0
	var labels []int32
	err := s.Chunks(idx, nn.BatchFor(m), func(x []float32, y []int32, n int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		labels = y
		net.Activations(x, n, func(node int, out []float32) {
			if q, ok := quantOf[node]; ok {
				mx := m.Nodes[q].Max
				for _, v := range out {
					if v > mx {
						above[q]++
					}
				}
				total[q] += len(out)
			}
			if node == last {
				for i, c := range nn.Argmax(out[:n*k], n, nil) {
					if c == labels[i] {
						correct++
					}
				}
			}
		})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	frac := map[int]float64{}
	for q, t := range total {
		frac[q] = float64(above[q]) / float64(t)
	}
	return frac, 100 * float64(correct) / float64(max(1, len(idx))), nil
}

func tmaxString(c *pipeline.Converted) string {
	if ts := c.Config.TmaxLayers; len(ts) > 0 {
		return intsString(ts)
	}
	return strconv.Itoa(c.Config.Tmax)
}

func intsString(v []int) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ","
		}
		s += strconv.Itoa(x)
	}
	return s
}

func percentileString(c *pipeline.Converted) string {
	if c.ANN.Normalized() {
		return c.ANN.Metadata[MetaPercentile]
	}
	if ps := c.Config.LayerPercentiles; len(ps) > 0 {
		return pipeline.PercentileList(ps)
	}
	return strconv.FormatFloat(c.Config.Percentile, 'g', -1, 64)
}
