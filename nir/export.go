package nir

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/internal/hdf5"
	"github.com/quartz-snn/quartz/snn"
)

// Version is the NIR version written to the file's "version" dataset: the
// serialization of nir.read/nir.write 1.0 (node metadata, v_reset).
const Version = "1.0.0"

// Profile names the Quartz profile in the graph metadata (quartz_profile).
const Profile = "quartz-nir/1"

// RectifierWeight is the weight of the rectifier synapse: large enough to
// push any membrane potential over the threshold, small enough that
// 0·w stays 0 in every simulator.
const RectifierWeight = math.MaxFloat32

// RelayThreshold is the v_threshold of a MaxPool relay neuron: one input
// spike of weight 1 crosses it.
const RelayThreshold = 0.5

// Export converts a Quartz network into a NIR graph: the tree of groups
// and datasets that nir.read expects (root datasets "version" and group
// "node"). The warnings say where NIR's own shape inference will disagree
// with the network (asymmetric padding, ceil mode); the Quartz metadata
// still holds the exact geometry. n must be valid (snn.Network.Validate).
func Export(n *snn.Network) (*hdf5.Group, []string, error) {
	if n == nil {
		return nil, nil, errors.New("nir: export: nil network")
	}
	if err := n.Validate(); err != nil {
		return nil, nil, fmt.Errorf("nir: export: %w", err)
	}
	root := &hdf5.Group{}
	root.AddString("version", Version)
	g := root.AddGroup("node")
	g.AddString("type", "NIRGraph")
	b := &builder{nodes: g.AddGroup("nodes")}

	meta := g.AddGroup("metadata")
	meta.AddString("quartz_profile", Profile)
	meta.AddString("quartz_name", n.Name)
	meta.AddString("quartz_threshold", n.Threshold.String())
	meta.AddInt64("quartz_in_shape", []int{len(n.InShape)}, i64(n.InShape)...)
	meta.AddInt64("quartz_layers", nil, int64(len(n.Layers)))
	meta.AddString("quartz_time_unit", "step")
	if len(n.Warnings) > 0 {
		meta.Add("quartz_warnings", &hdf5.Dataset{Type: hdf5.String, Shape: []int{len(n.Warnings)}, Str: slices.Clone(n.Warnings)})
	}
	if n.Signed != 0 {
		meta.AddInt64("quartz_signed", nil, int64(n.Signed))
	}

	in := b.node("input", "Input")
	in.AddInt64("shape", []int{len(n.InShape)}, i64(n.InShape)...)
	im := in.AddGroup("metadata")
	prev, prevShape := "input", n.InShape
	if n.Layers[0].Analog {
		im.AddString("quartz_encoding", "analog")
	} else {
		im.AddString("quartz_encoding", "ttfs")
		im.AddInt64("quartz_t", nil, int64(n.InputT()))
	}

	var warnings []string
	// outs[j] is the node that carries layer j's output spikes; the
	// input spikes (group source −1) are the input, or l0_spikes after an
	// analog first layer.
	outs := make([]string, len(n.Layers))
	for i, l := range n.Layers {
		p := fmt.Sprintf("l%d_", i)
		var inputs []string // the nodes that drive the layer's neurons
		if len(l.Groups) > 0 {
			// A branching layer: one synapse path per input group, from
			// its source's output node; their edges into the neuron
			// node sum (NIR adds the inputs of a node).
			for k := range l.Groups {
				gr := &l.Groups[k]
				src, srcShape := "input", n.InputShape()
				if n.Layers[0].Analog {
					src = "l0_spikes"
				}
				if gr.From >= 0 {
					src, srcShape = outs[gr.From], n.Layers[gr.From].OutShape
				}
				if gr.Kind != snn.Linear && gr.Kind != snn.Identity {
					if gr.Pad[0] != gr.Pad[2] || gr.Pad[1] != gr.Pad[3] {
						warnings = append(warnings, fmt.Sprintf("layer %d %q group %d: asymmetric padding %v: NIR's padding is (%d, %d) on both sides; quartz_pad holds the exact value", i, l.Name, k, gr.Pad, gr.Pad[0], gr.Pad[1]))
					}
					if gr.CeilMode {
						warnings = append(warnings, fmt.Sprintf("layer %d %q group %d: ceil mode: NIR's shape inference rounds down; quartz_out_shape holds the exact shape", i, l.Name, k))
					}
				}
				inputs = append(inputs, b.group(i, k, gr, src, srcShape, l.OutShape))
			}
			prev = ""
		}
		if len(l.Groups) == 0 && len(l.InScale) > 0 {
			// The analog layer's input transform x·InScale[c] + InShift[c]
			// (only layer 0, on the [C H W] image: Validate): a depthwise
			// 1×1 Conv2d, weight [C 1 1 1] = InScale, bias = InShift, which
			// is that map exactly; the next Conv2d zero-pads its output.
			c := len(l.InScale)
			a := b.node(p+"input_affine", "Conv2d")
			a.AddFloat32("weight", []int{c, 1, 1, 1}, slices.Clone(l.InScale)...)
			a.AddFloat32("bias", []int{c}, slices.Clone(l.InShift)...)
			a.AddInt64("stride", []int{2}, 1, 1)
			a.AddInt64("padding", []int{2}, 0, 0)
			a.AddInt64("dilation", []int{2}, 1, 1)
			a.AddInt64("groups", nil, int64(c))
			a.AddInt64("input_shape", []int{2}, int64(prevShape[1]), int64(prevShape[2]))
			b.edge(prev, p+"input_affine")
			prev = p + "input_affine"
		}
		if len(l.Groups) > 0 {
			// The synapses are the groups' (above).
		} else if l.Kind == snn.Linear && len(prevShape) != 1 {
			f := b.node(p+"flatten", "Flatten")
			f.AddInt64("input_type", []int{len(prevShape)}, i64(prevShape)...)
			f.AddInt64("start_dim", nil, 0)
			f.AddInt64("end_dim", nil, -1)
			b.edge(prev, p+"flatten")
			prev = p + "flatten"
		} else if l.Kind != snn.Linear && len(prevShape) != 3 {
			return nil, nil, fmt.Errorf("nir: export: layer %d %q: NIR has no reshape from %v to %v", i, l.Name, prevShape, l.InShape)
		}
		if len(l.Groups) == 0 && l.Kind != snn.Linear {
			if l.Pad[0] != l.Pad[2] || l.Pad[1] != l.Pad[3] {
				warnings = append(warnings, fmt.Sprintf("layer %d %q: asymmetric padding %v: NIR's padding is (%d, %d) on both sides; quartz_pad holds the exact value", i, l.Name, l.Pad, l.Pad[0], l.Pad[1]))
			}
			if l.CeilMode {
				warnings = append(warnings, fmt.Sprintf("layer %d %q: ceil mode: NIR's shape inference rounds down; quartz_out_shape holds the exact shape", i, l.Name))
			}
		}
		syn := ""
		switch {
		case len(l.Groups) > 0:
		case l.Kind == snn.Conv:
			syn = p + "conv"
			c := b.node(syn, "Conv2d")
			c.AddFloat32("weight", slices.Clone(l.WShape), slices.Clone(l.W)...)
			bias := make([]float32, l.WShape[0])
			if l.Analog {
				copy(bias, l.B)
			}
			c.AddFloat32("bias", []int{len(bias)}, bias...)
			c.AddInt64("stride", []int{2}, i64(l.Stride[:])...)
			c.AddInt64("padding", []int{2}, int64(l.Pad[0]), int64(l.Pad[1]))
			c.AddInt64("dilation", []int{2}, i64(l.Dilation[:])...)
			c.AddInt64("groups", nil, int64(l.Group))
			c.AddInt64("input_shape", []int{2}, int64(l.InShape[1]), int64(l.InShape[2]))
		case l.Kind == snn.Linear:
			syn = p + "linear"
			if l.Analog {
				a := b.node(syn, "Affine")
				a.AddFloat32("weight", slices.Clone(l.WShape), slices.Clone(l.W)...)
				a.AddFloat32("bias", []int{len(l.B)}, slices.Clone(l.B)...)
			} else {
				b.node(syn, "Linear").AddFloat32("weight", slices.Clone(l.WShape), slices.Clone(l.W)...)
			}
		case l.Kind == snn.AvgPool, l.Kind == snn.MaxPool:
			syn = p + "sumpool"
			s := b.node(syn, "SumPool2d")
			s.AddInt64("kernel_size", []int{2}, i64(l.Kernel[:])...)
			s.AddInt64("stride", []int{2}, i64(l.Stride[:])...)
			s.AddInt64("padding", []int{2}, int64(l.Pad[0]), int64(l.Pad[1]))
		}
		if syn != "" {
			b.edge(prev, syn)
			prev = syn
		}
		if len(l.Groups) == 0 {
			inputs = []string{prev}
		}
		out := l.OutShape
		switch {
		case l.Analog:
			o := b.node(p+"analog_out", "Output")
			o.AddInt64("shape", []int{len(out)}, i64(out)...)
			layerMeta(o, i, l, n)
			b.edge(prev, p+"analog_out")
			s := b.node(p+"spikes", "Input")
			s.AddInt64("shape", []int{len(out)}, i64(out)...)
			sm := s.AddGroup("metadata")
			sm.AddString("quartz_encoding", "ttfs")
			sm.AddInt64("quartz_t", nil, int64(l.TOut))
			prev = p + "spikes"
		case l.Kind == snn.MaxPool:
			r := b.node(p+"relay", "IF")
			r.AddFloat32("r", out, fill(out, 1)...)
			r.AddFloat32("v_threshold", out, fill(out, RelayThreshold)...)
			r.AddFloat32("v_reset", out, fill(out, 0)...)
			layerMeta(r, i, l, n)
			for _, s := range inputs {
				b.edge(s, p+"relay")
			}
			prev = p + "relay"
		default:
			if l.Kind == snn.AvgPool {
				w := make([]float32, 0, l.Size())
				for c := 0; c < out[0]; c++ {
					w = append(w, l.PoolW...)
				}
				b.node(p+"poolw", "Scale").AddFloat32("scale", out, w...)
				b.edge(prev, p+"poolw")
				inputs = []string{p + "poolw"}
			}
			cur := b.node(p+"i", "I")
			cur.AddFloat32("r", out, fill(out, 1)...)
			for _, s := range inputs {
				b.edge(s, p+"i")
			}
			nrn := b.node(p+"if", "IF")
			nrn.AddFloat32("r", out, fill(out, 1)...)
			nrn.AddFloat32("v_threshold", out, fill(out, l.Theta)...)
			nrn.AddFloat32("v_reset", out, fill(out, 0)...)
			layerMeta(nrn, i, l, n)
			b.edge(p+"i", p+"if")
			prev = p + "if"

			// The synchronous control spikes: one sync Input per layer,
			// delayed to the readout and rectifier steps.
			sync := b.node(p+"sync", "Input")
			sync.AddInt64("shape", []int{len(out)}, i64(out)...)
			sm := sync.AddGroup("metadata")
			sm.AddInt64("quartz_spike_step", nil, int64(n.Tau(i)))
			if l.Kind != snn.AvgPool {
				bias := slices.Clone(l.B)
				if l.Kind == snn.Conv || l.Kind == snn.Sum {
					bias = broadcast(l.B, l.Size())
				}
				b.node(p+"bias", "Scale").AddFloat32("scale", out, bias...)
				b.edge(p+"sync", p+"bias")
				b.edge(p+"bias", p+"i")
			}
			b.node(p+"readout_delay", "Delay").AddFloat32("delay", out, fill(out, float32(l.T))...)
			b.node(p+"readout", "Scale").AddFloat32("scale", out, slices.Clone(l.Counter)...)
			b.edge(p+"sync", p+"readout_delay")
			b.edge(p+"readout_delay", p+"readout")
			b.edge(p+"readout", p+"i")
			if l.Rectify {
				b.node(p+"rectifier_delay", "Delay").AddFloat32("delay", out, fill(out, float32(l.T+l.TOut))...)
				b.node(p+"rectifier", "Scale").AddFloat32("scale", out, fill(out, RectifierWeight)...)
				b.edge(p+"sync", p+"rectifier_delay")
				b.edge(p+"rectifier_delay", p+"rectifier")
				b.edge(p+"rectifier", p+"if")
			}
		}
		prevShape = out
		outs[i] = prev
	}
	o := b.node("output", "Output")
	o.AddInt64("shape", []int{len(prevShape)}, i64(prevShape)...)
	b.edge(prev, "output")

	e := make([]string, 0, 2*len(b.edges))
	for _, x := range b.edges {
		e = append(e, x[0], x[1])
	}
	g.Add("edges", &hdf5.Dataset{Type: hdf5.String, Shape: []int{len(b.edges), 2}, Str: e})
	return root, warnings, nil
}

