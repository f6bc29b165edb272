package nir

import (
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/internal/hdf5"
	"github.com/quartz-snn/quartz/snn"
)

// ImportError reports a NIR file that is not a Quartz-profile graph, or
// whose nodes disagree with their Quartz metadata, naming the HDF5 path.
type ImportError struct {
	Path string
	Msg  string
}

func (e *ImportError) Error() string {
	if e.Path == "" {
		return "nir: import: " + e.Msg
	}
	return fmt.Sprintf("nir: import: %s: %s", e.Path, e.Msg)
}

// Unmarshal decodes an HDF5 NIR file written by Marshal (see Import). It
// first checks the payload against the file's checksum attribute
// (ChecksumAttr) and refuses a mismatch; a file without one is read with
// the NoChecksum warning.
func Unmarshal(data []byte) (*snn.Network, []string, error) {
	root, err := hdf5.Read(data)
	if err != nil {
		return nil, nil, err
	}
	warn, err := verify(root)
	if err != nil {
		return nil, nil, err
	}
	n, err := Import(root)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if warn != "" {
		warnings = append(warnings, warn)
	}
	return n, warnings, nil
}

// Import rebuilds the Quartz network from a NIR graph of the Quartz profile:
// the geometry and windows from the nodes' quartz_* metadata, the weights,
// biases, pooling weights and counterweights from the NIR nodes. It then
// validates the network and exports it again: the file must match that
// export exactly (every node, parameter, metadata entry and edge), so that
// whatever Import accepts simulates exactly as the network that was
// exported.
func Import(root *hdf5.Group) (*snn.Network, error) {
	if root == nil {
		return nil, &ImportError{Msg: "nil root"}
	}
	if _, err := str(root, "", "version"); err != nil {
		return nil, err
	}
	g := root.SubGroup("node")
	if g == nil {
		return nil, &ImportError{Path: "/node", Msg: "missing (not a NIR file)"}
	}
	if t, err := str(g, "/node", "type"); err != nil {
		return nil, err
	} else if t != "NIRGraph" {
		return nil, &ImportError{Path: "/node/type", Msg: fmt.Sprintf("%q, want NIRGraph", t)}
	}
	meta := g.SubGroup("metadata")
	if meta == nil {
		return nil, &ImportError{Path: "/node/metadata", Msg: "missing: not a Quartz-profile NIR graph (written by quartz export)"}
	}
	mp := "/node/metadata"
	if p, err := str(meta, mp, "quartz_profile"); err != nil {
		return nil, err
	} else if p != Profile {
		return nil, &ImportError{Path: mp + "/quartz_profile", Msg: fmt.Sprintf("%q, want %q", p, Profile)}
	}
	nodes := g.SubGroup("nodes")
	if nodes == nil {
		return nil, &ImportError{Path: "/node/nodes", Msg: "missing"}
	}
	n := &snn.Network{}
	var err error
	if n.Name, err = str(meta, mp, "quartz_name"); err != nil {
		return nil, err
	}
	th, err := str(meta, mp, "quartz_threshold")
	if err != nil {
		return nil, err
	}
	if err := n.Threshold.UnmarshalText([]byte(th)); err != nil {
		return nil, &ImportError{Path: mp + "/quartz_threshold", Msg: err.Error()}
	}
	if n.InShape, err = ints(meta, mp, "quartz_in_shape"); err != nil {
		return nil, err
	}
	if d := meta.Dataset("quartz_warnings"); d != nil {
		if d.Type != hdf5.String || len(d.Shape) != 1 {
			return nil, &ImportError{Path: mp + "/quartz_warnings", Msg: "want a string array"}
		}
		n.Warnings = d.Str
	}
	if meta.Dataset("quartz_signed") != nil {
		if n.Signed, err = integer(meta, mp, "quartz_signed"); err != nil {
			return nil, err
		}
	}
	nl, err := integer(meta, mp, "quartz_layers")
	if err != nil {
		return nil, err
	}
	if nl < 1 || nl > len(nodes.Members) {
		return nil, &ImportError{Path: mp + "/quartz_layers", Msg: fmt.Sprintf("%d layers for %d nodes", nl, len(nodes.Members))}
	}
	for i := 0; i < nl; i++ {
		l, err := importLayer(nodes, i)
		if err != nil {
			return nil, err
		}
		n.Layers = append(n.Layers, l)
	}
	if err := n.Validate(); err != nil {
		return nil, &ImportError{Msg: err.Error()}
	}
	again, _, err := Export(n)
	if err != nil {
		return nil, &ImportError{Msg: err.Error()}
	}
	if path, msg := diffGroup("", again, root); msg != "" {
		return nil, &ImportError{Path: path, Msg: msg + " (the file is not what quartz export writes for the network its metadata describes)"}
	}
	return n, nil
}

