package hw

import (
	"errors"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/snn"
)

// Part is one synapse of a value split over several synapses: the value is
// Σ Mant·2^Exp over the parts, in state units.
type Part struct {
	Exp  int   `json:"exp"`  // state exponent: Mant·2^Exp state units (hardware e = Exp − 6 − mixed)
	Mant int64 `json:"mant"` // |Mant| ≤ 127 (mixed sign) or 255
}

// IntLayer is one layer of an integer network: the snn.Layer it came from
// and its integer parameters, all in state units (the LSB of the 24-bit
// current and voltage registers).
type IntLayer struct {
	L *snn.Layer // geometry, windows, flags; its float weights are not used

	// Scale is 2^ScaleExp state units per unit of value·step: the readout
	// makes the current exactly Scale, θ is (TOut − ½)·Scale.
	ScaleExp int
	// WExp: every weight is WMant·2^WExp state units; WMant fits
	// WeightBits (7 + sign when Mixed).
	WExp  int
	Mixed bool
	W     []int32 // weights in state units (Conv: W shape; Linear: [Out In]; AvgPool: one per output position)
	B     []int64 // bias per output channel, state units
	// Theta = ThetaMant·2^ThetaShift, state units.
	Theta     int64
	ThetaMant int64
	// Counter per neuron, state units (= Scale − B − Σ W over its synapses,
	// exact); CounterParts[n] its split over readout synapses.
	Counter      []int64
	CounterParts [][]Part
	BiasParts    [][]Part // per output channel
	// Rect is the weight of one rectifier synapse (single-sign, maximal);
	// RectSyn is how many the layer needs so that v ≥ −2^VMinExp always
	// reaches θ.
	Rect    int64
	RectSyn int
	// VMin is the lower voltage bound −2^VMinExp.
	VMin int64

	// Quantization report.
	Report LayerQuant

	in []input // the layer's inputs; their weights are W[woff:]
}

// LayerQuant reports what quantization did to one layer.
type LayerQuant struct {
	Name         string  `json:"name"`
	Kind         string  `json:"kind"`
	WeightExp    int     `json:"weight_exp"`   // hardware weight exponent e (w·2^(6+e))
	WeightBits   int     `json:"weight_bits"`  // magnitude bits used (7 mixed, 8 single-sign)
	ScaleExp     int     `json:"scale_exp"`    // state units per value·step = 2^scale_exp
	ThetaMant    int64   `json:"theta_mant"`   // θ = mant·2^6
	MaxAbsErr    float64 `json:"max_abs_err"`  // max |w_q − w| / max |w|
	MeanAbsErr   float64 `json:"mean_abs_err"` // mean |w_q − w| / max |w|
	MaxRelErr    float64 `json:"max_rel_err"`  // max |w_q − w| / |w| over w ≠ 0
	MeanRelErr   float64 `json:"mean_rel_err"` // mean |w_q − w| / |w| over w ≠ 0
	Zeroed       int     `json:"zeroed"`       // nonzero weights rounded to 0
	MaxBiasErr   float64 `json:"max_bias_err"` // max |b_q − b| in value units
	ReadoutSyn   int     `json:"readout_synapses"`
	BiasSyn      int     `json:"bias_synapses"`
	RectifierSyn int     `json:"rectifier_synapses"`
}

// IntNet is an snn.Network quantized for a Profile.
type IntNet struct {
	Net     *snn.Network
	Profile *Profile
	Layers  []*IntLayer // one per Net layer; nil for relay (MaxPool) layers
	// DelayRelays is the number of relay neurons that chain the bias,
	// readout and rectifier spikes over delays longer than MaxDelay.
	DelayRelays int
	// GroupRelays counts, per layer of a branching network, the relay
	// neurons that carry its input groups' spikes over delays longer than
	// MaxDelay (relayHops per source neuron of each such group);
	// GroupRelayNeurons is their sum. Zero in a chain.
	GroupRelays       []int
	GroupRelayNeurons int
}

// input is one input group of a layer seen as a layer of the group's kind
// (a chain layer is its own single input): the synapse helpers apply to
// it. woff is the offset of its weights in IntLayer.W.
type input struct {
	l     *snn.Layer
	from  int // source layer, −1 for the network input
	delay int
	woff  int
}