// Marshal exports n and encodes it as an HDF5 file.
func Marshal(n *snn.Network) ([]byte, []string, error) {
	root, warnings, err := Export(n)
	if err != nil {
		return nil, nil, err
	}
	Seal(root)
	data, err := hdf5.Marshal(root)
	return data, warnings, err
}

// ChecksumAttr is the root attribute that holds the hex SHA-256 of the
// file's payload (hdf5.Digest of the tree): Marshal writes it, Unmarshal
// refuses a file whose payload does not match it. NIR readers ignore it.
const ChecksumAttr = "quartz_sha256"

// Seal sets the checksum attribute of root to the digest of its tree.
func Seal(root *hdf5.Group) {
	sum := hdf5.Digest(root)
	root.SetAttr(ChecksumAttr, &hdf5.Dataset{Type: hdf5.String, Str: []string{hex.EncodeToString(sum[:])}})
}

// NoChecksum is Unmarshal's warning for a file without the checksum
// attribute (written by another tool, or by quartz before it had one).
const NoChecksum = "the file has no quartz_sha256 checksum attribute: corruption of its weights cannot be detected"

// verify checks root's checksum attribute; with none it returns the
// NoChecksum warning.
func verify(root *hdf5.Group) (string, error) {
	a := root.Attr(ChecksumAttr)
	if a == nil {
		return NoChecksum, nil
	}
	if a.Type != hdf5.String || len(a.Str) != 1 || len(a.Shape) != 0 {
		return "", &ImportError{Path: "/@" + ChecksumAttr, Msg: "not a scalar string"}
	}
	sum := hdf5.Digest(root)
	if got := hex.EncodeToString(sum[:]); got != a.Str[0] {
		return "", &ImportError{Path: "/@" + ChecksumAttr, Msg: fmt.Sprintf("checksum mismatch: the payload's SHA-256 is %.16s…, the file says %.16s…; the file is corrupted", got, a.Str[0])}
	}
	return "", nil
}

