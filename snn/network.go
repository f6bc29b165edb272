package snn

import (
	"errors"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// Kind is the kind of a Network layer.
type Kind int

// Layer kinds. Conv, Linear and AvgPool are spiking layers (one window each);
// MaxPool is a relay layer with no window of its own.
const (
	Conv    Kind = iota + 1 // spiking 2-D convolution
	Linear                  // spiking fully connected layer
	AvgPool                 // spiking average pooling: fixed weights PoolW, no bias
	MaxPool                 // relay: the first spike in the window passes at the same step
	// Sum is a spiking layer of a branching network whose synapses are its
	// Groups (Layer.Groups): the sum of linear maps of earlier layers, e.g. a
	// residual block's Add (SPEC §7).
	Sum
	// Identity is a kind of input Group only: neuron (c, h, w) reads the
	// same position of its source with weight W[c].
	Identity
)

var kindNames = map[Kind]string{Conv: "Conv", Linear: "Linear", AvgPool: "AvgPool", MaxPool: "MaxPool", Sum: "Sum", Identity: "Identity"}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the kind's name, so that JSON files stay readable.
func (k Kind) MarshalText() ([]byte, error) {
	if _, ok := kindNames[k]; !ok {
		return nil, fmt.Errorf("snn: invalid layer kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for v, s := range kindNames {
		if s == string(b) {
			*k = v
			return nil
		}
	}
	return fmt.Errorf("snn: unknown layer kind %q", b)
}

// Threshold selects the firing threshold θ of every spiking layer.
type Threshold int

const (
	// Round sets θ = T_out − ½: a neuron outputs round(U) (halves round up).
	// It is the default (the zero value).
	Round Threshold = iota
	// Truncate sets θ = T_out: a neuron outputs floor(U), as in the paper's Eq. 8.
	Truncate
)

func (t Threshold) String() string {
	switch t {
	case Round:
		return "round"
	case Truncate:
		return "truncate"
	}
	return fmt.Sprintf("Threshold(%d)", int(t))
}

// MarshalText writes "round" or "truncate".
func (t Threshold) MarshalText() ([]byte, error) {
	if t != Round && t != Truncate {
		return nil, fmt.Errorf("snn: invalid threshold mode %d", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads "round" or "truncate".
func (t *Threshold) UnmarshalText(b []byte) error {
	switch string(b) {
	case "round":
		*t = Round
	case "truncate":
		*t = Truncate
	default:
		return fmt.Errorf("snn: unknown threshold mode %q", b)
	}
	return nil
}

// theta returns the threshold for a decoding window of tOut steps.
func (t Threshold) theta(tOut int) float32 {
	if t == Truncate {
		return float32(tOut)
	}
	return float32(tOut) - 0.5
}

// Network is a converted spiking network: plain data, ready to be written to
// JSON and read back (call Validate on what was read). Layers are in
// topological order; layer i consumes layer i−1's spikes (layer 0 consumes
// the input), unless it has explicit input Groups (a branching network,
// see the package doc).
type Network struct {
	Name string `json:"name,omitempty"`
	// InShape is the shape of one input sample, [C H W].
	InShape   []int     `json:"in_shape"`
	Threshold Threshold `json:"threshold"`
	Layers    []*Layer  `json:"layers"`
	// Warnings are conversion notes worth showing to a user.
	Warnings []string `json:"warnings,omitempty"`
	// Signed counts the neurons of signed pairs (both halves, SPEC §7):
	// values without ReLU carried as z⁺ = relu(z) (the layer named after
	// the node) and z⁻ = relu(−z) (the layer right after it, named with
	// NegSuffix). They are spiking neurons, counted in ν too.
	Signed int `json:"signed_neurons,omitempty"`
}

// Layer is one layer of a Network. Fields that do not apply to its Kind are
// zero.
type Layer struct {
	Name string `json:"name,omitempty"` // the graph layer it came from
	Kind Kind   `json:"kind"`
	// Analog marks a first layer computed in floating point (Config.AnalogFirst):
	// relu(W·x+b), clamped to [0,1], becomes the input spikes of the next
	// layer, encoded with TOut steps. Only Layers[0] may be analog.
	Analog bool `json:"analog,omitempty"`
	// InScale and InShift are an analog layer's input transform, one value
	// per input channel (the network's InShape[0]): the layer computes on
	// x[c,·]·InScale[c] + InShift[c] instead of x, and a Conv zero-pads the
	// transformed input, as the ANN with a graph.Affine first layer does. It
	// is the standardization (x·scale − mean)/std of a model trained on
	// standardized inputs whose first conv pads (graph.PrependPreprocess).
	// Both are empty, or both set; only an analog layer may have them.
	InScale []float32 `json:"in_scale,omitempty"`
	InShift []float32 `json:"in_shift,omitempty"`

	// InShape and OutShape exclude the batch: [C H W] for Conv, AvgPool and
	// MaxPool, [N] for Linear (its input is flattened in C,H,W order).
	InShape  []int `json:"in_shape"`
	OutShape []int `json:"out_shape"`

	// Geometry of Conv, AvgPool and MaxPool. Pad is top, left, bottom, right.
	// CeilMode only affects OutShape.
	Kernel   [2]int `json:"kernel,omitempty"`
	Stride   [2]int `json:"stride,omitempty"`
	Pad      [4]int `json:"pad,omitempty"`
	Dilation [2]int `json:"dilation,omitempty"` // Conv only
	Group    int    `json:"group,omitempty"`    // Conv only
	CeilMode bool   `json:"ceil_mode,omitempty"`

	// W and B are the synaptic weights of Conv ([Cout Cin/Group KH KW]) and
	// Linear ([Out In]) layers, and the bias (one per output channel; the bias
	// neuron fires at the first step of the window). In a layer whose decoding
	// window differs from its own (TOut ≠ T), they are the ANN's times TOut/T.
	W      []float32 `json:"w,omitempty"`
	WShape []int     `json:"w_shape,omitempty"`
	B      []float32 `json:"b,omitempty"`
	// PoolW is AvgPool's weight of every synapse into output position
	// oh·Wout+ow (the same for all channels): 1/divisor, times TOut/T.
	PoolW []float32 `json:"pool_w,omitempty"`

	// T is the layer's integration window in steps; TOut is the decoding
	// window, the next spiking layer's T (equal to T in the last layer).
	// Relay layers have neither; an analog layer has only TOut.
	T    int `json:"t,omitempty"`
	TOut int `json:"t_out,omitempty"`
	// Theta is the firing threshold, TOut−½ (Round) or TOut (Truncate).
	Theta float32 `json:"theta,omitempty"`
	// Counter holds one counterweight per output neuron (C,H,W order):
	// 1 − b − Σ_j w_j over the synapses the neuron really has.
	Counter []float32 `json:"counter,omitempty"`
	// Rectify: a rectifier synapse forces the neuron to fire at the end of
	// the decoding window. Every hidden spiking layer has one.
	Rectify bool `json:"rectify,omitempty"`
	// Output marks the last layer, whose first spike is the class.
	Output bool `json:"output,omitempty"`

	// Groups, if not empty, are the layer's inputs in a branching network
	// (SPEC §7): a Sum layer (spiking) has one or more, a MaxPool relay
	// exactly one, and the layer's own W, WShape, PoolW and geometry are
	// unused (InShape is Groups[0].InShape). Without Groups a layer reads
	// the layer before it (the input for layer 0) through its own fields:
	// a chain needs no Groups at all.
	Groups []Group `json:"groups,omitempty"`
}

// Group is one input group of a layer of a branching network: a linear map
// of one earlier layer's spikes (or the network input's) into the layer's
// neurons. Every group's output shape is the layer's OutShape; the layer
// sums them and adds its bias B.
type Group struct {
	// From is the index of the layer read (smaller than the layer's own),
	// or −1 for the input spikes: the network input, or the outputs of an
	// analog first layer (which no group names directly).
	From int `json:"from"`
	// Kind is Conv, Linear, AvgPool or Identity in a Sum layer, MaxPool in
	// a relay layer.
	Kind Kind `json:"kind"`
	// InShape is the shape read: From's OutShape ([N] for Linear).
	InShape []int `json:"in_shape"`
	// Geometry and weights, as the Layer fields of the same names (no bias:
	// the bias is the layer's). Identity has W, one weight per channel.
	Kernel   [2]int    `json:"kernel,omitempty"`
	Stride   [2]int    `json:"stride,omitempty"`
	Pad      [4]int    `json:"pad,omitempty"`
	Dilation [2]int    `json:"dilation,omitempty"`
	Group    int       `json:"group,omitempty"`
	CeilMode bool      `json:"ceil_mode,omitempty"`
	W        []float32 `json:"w,omitempty"`
	WShape   []int     `json:"w_shape,omitempty"`
	PoolW    []float32 `json:"pool_w,omitempty"`
	// Delay is the synaptic delay of every synapse of the group, in steps:
	// the layer's τ minus the end of From's window (SPEC §7, Timing).
	Delay int `json:"delay,omitempty"`
}

// layer returns the group as a Layer of its Kind with outShape, so that
// the Layer helpers (geometry, synapses, checks) apply to it.
func (g *Group) layer(outShape []int) *Layer {
	return &Layer{Kind: g.Kind, InShape: g.InShape, OutShape: outShape, Kernel: g.Kernel, Stride: g.Stride,
		Pad: g.Pad, Dilation: g.Dilation, Group: g.Group, CeilMode: g.CeilMode, W: g.W, WShape: g.WShape, PoolW: g.PoolW}
}

// Branching reports whether the network has a layer with explicit Groups
// (a DAG, SPEC §7).
func (n *Network) Branching() bool {
	for _, l := range n.Layers {
		if len(l.Groups) > 0 {
			return true
		}
	}
	return false
}

// CheckChain returns nil for a chain network, else an error wrapping
// graph.ErrBranching that names the first layer with explicit input groups
// and says that what (e.g. "loihi2 emulation") does not support it yet.
func (n *Network) CheckChain(what string) error {
	for i, l := range n.Layers {
		if len(l.Groups) > 0 {
			return fmt.Errorf("snn: layer %d %q (%v) reads %d input group(s) of a branching network: %s is not supported for branching networks yet (%w)",
				i, l.Name, l.Kind, len(l.Groups), what, graph.ErrBranching)
		}
	}
	return nil
}

// groups returns the effective input groups of layer i: its Groups, or the
// implicit one (the layer before, through the layer's own fields).
func (n *Network) groups(i int) []Group {
	l := n.Layers[i]
	if len(l.Groups) > 0 {
		return l.Groups
	}
	return []Group{{From: i - 1, Kind: l.Kind, InShape: l.InShape, Kernel: l.Kernel, Stride: l.Stride, Pad: l.Pad,
		Dilation: l.Dilation, Group: l.Group, CeilMode: l.CeilMode, W: l.W, WShape: l.WShape, PoolW: l.PoolW}}
}

// Spiking reports whether the layer has its own window of spiking neurons.
func (l *Layer) Spiking() bool {
	return !l.Analog && (l.Kind == Conv || l.Kind == Linear || l.Kind == AvgPool || l.Kind == Sum)
}

// Size returns the number of neurons (outputs) of the layer.
func (l *Layer) Size() int { return size(l.OutShape) }

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Tau returns, for spiking layer i, the first global step of its integration
// window; for a relay or analog layer, that of the spiking layer it feeds.
// In a chain it is the sum of the windows before; in a branching network
// τ_v = max over v's groups of the end of the source's window (τ_g + T_g;
// a relay ends with its source, the input at 0).
func (n *Network) Tau(i int) int {
	if i >= len(n.Layers) {
		tau := 0
		for _, l := range n.Layers {
			if l.Spiking() {
				tau += l.T
			}
		}
		return tau
	}
	return n.Taus()[i]
}

// Taus returns Tau(i) for every layer.
func (n *Network) Taus() []int {
	taus := make([]int, len(n.Layers))
	ends := make([]int, len(n.Layers))
	for i, l := range n.Layers {
		tau := 0
		if len(l.Groups) == 0 {
			if i > 0 {
				tau = ends[i-1]
			}
		} else {
			for _, g := range l.Groups {
				if g.From >= 0 && g.From < i {
					tau = max(tau, ends[g.From])
				}
			}
		}
		taus[i], ends[i] = tau, tau
		if l.Spiking() {
			ends[i] += l.T
		}
	}
	return taus
}

// end returns the end of the window of layer from (τ + T; a relay's is its
// τ), 0 for the network input (from < 0).
func end(taus []int, n *Network, from int) int {
	if from < 0 {
		return 0
	}
	e := taus[from]
	if n.Layers[from].Spiking() {
		e += n.Layers[from].T
	}
	return e
}

// InputT returns the window of the input encoding: the T of the first
// spiking layer.
func (n *Network) InputT() int {
	for _, l := range n.Layers {
		if l.Spiking() {
			return l.T
		}
	}
	return 0
}

// EndStep returns τ_L + T_L + TOut_L, the step at which the output layer's
// decoding window ends; a sample runs at least to it (see the package doc).
func (n *Network) EndStep() int {
	last := len(n.Layers) - 1
	return n.Tau(last) + n.Layers[last].T + n.Layers[last].TOut
}

// Neurons returns ν (the spiking neurons, analog layer excluded) and the
// relay neurons of the network.
func (n *Network) Neurons() (spiking, relay int) {
	for _, l := range n.Layers {
		switch {
		case l.Spiking():
			spiking += l.Size()
		case l.Kind == MaxPool:
			relay += l.Size()
		}
	}
	return
}

// Omega returns the paper's Eq. 9 operation count, σ + 2·Σ_l ν_l·T_l, for a
// given synaptic-event count σ (per sample). With one T it is σ + 2νT.
func (n *Network) Omega(sigma float64) float64 {
	o := sigma
	for _, l := range n.Layers {
		if l.Spiking() {
			o += 2 * float64(l.Size()) * float64(l.T)
		}
	}
	return o
}

// MaxTail is how many steps past EndStep the output layer may run while
// no output neuron has fired; a sample that reaches it has no class.
const MaxTail = 1 << 16

// maxSteps bounds the windows so that every step fits an int32.
const maxSteps = 1 << 28

// Limits on the sizes a Network may have; Validate refuses a network beyond
// them before anything is allocated, so that a crafted file cannot overflow
// an int, index out of range or make the simulator loop for years. They are
// far above any network the converter makes for the supported data sets.
const (
	// MaxNeurons bounds every shape's element count (input, layer input
	// and output) and every single dimension, geometry included (kernel,
	// stride, padding, dilation).
	MaxNeurons = 1 << 26
	// MaxWeights bounds a layer's weight count.
	MaxWeights = 1 << 28
	// maxIndex bounds a conv-like layer's im2col table (kernel rows ×
	// output positions, int32 entries).
	maxIndex = 1 << 28
	// maxSynapses bounds a layer's synapse count (output neurons × kernel
	// rows), which the counterweight check and every sample visit.
	maxSynapses = 1 << 33
	// maxScratch bounds a worker's scratch rows (window span × channels
	// per group, float32 entries).
	maxScratch = 1 << 28
)

// checkedSize returns the element count of shape, or false if a dimension is
// not in 1..MaxNeurons or the product exceeds limit (no overflow: every
// partial product is compared before the next multiplication).
func checkedSize(shape []int, limit int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 1 || d > MaxNeurons || n > limit/d {
			return 0, false
		}
		n *= d
	}
	return n, n <= limit
}

// mulLimit returns a·b·…, or false if a factor is negative or the product
// exceeds limit.
func mulLimit(limit int, f ...int) (int, bool) {
	n := 1
	for _, d := range f {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > limit/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// ValidationError reports what is wrong with a Network, and where.
type ValidationError struct {
	Layer int    // index in Network.Layers, −1 for the network itself
	Name  string // the layer's name
	Kind  Kind   // the layer's kind
	Msg   string
}

func (e *ValidationError) Error() string {
	if e.Layer < 0 {
		return "snn: network: " + e.Msg
	}
	return fmt.Sprintf("snn: layer %d %q (%v): %s", e.Layer, e.Name, e.Kind, e.Msg)
}

// ErrInvalid is wrapped by every ValidationError (errors.Is(err, ErrInvalid)).
var ErrInvalid = errors.New("invalid network")

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Validate checks that the network is complete and consistent: shapes chain,
// weights fit their shapes and are finite, windows, thresholds and
// counterweights match what Convert computes. Run it on data read back from
// a file before simulating.
func (n *Network) Validate() error {
	netErr := func(format string, a ...any) error {
		return &ValidationError{Layer: -1, Msg: fmt.Sprintf(format, a...)}
	}
	if len(n.InShape) != 3 || n.InShape[0] <= 0 || n.InShape[1] <= 0 || n.InShape[2] <= 0 {
		return netErr("input shape %v: want [C H W] with positive dimensions", n.InShape)
	}
	if _, ok := checkedSize(n.InShape, MaxNeurons); !ok {
		return netErr("input shape %v: more than %d values", n.InShape, MaxNeurons)
	}
	if n.Threshold != Round && n.Threshold != Truncate {
		return netErr("invalid threshold mode %d", int(n.Threshold))
	}
	if len(n.Layers) == 0 {
		return netErr("no layers")
	}
	for i, l := range n.Layers {
		if l == nil {
			return netErr("layer %d is nil", i)
		}
	}
	branching := n.Branching()
	taus := n.Taus()
	prev := n.InShape
	var spiking []int
	for i, l := range n.Layers {
		var err *ValidationError
		if len(l.Groups) > 0 {
			err = n.validateGroups(i, l, taus)
		} else {
			err = l.validate(i, prev, n.Threshold, false)
		}
		if err != nil {
			err.Kind = l.Kind
			return err
		}
		if l.Spiking() {
			spiking = append(spiking, i)
		}
		prev = l.OutShape
	}
	if len(spiking) == 0 {
		return netErr("no spiking layer")
	}
	last := len(n.Layers) - 1
	if !n.Layers[last].Spiking() {
		return netErr("last layer %q is a %v, want a spiking layer", n.Layers[last].Name, n.Layers[last].Kind)
	}
	for j, i := range spiking {
		l := n.Layers[i]
		e := &ValidationError{Layer: i, Name: l.Name, Kind: l.Kind}
		if t0 := n.Layers[spiking[0]].T; branching && l.T != t0 {
			e.Msg = fmt.Sprintf("window T = %d, want %d: a branching network has one T for all spiking layers", l.T, t0)
			return e
		}
		want := l.T
		if j+1 < len(spiking) {
			want = n.Layers[spiking[j+1]].T
		}
		if l.TOut != want {
			e.Msg = fmt.Sprintf("decoding window TOut = %d, want %d (the next spiking layer's T)", l.TOut, want)
			return e
		}
		if i == last != l.Output {
			e.Msg = fmt.Sprintf("output flag %v, want %v (only the last layer is the output)", l.Output, i == last)
			return e
		}
		if i != last && !l.Rectify {
			e.Msg = "hidden layer without rectifier: negative values cannot be carried by spikes"
			return e
		}
		if l.Theta != n.Threshold.theta(l.TOut) {
			e.Msg = fmt.Sprintf("threshold %v, want %v (%v mode, TOut = %d)", l.Theta, n.Threshold.theta(l.TOut), n.Threshold, l.TOut)
			return e
		}
	}
	steps := taus[last] + n.Layers[last].T
	if a := n.Layers[0]; a.Analog && a.TOut != n.Layers[spiking[0]].T {
		return netErr("analog layer's TOut = %d, want %d (the first spiking layer's T)", a.TOut, n.Layers[spiking[0]].T)
	}
	if steps+n.Layers[last].TOut+MaxTail >= maxSteps {
		return netErr("windows add up to %d steps, more than %d", steps, maxSteps-MaxTail)
	}
	// The simulator's per-worker scratch: span × channels per group.
	for _, i := range spiking {
		l := n.Layers[i]
		cg := l.OutShape[0]
		if l.Kind != Sum {
			cg = newGeom(l).coutg
		}
		span := taus[i] + l.T
		if _, ok := mulLimit(maxScratch, span, cg); !ok {
			return &ValidationError{Layer: i, Name: l.Name, Kind: l.Kind,
				Msg: fmt.Sprintf("window span %d × %d channels per group exceeds the simulator's limit of %d", span, cg, maxScratch)}
		}
	}
	return nil
}

// validateGroups checks layer i with explicit Groups.
func (n *Network) validateGroups(i int, l *Layer, taus []int) *ValidationError {
	bad := func(format string, a ...any) *ValidationError {
		return &ValidationError{Layer: i, Name: l.Name, Msg: fmt.Sprintf(format, a...)}
	}
	if l.Analog || l.InScale != nil || l.InShift != nil {
		return bad("a layer with input groups cannot be analog or have an input transform")
	}
	if l.W != nil || l.WShape != nil || l.PoolW != nil {
		return bad("a layer with input groups has its weights in the groups, not in its own w, w_shape or pool_w")
	}
	switch l.Kind {
	case Sum:
	case MaxPool:
		if len(l.Groups) != 1 || l.Groups[0].Kind != MaxPool {
			return bad("a MaxPool relay with input groups has exactly one, of kind MaxPool")
		}
	default:
		return bad("a %v layer cannot have input groups (only Sum and MaxPool layers)", l.Kind)
	}
	if _, ok := checkedSize(l.OutShape, MaxNeurons); !ok || (len(l.OutShape) != 1 && len(l.OutShape) != 3) {
		return bad("output shape %v: want [C H W] or [N] with positive dimensions, at most %d values", l.OutShape, MaxNeurons)
	}
	if !equalInts(l.InShape, l.Groups[0].InShape) {
		return bad("input shape %v, want the first group's %v", l.InShape, l.Groups[0].InShape)
	}
	for k := range l.Groups {
		g := &l.Groups[k]
		if g.From < -1 || g.From >= i {
			return bad("group %d reads layer %d: want −1 (the input) or an earlier layer", k, g.From)
		}
		src := n.InputShape() // the input spikes (an analog layer's outputs)
		if g.From >= 0 {
			if n.Layers[g.From].Analog {
				return bad("group %d reads the analog layer %d", k, g.From)
			}
			src = n.Layers[g.From].OutShape
		}
		if l.Kind == Sum && g.Kind != Conv && g.Kind != Linear && g.Kind != AvgPool && g.Kind != Identity {
			return bad("group %d has kind %v: want Conv, Linear, AvgPool or Identity", k, g.Kind)
		}
		tl := g.layer(l.OutShape)
		tl.Name = l.Name
		if e := tl.validate(i, src, n.Threshold, true); e != nil {
			e.Msg = fmt.Sprintf("group %d (%v from layer %d): %s", k, g.Kind, g.From, e.Msg)
			return e
		}
		if g.Delay < 0 || g.Delay > maxSteps {
			return bad("group %d: delay %d must be in 0..%d", k, g.Delay, maxSteps)
		}
		if a := end(taus, n, g.From) + g.Delay; a != taus[i] {
			return bad("group %d: delay %d aligns its source's window end with step %d, want the layer's τ = %d", k, g.Delay, a, taus[i])
		}
	}
	if l.Kind == MaxPool {
		if l.T != 0 || l.TOut != 0 || l.Rectify || l.Output {
			return bad("relay layer has a window, rectifier or output flag")
		}
		return nil
	}
	if len(l.B) != l.OutShape[0] {
		return bad("bias has %d values, want %d", len(l.B), l.OutShape[0])
	}
	for j, x := range l.B {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return bad("bias[%d] = %v is not finite", j, x)
		}
	}
	return l.validateWindow(i)
}

// validateWindow checks a spiking layer's windows and counterweights.
func (l *Layer) validateWindow(i int) *ValidationError {
	bad := func(format string, a ...any) *ValidationError {
		return &ValidationError{Layer: i, Name: l.Name, Msg: fmt.Sprintf(format, a...)}
	}
	if l.T < 1 || l.TOut < 1 || l.T > maxSteps || l.TOut > maxSteps {
		return bad("windows T = %d, TOut = %d must be in 1..%d", l.T, l.TOut, maxSteps)
	}
	if len(l.Counter) != l.Size() {
		return bad("%d counterweights, want %d", len(l.Counter), l.Size())
	}
	want := counterweights(l)
	for j := range want {
		if math.Float32bits(want[j]) != math.Float32bits(l.Counter[j]) {
			return bad("counterweight[%d] = %v, want 1 − b − Σw = %v", j, l.Counter[j], want[j])
		}
	}
	return nil
}

// validate checks a layer without Groups reading a value of shape in, or
// (group) a Group as a layer: shapes, geometry and weights only.
func (l *Layer) validate(i int, in []int, mode Threshold, group bool) *ValidationError {
	bad := func(format string, a ...any) *ValidationError {
		return &ValidationError{Layer: i, Name: l.Name, Msg: fmt.Sprintf(format, a...)}
	}
	if _, ok := kindNames[l.Kind]; !ok {
		return bad("invalid kind %d", int(l.Kind))
	}
	if l.Kind == Sum && !group {
		return bad("a Sum layer needs input groups")
	}
	if l.Kind == Identity && !group || l.Kind == Sum && group {
		return bad("kind %v: not allowed here", l.Kind)
	}
	if l.Analog && (i != 0 || (l.Kind != Conv && l.Kind != Linear)) {
		return bad("only a first Conv or Linear layer may be analog")
	}
	if l.InScale != nil || l.InShift != nil {
		if !l.Analog {
			return bad("an input transform (in_scale, in_shift) is allowed only in an analog first layer")
		}
		if len(in) != 3 || len(l.InScale) != in[0] || len(l.InShift) != in[0] {
			return bad("input transform has %d scales and %d shifts, want one per input channel of %v", len(l.InScale), len(l.InShift), in)
		}
	}
	for _, d := range l.InShape {
		if d <= 0 {
			return bad("input shape %v: dimensions must be positive", l.InShape)
		}
	}
	if _, ok := checkedSize(l.InShape, MaxNeurons); !ok {
		return bad("input shape %v: more than %d values", l.InShape, MaxNeurons)
	}
	if _, ok := checkedSize(l.OutShape, MaxNeurons); !ok {
		return bad("output shape %v: want positive dimensions, at most %d values", l.OutShape, MaxNeurons)
	}
	if l.WShape != nil {
		if _, ok := checkedSize(l.WShape, MaxWeights); !ok {
			return bad("weight shape %v: want positive dimensions, at most %d values", l.WShape, MaxWeights)
		}
	}
	if size(l.InShape) != size(in) {
		return bad("input shape %v does not match the previous output %v", l.InShape, in)
	}
	if l.Kind == Identity {
		if !equalInts(l.InShape, in) || (len(in) != 1 && len(in) != 3) {
			return bad("input shape %v does not match the source's output %v", l.InShape, in)
		}
	} else if l.Kind != Linear {
		if len(l.InShape) != 3 {
			return bad("input shape %v: want [C H W]", l.InShape)
		}
		if len(in) == 3 && (in[0] != l.InShape[0] || in[1] != l.InShape[1] || in[2] != l.InShape[2]) {
			return bad("input shape %v does not match the previous output %v", l.InShape, in)
		}
	} else if len(l.InShape) != 1 {
		return bad("input shape %v: want [N]", l.InShape)
	}
	out, msg := l.outShape()
	if msg != "" {
		return bad("%s", msg)
	}
	if !equalInts(out, l.OutShape) {
		return bad("output shape %v, geometry gives %v", l.OutShape, out)
	}
	if l.Kind != Linear {
		g := newGeom(l)
		if _, ok := mulLimit(maxIndex, g.k, g.npos); !ok {
			return bad("kernel %v over %d×%d outputs: %d×%d im2col entries exceed the limit of %d", l.Kernel, g.ho, g.wo, g.k, g.npos, maxIndex)
		}
		if _, ok := mulLimit(maxSynapses, g.cout, g.npos, g.k); !ok {
			return bad("%d neurons × %d synapses each exceed the limit of %d", g.cout*g.npos, g.k, maxSynapses)
		}
	}
	finite := func(name string, v []float32) *ValidationError {
		for j, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return bad("%s[%d] = %v is not finite", name, j, x)
			}
		}
		return nil
	}
	switch l.Kind {
	case Conv, Linear:
		if len(l.W) != size(l.WShape) {
			return bad("weight has %d values, shape %v wants %d", len(l.W), l.WShape, size(l.WShape))
		}
		if !group && len(l.B) != l.WShape[0] {
			return bad("bias has %d values, want %d", len(l.B), l.WShape[0])
		}
		if e := finite("weight", l.W); e != nil {
			return e
		}
		if e := finite("bias", l.B); e != nil {
			return e
		}
		if e := finite("in_scale", l.InScale); e != nil {
			return e
		}
		if e := finite("in_shift", l.InShift); e != nil {
			return e
		}
	case AvgPool:
		if len(l.PoolW) != l.OutShape[1]*l.OutShape[2] {
			return bad("PoolW has %d values, want %d", len(l.PoolW), l.OutShape[1]*l.OutShape[2])
		}
		if e := finite("PoolW", l.PoolW); e != nil {
			return e
		}
	case MaxPool:
		if msg := emptyWindow(l); msg != "" {
			return bad("%s", msg)
		}
	case Identity:
		if len(l.W) != l.InShape[0] {
			return bad("identity weight has %d values, want one per channel, %d", len(l.W), l.InShape[0])
		}
		if e := finite("weight", l.W); e != nil {
			return e
		}
	}
	if group {
		return nil
	}
	switch {
	case l.Analog:
		if l.TOut < 1 || l.T != 0 {
			return bad("analog layer: T = %d, TOut = %d; want T = 0, TOut ≥ 1", l.T, l.TOut)
		}
		if !l.Rectify {
			return bad("analog layer must be rectified")
		}
	case l.Spiking():
		if e := l.validateWindow(i); e != nil {
			return e
		}
	default: // relay
		if l.T != 0 || l.TOut != 0 || l.Rectify || l.Output {
			return bad("relay layer has a window, rectifier or output flag")
		}
	}
	_ = mode
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// outShape recomputes the output shape from the geometry, or says what is
// wrong with it.
func (l *Layer) outShape() ([]int, string) {
	switch l.Kind {
	case Identity:
		return append([]int(nil), l.InShape...), ""
	case Linear:
		if len(l.WShape) != 2 || l.WShape[0] <= 0 || l.WShape[1] != size(l.InShape) {
			return nil, fmt.Sprintf("weight shape %v: want [Out %d]", l.WShape, size(l.InShape))
		}
		return []int{l.WShape[0]}, ""
	case Conv, AvgPool, MaxPool:
		if l.Kernel[0] <= 0 || l.Kernel[1] <= 0 || l.Stride[0] <= 0 || l.Stride[1] <= 0 {
			return nil, fmt.Sprintf("kernel %v and stride %v must be positive", l.Kernel, l.Stride)
		}
		for _, p := range l.Pad {
			if p < 0 {
				return nil, fmt.Sprintf("negative padding %v", l.Pad)
			}
			if p > MaxNeurons {
				return nil, fmt.Sprintf("padding %v: more than %d", l.Pad, MaxNeurons)
			}
		}
		if max(l.Kernel[0], l.Kernel[1], l.Stride[0], l.Stride[1]) > MaxNeurons {
			return nil, fmt.Sprintf("kernel %v or stride %v: more than %d", l.Kernel, l.Stride, MaxNeurons)
		}
		c := l.InShape[0]
		dil := [2]int{1, 1}
		if l.Kind == Conv {
			dil = l.Dilation
			if dil[0] <= 0 || dil[1] <= 0 || dil[0] > MaxNeurons || dil[1] > MaxNeurons {
				return nil, fmt.Sprintf("dilation %v must be in 1..%d", dil, MaxNeurons)
			}
			if len(l.WShape) != 4 || l.WShape[2] != l.Kernel[0] || l.WShape[3] != l.Kernel[1] || l.WShape[0] <= 0 {
				return nil, fmt.Sprintf("weight shape %v does not match kernel %v", l.WShape, l.Kernel)
			}
			if l.Group <= 0 || c%l.Group != 0 || l.WShape[0]%l.Group != 0 || l.WShape[1] != c/l.Group {
				return nil, fmt.Sprintf("group %d does not fit %d input channels and weight shape %v", l.Group, c, l.WShape)
			}
			c = l.WShape[0]
		} else if l.Dilation != [2]int{} && l.Dilation != [2]int{1, 1} || l.Group > 1 {
			return nil, "pooling has no dilation or groups"
		}
		h, ok1 := outSize(l.InShape[1], l.Kernel[0], l.Stride[0], l.Pad[0], l.Pad[2], dil[0], l.CeilMode)
		w, ok2 := outSize(l.InShape[2], l.Kernel[1], l.Stride[1], l.Pad[1], l.Pad[3], dil[1], l.CeilMode)
		if !ok1 || !ok2 {
			return nil, fmt.Sprintf("kernel %v larger than the padded input %v", l.Kernel, l.InShape)
		}
		return []int{c, h, w}, ""
	}
	return nil, "unknown kind"
}

// outSize is graph's pooling/convolution output size rule.
func outSize(in, k, s, padA, padB, dil int, ceil bool) (int, bool) {
	eff := dil*(k-1) + 1
	num := in + padA + padB - eff
	if num < 0 {
		return 0, false
	}
	o := num/s + 1
	if ceil && num%s != 0 {
		o++
		if (o-1)*s >= in+padA {
			o--
		}
	}
	return o, true
}

// emptyWindow returns a message if some MaxPool window holds no input. The
// windows move right with o, so only the first can end before the input and
// only the last can start after it.
func emptyWindow(l *Layer) string {
	for a := 0; a < 2; a++ {
		n, in := l.OutShape[1+a], l.InShape[1+a]
		for _, o := range []int{0, n - 1} {
			lo := o*l.Stride[a] - l.Pad[a]
			hi := lo + l.Kernel[a]
			if hi <= 0 || lo >= in {
				return fmt.Sprintf("pooling window %d along axis %d lies entirely in the padding", o, a)
			}
		}
	}
	return ""
}

// counterweights computes 1 − b − Σ_j w_j for every output neuron over the
// synapses it really has, in float64, rounded once to float32.
func counterweights(l *Layer) []float32 {
	out := make([]float32, l.Size())
	switch l.Kind {
	case Sum:
		s := make([]float64, len(out))
		per := len(out) / l.OutShape[0]
		for o := range s {
			s[o] = 1 - float64(l.B[o/per])
		}
		for k := range l.Groups {
			subSynapses(l.Groups[k].layer(l.OutShape), s)
		}
		for o := range s {
			out[o] = float32(s[o])
		}
	case Linear:
		in := l.WShape[1]
		for o := range out {
			s := 1 - float64(l.B[o])
			for _, w := range l.W[o*in : (o+1)*in] {
				s -= float64(w)
			}
			out[o] = float32(s)
		}
	case Conv:
		g := newGeom(l)
		for c := 0; c < g.cout; c++ {
			for oh := 0; oh < g.ho; oh++ {
				for ow := 0; ow < g.wo; ow++ {
					s := 1 - float64(l.B[c])
					for ci := 0; ci < g.cing; ci++ {
						for kh := 0; kh < g.kh; kh++ {
							ih := oh*g.sh - g.pt + kh*g.dh
							if ih < 0 || ih >= g.h {
								continue
							}
							for kw := 0; kw < g.kw; kw++ {
								iw := ow*g.sw - g.pl + kw*g.dw
								if iw < 0 || iw >= g.w {
									continue
								}
								s -= float64(l.W[((c*g.cing+ci)*g.kh+kh)*g.kw+kw])
							}
						}
					}
					out[(c*g.ho+oh)*g.wo+ow] = float32(s)
				}
			}
		}
	case AvgPool:
		g := newGeom(l)
		for oh := 0; oh < g.ho; oh++ {
			for ow := 0; ow < g.wo; ow++ {
				nh := validCount(oh*g.sh-g.pt, g.kh, g.h)
				nw := validCount(ow*g.sw-g.pl, g.kw, g.w)
				s := float32(1 - float64(nh*nw)*float64(l.PoolW[oh*g.wo+ow]))
				for c := 0; c < g.cout; c++ {
					out[(c*g.ho+oh)*g.wo+ow] = s
				}
			}
		}
	}
	return out
}

// subSynapses subtracts from s[o] the weight of every synapse into neuron o
// of the group layer g (Conv, Linear, AvgPool or Identity), in float64.
func subSynapses(l *Layer, s []float64) {
	switch l.Kind {
	case Identity:
		per := len(s) / l.InShape[0]
		for o := range s {
			s[o] -= float64(l.W[o/per])
		}
	case Linear:
		in := l.WShape[1]
		for o := range s {
			for _, w := range l.W[o*in : (o+1)*in] {
				s[o] -= float64(w)
			}
		}
	case Conv:
		g := newGeom(l)
		for c := 0; c < g.cout; c++ {
			for oh := 0; oh < g.ho; oh++ {
				for ow := 0; ow < g.wo; ow++ {
					o := (c*g.ho+oh)*g.wo + ow
					for ci := 0; ci < g.cing; ci++ {
						for kh := 0; kh < g.kh; kh++ {
							ih := oh*g.sh - g.pt + kh*g.dh
							if ih < 0 || ih >= g.h {
								continue
							}
							for kw := 0; kw < g.kw; kw++ {
								iw := ow*g.sw - g.pl + kw*g.dw
								if iw < 0 || iw >= g.w {
									continue
								}
								s[o] -= float64(l.W[((c*g.cing+ci)*g.kh+kh)*g.kw+kw])
							}
						}
					}
				}
			}
		}
	case AvgPool:
		g := newGeom(l)
		for oh := 0; oh < g.ho; oh++ {
			for ow := 0; ow < g.wo; ow++ {
				nh := validCount(oh*g.sh-g.pt, g.kh, g.h)
				nw := validCount(ow*g.sw-g.pl, g.kw, g.w)
				v := float64(nh*nw) * float64(l.PoolW[oh*g.wo+ow])
				for c := 0; c < g.cout; c++ {
					s[(c*g.ho+oh)*g.wo+ow] -= v
				}
			}
		}
	}
}

// validCount returns how many of lo, lo+1, …, lo+k−1 lie in [0, n).
func validCount(lo, k, n int) int {
	a, b := max(lo, 0), min(lo+k, n)
	return max(b-a, 0)
}

// geom is the geometry of a conv-like layer (Linear: 1×1 over a 1×1 image).
type geom struct {
	cin, h, w        int
	cout, ho, wo     int
	kh, kw, sh, sw   int
	pt, pl, dh, dw   int
	groups           int
	cing, coutg      int // channels per group
	k, npos, inPlane int
}

func newGeom(l *Layer) geom {
	var g geom
	switch l.Kind {
	case Linear:
		g = geom{cin: l.WShape[1], h: 1, w: 1, cout: l.WShape[0], ho: 1, wo: 1,
			kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, groups: 1}
	case Identity:
		c, h, w := l.InShape[0], 1, 1
		if len(l.InShape) == 3 {
			h, w = l.InShape[1], l.InShape[2]
		}
		g = geom{cin: c, h: h, w: w, cout: c, ho: h, wo: w, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, groups: c}
	default:
		g = geom{cin: l.InShape[0], h: l.InShape[1], w: l.InShape[2],
			cout: l.OutShape[0], ho: l.OutShape[1], wo: l.OutShape[2],
			kh: l.Kernel[0], kw: l.Kernel[1], sh: l.Stride[0], sw: l.Stride[1],
			pt: l.Pad[0], pl: l.Pad[1], dh: 1, dw: 1, groups: 1}
		switch l.Kind {
		case Conv:
			g.dh, g.dw, g.groups = l.Dilation[0], l.Dilation[1], l.Group
		case AvgPool, MaxPool:
			g.groups = g.cin // depthwise
		}
	}
	g.cing, g.coutg = g.cin/g.groups, g.cout/g.groups
	g.k = g.cing * g.kh * g.kw
	g.npos = g.ho * g.wo
	g.inPlane = g.h * g.w
	return g
}