// inputsOf returns the inputs of layer li: its Groups as layer views, or
// the layer itself reading layer li−1.
func inputsOf(n *snn.Network, li int) []input {
	l := n.Layers[li]
	if len(l.Groups) == 0 {
		return []input{{l: l, from: li - 1}}
	}
	ins := make([]input, len(l.Groups))
	off := 0
	for k := range l.Groups {
		g := &l.Groups[k]
		v := &snn.Layer{Name: l.Name, Kind: g.Kind, InShape: g.InShape, OutShape: l.OutShape, Kernel: g.Kernel, Stride: g.Stride,
			Pad: g.Pad, Dilation: g.Dilation, Group: g.Group, CeilMode: g.CeilMode, W: g.W, WShape: g.WShape, PoolW: g.PoolW}
		ins[k] = input{l: v, from: g.From, delay: g.Delay, woff: off}
		off += len(weightsOf(v))
	}
	return ins
}

// weightsOf returns the float weights a layer view's synapses index.
func weightsOf(l *snn.Layer) []float32 {
	switch l.Kind {
	case snn.Conv, snn.Linear, snn.Identity:
		return l.W
	case snn.AvgPool:
		return l.PoolW
	}
	return nil
}

// relayHops is the number of relay neurons one spike crosses to be
// delayed by d steps when a synapse delays at most maxDelay: each relay
// adds up to maxDelay, the last synapse the rest.
func relayHops(d, maxDelay int) int {
	if d <= maxDelay {
		return 0
	}
	return (d+maxDelay-1)/maxDelay - 1
}

// ErrUnsupported is wrapped by errors for networks the hardware cannot run.
var ErrUnsupported = errors.New("not supported by the hardware")

// Quantize validates n and converts it to integer arithmetic for p.
// Per layer it picks the finest power-of-two weight quantum whose mantissas
// still fit the weight width (the per-layer weight exponent), rounds the
// weights and biases to it, and recomputes the counterweights from the
// rounded values so that the readout leaves the current at exactly Scale.
// θ, counterweights and biases are then exact; only the weights and biases
// carry rounding error.
func Quantize(n *snn.Network, p *Profile) (*IntNet, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if p.MaxDelay < 1 {
		return nil, fmt.Errorf("hw: profile %s: max delay %d < 1", p.Name, p.MaxDelay)
	}
	q := &IntNet{Net: n, Profile: p, Layers: make([]*IntLayer, len(n.Layers)), GroupRelays: make([]int, len(n.Layers))}
	for li, l := range n.Layers {
		if l.Analog {
			return nil, fmt.Errorf("hw: layer %q: an analog first layer runs in floating point off-chip: %w", l.Name, ErrUnsupported)
		}
		for _, in := range inputsOf(n, li) {
			if h := relayHops(in.delay, p.MaxDelay); h > 0 {
				q.GroupRelays[li] += h * size(in.l.InShape)
			}
		}
		q.GroupRelayNeurons += q.GroupRelays[li]
		if !l.Spiking() {
			continue
		}
		il, err := quantizeLayer(l, inputsOf(n, li), p)
		if err != nil {
			return nil, fmt.Errorf("hw: layer %d %q: %w", li, l.Name, err)
		}
		q.Layers[li] = il
	}
	q.DelayRelays = delayRelays(n, p.MaxDelay)
	return q, nil
}

// delayRelays counts the relay neurons of the timing chain. One start spike
// at step 0 must reach, per spiking layer, the bias synapses at τ, the
// readout at τ+T and the rectifier at τ+T+TOut−1. A synapse delays at most
// MaxDelay steps, so a chain of relay neurons, each re-emitting the start
// spike MaxDelay steps later, serves all events: the chain needs
// ⌈t_max/MaxDelay⌉ − 1 relays for the latest event t_max.
func delayRelays(n *snn.Network, maxDelay int) int {
	latest := 0
	for li, l := range n.Layers {
		if l.Spiking() {
			latest = max(latest, n.Tau(li)+l.T+l.TOut-1)
		}
	}
	if latest <= maxDelay {
		return 0
	}
	return (latest+maxDelay-1)/maxDelay - 1
}