// layerMeta writes the Quartz profile of layer i into node's metadata.
func layerMeta(node *hdf5.Group, i int, l *snn.Layer, n *snn.Network) {
	m := node.AddGroup("metadata")
	m.AddInt64("quartz_layer", nil, int64(i))
	m.AddString("quartz_name", l.Name)
	m.AddString("quartz_kind", l.Kind.String())
	m.AddInt64("quartz_analog", nil, b64(l.Analog))
	m.AddInt64("quartz_in_shape", []int{len(l.InShape)}, i64(l.InShape)...)
	m.AddInt64("quartz_out_shape", []int{len(l.OutShape)}, i64(l.OutShape)...)
	m.AddInt64("quartz_kernel", []int{2}, i64(l.Kernel[:])...)
	m.AddInt64("quartz_stride", []int{2}, i64(l.Stride[:])...)
	m.AddInt64("quartz_pad", []int{4}, i64(l.Pad[:])...)
	m.AddInt64("quartz_dilation", []int{2}, i64(l.Dilation[:])...)
	m.AddInt64("quartz_group", nil, int64(l.Group))
	m.AddInt64("quartz_ceil_mode", nil, b64(l.CeilMode))
	m.AddInt64("quartz_t", nil, int64(l.T))
	m.AddInt64("quartz_t_out", nil, int64(l.TOut))
	m.AddInt64("quartz_tau", nil, int64(n.Tau(i)))
	m.AddFloat32("quartz_theta", nil, l.Theta)
	m.AddInt64("quartz_rectify", nil, b64(l.Rectify))
	m.AddInt64("quartz_output", nil, b64(l.Output))
	if len(l.Groups) > 0 {
		m.AddInt64("quartz_groups", nil, int64(len(l.Groups)))
	}
}