func importLayer(nodes *hdf5.Group, i int) (*snn.Layer, error) {
	p := fmt.Sprintf("l%d_", i)
	var node *hdf5.Group
	var name string
	for _, s := range []string{"if", "relay", "analog_out"} {
		if node = nodes.SubGroup(p + s); node != nil {
			name = p + s
			break
		}
	}
	if node == nil {
		return nil, &ImportError{Path: "/node/nodes/" + p + "if", Msg: "missing: no neuron node for layer " + fmt.Sprint(i)}
	}
	mp := "/node/nodes/" + name + "/metadata"
	m := node.SubGroup("metadata")
	if m == nil {
		return nil, &ImportError{Path: mp, Msg: "missing"}
	}
	l := &snn.Layer{}
	var err error
	if idx, err := integer(m, mp, "quartz_layer"); err != nil {
		return nil, err
	} else if idx != i {
		return nil, &ImportError{Path: mp + "/quartz_layer", Msg: fmt.Sprintf("%d, want %d", idx, i)}
	}
	if l.Name, err = str(m, mp, "quartz_name"); err != nil {
		return nil, err
	}
	kind, err := str(m, mp, "quartz_kind")
	if err != nil {
		return nil, err
	}
	if err := l.Kind.UnmarshalText([]byte(kind)); err != nil {
		return nil, &ImportError{Path: mp + "/quartz_kind", Msg: err.Error()}
	}
	flags := map[string]*bool{"quartz_analog": &l.Analog, "quartz_ceil_mode": &l.CeilMode, "quartz_rectify": &l.Rectify, "quartz_output": &l.Output}
	for k, dst := range flags {
		v, err := integer(m, mp, k)
		if err != nil {
			return nil, err
		}
		if v != 0 && v != 1 {
			return nil, &ImportError{Path: mp + "/" + k, Msg: fmt.Sprintf("%d, want 0 or 1", v)}
		}
		*dst = v == 1
	}
	if l.InShape, err = ints(m, mp, "quartz_in_shape"); err != nil {
		return nil, err
	}
	if l.OutShape, err = ints(m, mp, "quartz_out_shape"); err != nil {
		return nil, err
	}
	arrays := []struct {
		key string
		dst []int
	}{{"quartz_kernel", l.Kernel[:]}, {"quartz_stride", l.Stride[:]}, {"quartz_pad", l.Pad[:]}, {"quartz_dilation", l.Dilation[:]}}
	for _, a := range arrays {
		v, err := ints(m, mp, a.key)
		if err != nil {
			return nil, err
		}
		if len(v) != len(a.dst) {
			return nil, &ImportError{Path: mp + "/" + a.key, Msg: fmt.Sprintf("%d values, want %d", len(v), len(a.dst))}
		}
		copy(a.dst, v)
	}
	scalars := []struct {
		key string
		dst *int
	}{{"quartz_group", &l.Group}, {"quartz_t", &l.T}, {"quartz_t_out", &l.TOut}}
	for _, s := range scalars {
		if *s.dst, err = integer(m, mp, s.key); err != nil {
			return nil, err
		}
	}
	theta, err := floats(m, mp, "quartz_theta")
	if err != nil {
		return nil, err
	}
	if len(theta) != 1 {
		return nil, &ImportError{Path: mp + "/quartz_theta", Msg: "want a scalar"}
	}
	l.Theta = theta[0]
	if size(l.OutShape) <= 0 || size(l.OutShape) > 1<<28 {
		return nil, &ImportError{Path: mp + "/quartz_out_shape", Msg: fmt.Sprintf("%v: bad size", l.OutShape)}
	}

	// The parameters live in the NIR nodes.
	get := func(node, key string) ([]float32, []int, error) {
		path := "/node/nodes/" + p + node
		g := nodes.SubGroup(p + node)
		if g == nil {
			return nil, nil, &ImportError{Path: path, Msg: "missing"}
		}
		d := g.Dataset(key)
		if d == nil || d.Type != hdf5.Float32 {
			return nil, nil, &ImportError{Path: path + "/" + key, Msg: "missing or not float32"}
		}
		return slices.Clone(d.F32), d.Shape, nil
	}
	if m.Dataset("quartz_groups") != nil {
		ng, err := integer(m, mp, "quartz_groups")
		if err != nil {
			return nil, err
		}
		if ng < 1 || ng > len(nodes.Members) {
			return nil, &ImportError{Path: mp + "/quartz_groups", Msg: fmt.Sprintf("%d groups for %d nodes", ng, len(nodes.Members))}
		}
		for k := 0; k < ng; k++ {
			g, err := importGroup(nodes, i, k, l.OutShape)
			if err != nil {
				return nil, err
			}
			l.Groups = append(l.Groups, g)
		}
	}
	switch {
	case len(l.Groups) > 0:
		if l.Kind == snn.Sum {
			all, _, err := get("bias", "scale")
			if err != nil {
				return nil, err
			}
			c := l.OutShape[0]
			if c <= 0 || len(all)%c != 0 {
				return nil, &ImportError{Path: "/node/nodes/" + p + "bias/scale", Msg: fmt.Sprintf("%d values for %d channels", len(all), c)}
			}
			l.B = make([]float32, c)
			for j := range l.B {
				l.B[j] = all[j*(len(all)/c)]
			}
		}
	case l.Kind == snn.Conv, l.Kind == snn.Linear:
		syn, key := "conv", "bias"
		if l.Kind == snn.Linear {
			syn = "linear"
		}
		if l.W, l.WShape, err = get(syn, "weight"); err != nil {
			return nil, err
		}
		l.WShape = slices.Clone(l.WShape)
		if len(l.WShape) == 0 {
			return nil, &ImportError{Path: "/node/nodes/" + p + syn + "/weight", Msg: "want an array"}
		}
		if l.Analog {
			if l.B, _, err = get(syn, key); err != nil {
				return nil, err
			}
			// The input transform, if the file has one (Export writes it
			// as l0_input_affine); Import's re-export checks the rest.
			if nodes.SubGroup(p+"input_affine") != nil {
				if l.InScale, _, err = get("input_affine", "weight"); err != nil {
					return nil, err
				}
				if l.InShift, _, err = get("input_affine", "bias"); err != nil {
					return nil, err
				}
			}
		} else {
			all, _, err := get("bias", "scale")
			if err != nil {
				return nil, err
			}
			c := l.WShape[0]
			if c <= 0 || len(all)%c != 0 {
				return nil, &ImportError{Path: "/node/nodes/" + p + "bias/scale", Msg: fmt.Sprintf("%d values for %d channels", len(all), c)}
			}
			l.B = make([]float32, c)
			for j := range l.B {
				l.B[j] = all[j*(len(all)/c)]
			}
		}
	case l.Kind == snn.AvgPool:
		all, _, err := get("poolw", "scale")
		if err != nil {
			return nil, err
		}
		if len(l.OutShape) != 3 || len(all) < l.OutShape[1]*l.OutShape[2] {
			return nil, &ImportError{Path: "/node/nodes/" + p + "poolw/scale", Msg: "does not match the output shape"}
		}
		l.PoolW = slices.Clone(all[:l.OutShape[1]*l.OutShape[2]])
	}
	if l.Spiking() {
		if l.Counter, _, err = get("readout", "scale"); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// importGroup reads input group k of layer i (neurons of shape out) from
// the nodes l<i>_g<k>_… that Export's group writes: the Quartz fields from
// the synapse node's metadata, the weights from the NIR nodes. Import's
// re-export checks the rest (edges, delays, flatten).
func importGroup(nodes *hdf5.Group, i, k int, out []int) (snn.Group, error) {
	q := fmt.Sprintf("l%d_g%d_", i, k)
	var g snn.Group
	var syn *hdf5.Group
	var name string
	for _, suffix := range []string{"conv", "linear", "sumpool", "identity"} {
		if syn = nodes.SubGroup(q + suffix); syn != nil {
			name = q + suffix
			break
		}
	}
	if syn == nil {
		return g, &ImportError{Path: "/node/nodes/" + q + "conv", Msg: fmt.Sprintf("missing: no synapse node for group %d of layer %d", k, i)}
	}
	path := "/node/nodes/" + name
	mp := path + "/metadata"
	m := syn.SubGroup("metadata")
	if m == nil {
		return g, &ImportError{Path: mp, Msg: "missing"}
	}
	var err error
	if g.From, err = integer(m, mp, "quartz_from"); err != nil {
		return g, err
	}
	kind, err := str(m, mp, "quartz_kind")
	if err != nil {
		return g, err
	}
	if err := g.Kind.UnmarshalText([]byte(kind)); err != nil {
		return g, &ImportError{Path: mp + "/quartz_kind", Msg: err.Error()}
	}
	if groupSuffixes[g.Kind] == "" || q+groupSuffixes[g.Kind] != name {
		return g, &ImportError{Path: mp + "/quartz_kind", Msg: fmt.Sprintf("%v on node %s", g.Kind, name)}
	}
	if g.InShape, err = ints(m, mp, "quartz_in_shape"); err != nil {
		return g, err
	}
	arrays := []struct {
		key string
		dst []int
	}{{"quartz_kernel", g.Kernel[:]}, {"quartz_stride", g.Stride[:]}, {"quartz_pad", g.Pad[:]}, {"quartz_dilation", g.Dilation[:]}}
	for _, a := range arrays {
		v, err := ints(m, mp, a.key)
		if err != nil {
			return g, err
		}
		if len(v) != len(a.dst) {
			return g, &ImportError{Path: mp + "/" + a.key, Msg: fmt.Sprintf("%d values, want %d", len(v), len(a.dst))}
		}
		copy(a.dst, v)
	}
	if g.Group, err = integer(m, mp, "quartz_group"); err != nil {
		return g, err
	}
	if g.Delay, err = integer(m, mp, "quartz_delay"); err != nil {
		return g, err
	}
	ceil, err := integer(m, mp, "quartz_ceil_mode")
	if err != nil {
		return g, err
	}
	if ceil != 0 && ceil != 1 {
		return g, &ImportError{Path: mp + "/quartz_ceil_mode", Msg: fmt.Sprintf("%d, want 0 or 1", ceil)}
	}
	g.CeilMode = ceil == 1
	f32 := func(node *hdf5.Group, p, key string) ([]float32, []int, error) {
		d := node.Dataset(key)
		if d == nil || d.Type != hdf5.Float32 {
			return nil, nil, &ImportError{Path: p + "/" + key, Msg: "missing or not float32"}
		}
		return slices.Clone(d.F32), slices.Clone(d.Shape), nil
	}
	switch g.Kind {
	case snn.Conv, snn.Linear:
		if g.W, g.WShape, err = f32(syn, path, "weight"); err != nil {
			return g, err
		}
		if len(g.WShape) == 0 {
			return g, &ImportError{Path: path + "/weight", Msg: "want an array"}
		}
	case snn.Identity:
		all, _, err := f32(syn, path, "scale")
		if err != nil {
			return g, err
		}
		if len(g.InShape) == 0 || g.InShape[0] <= 0 || len(all)%g.InShape[0] != 0 || len(all) == 0 {
			return g, &ImportError{Path: path + "/scale", Msg: fmt.Sprintf("%d values for input shape %v", len(all), g.InShape)}
		}
		c := g.InShape[0]
		g.W = make([]float32, c)
		for j := range g.W {
			g.W[j] = all[j*(len(all)/c)]
		}
	case snn.AvgPool:
		pw := nodes.SubGroup(q + "poolw")
		if pw == nil {
			return g, &ImportError{Path: "/node/nodes/" + q + "poolw", Msg: "missing"}
		}
		all, _, err := f32(pw, "/node/nodes/"+q+"poolw", "scale")
		if err != nil {
			return g, err
		}
		if len(out) != 3 || out[1] <= 0 || out[2] <= 0 || len(all) < out[1]*out[2] {
			return g, &ImportError{Path: "/node/nodes/" + q + "poolw/scale", Msg: "does not match the output shape"}
		}
		g.PoolW = slices.Clone(all[:out[1]*out[2]])
	}
	return g, nil
}

func str(g *hdf5.Group, path, key string) (string, error) {
	d := g.Dataset(key)
	if d == nil || d.Type != hdf5.String || len(d.Shape) != 0 {
		return "", &ImportError{Path: path + "/" + key, Msg: "missing or not a scalar string"}
	}
	return d.Str[0], nil
}

func ints(g *hdf5.Group, path, key string) ([]int, error) {
	d := g.Dataset(key)
	if d == nil || d.Type != hdf5.Int64 {
		return nil, &ImportError{Path: path + "/" + key, Msg: "missing or not int64"}
	}
	out := make([]int, len(d.I64))
	for i, v := range d.I64 {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, &ImportError{Path: path + "/" + key, Msg: fmt.Sprintf("value %d out of range", v)}
		}
		out[i] = int(v)
	}
	return out, nil
}

func integer(g *hdf5.Group, path, key string) (int, error) {
	v, err := ints(g, path, key)
	if err != nil {
		return 0, err
	}
	if d := g.Dataset(key); len(d.Shape) != 0 {
		return 0, &ImportError{Path: path + "/" + key, Msg: "want a scalar"}
	}
	return v[0], nil
}

func floats(g *hdf5.Group, path, key string) ([]float32, error) {
	d := g.Dataset(key)
	if d == nil || d.Type != hdf5.Float32 {
		return nil, &ImportError{Path: path + "/" + key, Msg: "missing or not float32"}
	}
	return d.F32, nil
}

// diffGroup compares two trees, members in any order, floats bit for bit;
// it returns the path of the first difference and what differs.
func diffGroup(path string, want, got *hdf5.Group) (string, string) {
	if len(want.Members) != len(got.Members) {
		for _, m := range want.Members {
			if got.Get(m.Name) == nil {
				return path + "/" + m.Name, "missing"
			}
		}
		for _, m := range got.Members {
			if want.Get(m.Name) == nil {
				return path + "/" + m.Name, "unexpected member"
			}
		}
	}
	for _, w := range want.Members {
		p := path + "/" + w.Name
		gm := got.Get(w.Name)
		switch {
		case gm == nil:
			return p, "missing"
		case w.Group != nil:
			if gm.Group == nil {
				return p, "want a group"
			}
			if q, msg := diffGroup(p, w.Group, gm.Group); msg != "" {
				return q, msg
			}
		default:
			if gm.Dataset == nil {
				return p, "want a dataset"
			}
			if msg := diffDataset(w.Dataset, gm.Dataset); msg != "" {
				return p, msg
			}
		}
	}
	return "", ""
}

func diffDataset(want, got *hdf5.Dataset) string {
	if want.Type != got.Type || !slices.Equal(want.Shape, got.Shape) {
		return fmt.Sprintf("%v, want %v", got, want)
	}
	for i := range want.F32 {
		if math.Float32bits(want.F32[i]) != math.Float32bits(got.F32[i]) {
			return fmt.Sprintf("element %d = %v, want %v", i, got.F32[i], want.F32[i])
		}
	}
	for i := range want.F64 {
		if math.Float64bits(want.F64[i]) != math.Float64bits(got.F64[i]) {
			return fmt.Sprintf("element %d = %v, want %v", i, got.F64[i], want.F64[i])
		}
	}
	if !slices.Equal(want.I64, got.I64) {
		return fmt.Sprintf("%v, want %v", got.I64, want.I64)
	}
	if !slices.Equal(want.Str, got.Str) {
		return fmt.Sprintf("%q, want %q", got.Str, want.Str)
	}
	return ""
}