func quantizeLayer(l *snn.Layer, ins []input, p *Profile) (*IntLayer, error) {
	// All groups of a Sum layer share the layer's scale and weight quantum.
	var w []float32
	if len(ins) == 1 {
		w = weightsOf(ins[0].l)
	} else {
		for _, in := range ins {
			w = append(w, weightsOf(in.l)...)
		}
	}
	maxW, neg, pos := 0.0, false, false
	for _, v := range w {
		maxW = math.Max(maxW, math.Abs(float64(v)))
		neg = neg || v < 0
		pos = pos || v > 0
	}
	il := &IntLayer{L: l, Mixed: neg && pos, in: ins}
	M := p.mantMax(il.Mixed)
	// Weight quantum 2^−f: the finest with max|w|·2^f ≤ M + ½.
	f := 0
	if maxW > 0 {
		f = int(math.Floor(math.Log2((float64(M) + 0.5) / maxW)))
		for maxW*math.Ldexp(1, f) >= float64(M)+0.5 { // guard against Log2 rounding
			f--
		}
	}
	// State scale 2^s: s ≥ 7 makes (TOut − ½)·2^s a multiple of 2^6, and
	// s ≥ f keeps every weight an integer number of state units.
	s := max(f, p.ThetaShift+1)
	k := s - f
	mixedBit := 0
	if il.Mixed {
		mixedBit = 1
	}
	kMax := p.WeightExpOffset + p.WeightExpMax + mixedBit
	if k > kMax {
		return nil, fmt.Errorf("weights up to %g need a weight exponent above %d: %w", maxW, p.WeightExpMax, ErrUnsupported)
	}
	il.ScaleExp, il.WExp = s, k
	scale := int64(1) << s

	// Weights.
	il.W = make([]int32, len(w))
	rep := &il.Report
	rep.Name, rep.Kind = l.Name, l.Kind.String()
	rep.WeightExp = k - p.WeightExpOffset - mixedBit
	rep.WeightBits = p.WeightBits - mixedBit
	rep.ScaleExp = s
	var sumAbs, sumRel float64
	nz := 0
	for i, v := range w {
		m := int64(math.Round(float64(v) * math.Ldexp(1, f)))
		m = min(max(m, -M), M)
		il.W[i] = int32(m << k)
		wq := math.Ldexp(float64(m), -f)
		e := math.Abs(wq - float64(v))
		if maxW > 0 {
			rep.MaxAbsErr = math.Max(rep.MaxAbsErr, e/maxW)
			sumAbs += e / maxW
		}
		if v != 0 {
			r := e / math.Abs(float64(v))
			rep.MaxRelErr = math.Max(rep.MaxRelErr, r)
			sumRel += r
			nz++
			if m == 0 {
				rep.Zeroed++
			}
		}
	}
	if len(w) > 0 {
		rep.MeanAbsErr = sumAbs / float64(len(w))
	}
	if nz > 0 {
		rep.MeanRelErr = sumRel / float64(nz)
	}

	// Threshold.
	theta2 := int64(2*l.TOut - 1) // 2θ in Round mode
	if l.Theta == float32(l.TOut) {
		theta2 = int64(2 * l.TOut)
	}
	il.Theta = theta2 << (s - 1)
	il.ThetaMant = il.Theta >> p.ThetaShift
	if il.ThetaMant<<p.ThetaShift != il.Theta || il.ThetaMant >= 1<<p.ThetaMantBits {
		return nil, fmt.Errorf("threshold %d state units does not fit mantissa·2^%d with %d bits: %w", il.Theta, p.ThetaShift, p.ThetaMantBits, ErrUnsupported)
	}
	rep.ThetaMant = il.ThetaMant

	// Biases: rounded to the weight quantum, delivered by bias synapses.
	k0 := min(k, s) // every value below is a multiple of 2^k0
	// Bias and readout synapses carry either sign: mixed groups.
	mMix, kMaxMix := p.mantMax(true), p.WeightExpOffset+p.WeightExpMax+1
	if l.Kind != snn.AvgPool {
		il.B = make([]int64, len(l.B))
		il.BiasParts = make([][]Part, len(l.B))
		for c, b := range l.B {
			m := int64(math.Round(float64(b) * math.Ldexp(1, f)))
			il.B[c] = m << k
			rep.MaxBiasErr = math.Max(rep.MaxBiasErr, math.Abs(math.Ldexp(float64(m), -f)-float64(b)))
			parts, err := split(il.B[c], k0, kMaxMix, mMix)
			if err != nil {
				return nil, fmt.Errorf("bias %d: %w", c, err)
			}
			il.BiasParts[c] = parts
			rep.BiasSyn = max(rep.BiasSyn, len(parts))
		}
	}

	// Counterweights, exact: Scale − B − Σ W over the synapses each neuron has.
	il.Counter = counters(l, il, scale)
	il.CounterParts = make([][]Part, len(il.Counter))
	for n, c := range il.Counter {
		parts, err := split(c, k0, kMaxMix, mMix)
		if err != nil {
			return nil, fmt.Errorf("counterweight %d: %w", n, err)
		}
		il.CounterParts[n] = parts
		rep.ReadoutSyn = max(rep.ReadoutSyn, len(parts))
	}

	// Rectifier: single-sign synapses at the largest exponent.
	il.VMin = -(int64(1) << p.VMinExp)
	if l.Rectify {
		il.Rect = p.mantMax(false) << (p.WeightExpOffset + p.WeightExpMax)
		need := il.Theta - il.VMin
		il.RectSyn = int((need + il.Rect - 1) / il.Rect)
		rep.RectifierSyn = il.RectSyn
	}
	return il, nil
}