// groupSuffixes are the names (after l<i>_g<k>_) of a group's synapse
// node, by the group's kind.
var groupSuffixes = map[snn.Kind]string{snn.Conv: "conv", snn.Linear: "linear", snn.AvgPool: "sumpool", snn.MaxPool: "sumpool", snn.Identity: "identity"}

// group writes the synapse path of input group k of layer i, reading the
// node src (of shape srcShape), into neurons of shape out: nodes named
// l<i>_g<k>_…: a Flatten (Linear on [C H W]), the synapse node (Conv2d,
// Linear, SumPool2d, or a Scale of one weight per channel for Identity)
// with the group's Quartz fields as metadata, a Scale of the pooling
// weights (AvgPool) and a Delay of Group.Delay steps (when > 0). It
// returns the last node of the path.
func (b *builder) group(i, k int, g *snn.Group, src string, srcShape, out []int) string {
	q := fmt.Sprintf("l%d_g%d_", i, k)
	prev := src
	if g.Kind == snn.Linear && len(srcShape) != 1 {
		f := b.node(q+"flatten", "Flatten")
		f.AddInt64("input_type", []int{len(srcShape)}, i64(srcShape)...)
		f.AddInt64("start_dim", nil, 0)
		f.AddInt64("end_dim", nil, -1)
		b.edge(prev, q+"flatten")
		prev = q + "flatten"
	}
	syn := q + groupSuffixes[g.Kind]
	var s *hdf5.Group
	switch g.Kind {
	case snn.Conv:
		s = b.node(syn, "Conv2d")
		s.AddFloat32("weight", slices.Clone(g.WShape), slices.Clone(g.W)...)
		s.AddFloat32("bias", []int{g.WShape[0]}, make([]float32, g.WShape[0])...)
		s.AddInt64("stride", []int{2}, i64(g.Stride[:])...)
		s.AddInt64("padding", []int{2}, int64(g.Pad[0]), int64(g.Pad[1]))
		s.AddInt64("dilation", []int{2}, i64(g.Dilation[:])...)
		s.AddInt64("groups", nil, int64(g.Group))
		s.AddInt64("input_shape", []int{2}, int64(g.InShape[1]), int64(g.InShape[2]))
	case snn.Linear:
		s = b.node(syn, "Linear")
		s.AddFloat32("weight", slices.Clone(g.WShape), slices.Clone(g.W)...)
	case snn.AvgPool, snn.MaxPool:
		s = b.node(syn, "SumPool2d")
		s.AddInt64("kernel_size", []int{2}, i64(g.Kernel[:])...)
		s.AddInt64("stride", []int{2}, i64(g.Stride[:])...)
		s.AddInt64("padding", []int{2}, int64(g.Pad[0]), int64(g.Pad[1]))
	default: // Identity: neuron (c, …) reads input (c, …) with weight W[c]
		s = b.node(syn, "Scale")
		s.AddFloat32("scale", slices.Clone(out), broadcast(g.W, size(out))...)
	}
	m := s.AddGroup("metadata")
	m.AddInt64("quartz_from", nil, int64(g.From))
	m.AddString("quartz_kind", g.Kind.String())
	m.AddInt64("quartz_in_shape", []int{len(g.InShape)}, i64(g.InShape)...)
	m.AddInt64("quartz_kernel", []int{2}, i64(g.Kernel[:])...)
	m.AddInt64("quartz_stride", []int{2}, i64(g.Stride[:])...)
	m.AddInt64("quartz_pad", []int{4}, i64(g.Pad[:])...)
	m.AddInt64("quartz_dilation", []int{2}, i64(g.Dilation[:])...)
	m.AddInt64("quartz_group", nil, int64(g.Group))
	m.AddInt64("quartz_ceil_mode", nil, b64(g.CeilMode))
	m.AddInt64("quartz_delay", nil, int64(g.Delay))
	b.edge(prev, syn)
	prev = syn
	if g.Kind == snn.AvgPool {
		w := make([]float32, 0, size(out))
		for c := 0; c < out[0]; c++ {
			w = append(w, g.PoolW...)
		}
		b.node(q+"poolw", "Scale").AddFloat32("scale", slices.Clone(out), w...)
		b.edge(prev, q+"poolw")
		prev = q + "poolw"
	}
	if g.Delay > 0 {
		b.node(q+"delay", "Delay").AddFloat32("delay", slices.Clone(out), fill(out, float32(g.Delay))...)
		b.edge(prev, q+"delay")
		prev = q + "delay"
	}
	return prev
}

type builder struct {
	nodes *hdf5.Group
	edges [][2]string
}

func (b *builder) node(name, typ string) *hdf5.Group {
	g := b.nodes.AddGroup(name)
	g.AddString("type", typ)
	return g
}

func (b *builder) edge(src, dst string) { b.edges = append(b.edges, [2]string{src, dst}) }

func i64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func b64(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func fill(shape []int, v float32) []float32 {
	out := make([]float32, size(shape))
	for i := range out {
		out[i] = v
	}
	return out
}

// broadcast repeats each per-channel value over the channel's n/len(perC)
// positions.
func broadcast(perC []float32, n int) []float32 {
	out := make([]float32, 0, n)
	k := n / len(perC)
	for _, v := range perC {
		for j := 0; j < k; j++ {
			out = append(out, v)
		}
	}
	return out
}