// split writes v (a multiple of 2^k0 state units) as Σ Mant·2^Exp with
// |Mant| ≤ M, using exponents k0, k0+7, k0+14, … capped at kMax: the
// high and low parts of a value one synapse cannot hold. Zero needs no
// part.
func split(v int64, k0, kMax int, M int64) ([]Part, error) {
	if v%(int64(1)<<k0) != 0 {
		return nil, fmt.Errorf("value %d is not a multiple of 2^%d", v, k0)
	}
	var parts []Part
	step := bitsLen(M) // 7 for M = 127, 8 for 255
	for e := k0; v != 0; {
		unit := int64(1) << e
		if v%unit == 0 && abs64(v/unit) <= M {
			parts = append(parts, Part{Exp: e, Mant: v / unit})
			break
		}
		next := min(e+step, kMax)
		var d int64
		if next == e {
			// Capped exponent: take as much as one synapse holds.
			d = min(max(v/unit, -M), M)
		} else {
			r := int64(1) << (next - e)
			d = ((v/unit)%r + r) % r // in [0, r)
			if d >= r/2 {
				d -= r // balanced digit in [−r/2, r/2)
			}
		}
		if d != 0 {
			parts = append(parts, Part{Exp: e, Mant: d})
		}
		v -= d * unit
		e = next
		if len(parts) > 64 {
			return nil, fmt.Errorf("value needs more than 64 synapses: %w", ErrUnsupported)
		}
	}
	return parts, nil
}

func bitsLen(m int64) int {
	n := 0
	for m > 0 {
		n++
		m >>= 1
	}
	return n
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// counters computes Scale − B − Σ W for every neuron over the synapses it
// really has, in integers.
func counters(l *snn.Layer, il *IntLayer, scale int64) []int64 {
	out := make([]int64, l.Size())
	for _, in := range il.in {
		forEachSynapse(in.l, func(dst, src, wi int) {
			out[dst] -= int64(il.W[in.woff+wi])
		})
	}
	for n := range out {
		out[n] += scale
		if il.B != nil {
			out[n] -= il.B[biasIndex(l, n)]
		}
	}
	return out
}

// biasIndex returns the output channel of neuron n.
func biasIndex(l *snn.Layer, n int) int {
	if l.Kind == snn.Linear || len(l.OutShape) == 1 {
		return n
	}
	return n / (l.OutShape[1] * l.OutShape[2])
}

// forEachSynapse calls f for every synapse of layer l (a Conv, Linear,
// AvgPool, MaxPool or Identity, or a group as such a layer): dst the target
// neuron, src the presynaptic neuron in the source layer (C,H,W order), wi
// the index of its weight (Conv: in W; Linear: in W; AvgPool: in PoolW,
// the output position; Identity: in W, the channel; MaxPool: −1).
func forEachSynapse(l *snn.Layer, f func(dst, src, wi int)) {
	if l.Kind == snn.Identity {
		nn := size(l.OutShape)
		per := nn / l.InShape[0]
		for o := 0; o < nn; o++ {
			f(o, o, o/per)
		}
		return
	}
	if l.Kind == snn.Linear {
		in := l.WShape[1]
		for o := 0; o < l.WShape[0]; o++ {
			for j := 0; j < in; j++ {
				f(o, j, o*in+j)
			}
		}
		return
	}
	cin, h, w := l.InShape[0], l.InShape[1], l.InShape[2]
	cout, ho, wo := l.OutShape[0], l.OutShape[1], l.OutShape[2]
	dil, groups := [2]int{1, 1}, cin
	if l.Kind == snn.Conv {
		dil, groups = l.Dilation, l.Group
	}
	cinG, coutG := cin/groups, cout/groups
	for c := 0; c < cout; c++ {
		g := c / coutG
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				n := (c*ho+oh)*wo + ow
				for ci := 0; ci < cinG; ci++ {
					for kh := 0; kh < l.Kernel[0]; kh++ {
						ih := oh*l.Stride[0] - l.Pad[0] + kh*dil[0]
						if ih < 0 || ih >= h {
							continue
						}
						for kw := 0; kw < l.Kernel[1]; kw++ {
							iw := ow*l.Stride[1] - l.Pad[1] + kw*dil[1]
							if iw < 0 || iw >= w {
								continue
							}
							src := ((g*cinG+ci)*h+ih)*w + iw
							wi := -1
							switch l.Kind {
							case snn.Conv:
								wi = ((c*cinG+ci)*l.Kernel[0]+kh)*l.Kernel[1] + kw
							case snn.AvgPool:
								wi = oh*wo + ow
							}
							f(n, src, wi)
						}
					}
				}
			}
		}
	}
}
