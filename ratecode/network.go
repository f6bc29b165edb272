package ratecode

import (
	"errors"
	"fmt"

	"github.com/quartz-snn/quartz/graph"
)

// Kind is the kind of a layer of the rate-coded network.
type Kind int

// Layer kinds. Conv, Linear and AvgPool are layers of IF neurons; MaxPool is a
// gate (relay) layer.
const (
	Conv    Kind = iota + 1 // IF neurons fed by a convolution
	Linear                  // IF neurons fed by a fully connected layer
	AvgPool                 // IF neurons with fixed weights 1/divisor, no bias
	MaxPool                 // gate: relays the spikes of the window's most active input
)

var kindNames = map[Kind]string{Conv: "Conv", Linear: "Linear", AvgPool: "AvgPool", MaxPool: "MaxPool"}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Layer describes one layer of the rate-coded network.
type Layer struct {
	Name    string // the graph layer it came from
	Kind    Kind
	Shape   []int // output shape, [C H W] or [N]
	Neurons int   // outputs (gate neurons for MaxPool)
	// Analog marks the first layer, whose input current W·x + b comes from
	// the pixels directly (no input spikes).
	Analog bool
	// Output marks the last layer, read out for the class.
	Output bool
	// MACs of the analog layer's current, computed once per sample.
	MACs int64
}

// ConvertError reports a node of the model that the rate-coded network
// cannot represent.
type ConvertError struct {
	Layer int    // index of the node in the graph model
	Name  string // node name
	Op    graph.Op
	Msg   string
}

func (e *ConvertError) Error() string {
	return fmt.Sprintf("ratecode: node %d %q (%v): %s", e.Layer, e.Name, e.Op, e.Msg)
}

// layer is the simulator's form of a Layer: read-only, shared by workers.
type layer struct {
	Layer
	in, out int // input and output sizes
	// Geometry of Conv, AvgPool and MaxPool (input C,H,W; output C,H,W).
	cin, hin, win, cout, hout, wout, kh, kw int
	cinG, coutG                             int // channels per group (Conv)
	// Scatter tables: for input row y the (oy, ky) pairs with
	// oy·stride − pad + ky·dilation = y are rowPair[rowOff[y]:rowOff[y+1]]
	// (flattened pairs); the same per column.
	rowOff, rowPair, colOff, colPair []int32
	// wt holds the weights transposed for scattering: Conv
	// [cin][kh][kw][coutG], Linear [in][out].
	wt    []float32
	poolW []float32 // AvgPool: weight per output position (1/divisor)
	bias  []float32 // per output neuron (zeros when the layer has none)
	// fanout is, per input neuron, the number of synapses into this layer.
	fanout []int32
	// first holds, per MaxPool output, the first input of its window (the
	// initial winner).
	first []int32
	// g is the graph layer, kept for the analog layer's forward pass.
	g *graph.Node
	// inScale and inShift are the analog layer's input transform (a
	// graph.Affine before it): it reads x[c,·]·inScale[c] + inShift[c]
	// instead of the pixels. plane is the number of values per channel.
	inScale, inShift []float32
	plane            int
}

// build turns a simplified, normalized chain model into layers. The
// structural rules are those of snn.Convert: ReLU (or Clip with Min = 0)
// after a Conv/Linear/AvgPool, possibly behind a MaxPool, makes it a hidden
// layer; the last Conv/Linear/AvgPool is the output layer; Dropout and
// Flatten (and Reshape) are structure only. A graph.Affine input transform
// may come before the first layer, whose analog current then reads the
// transformed input. A model that is not a chain (graph.ErrBranching) and
// an ANN-only op (graph.Op.AnnOnly) are refused naming the node.
func build(m *graph.Model) ([]*layer, []string, error) {
	if m == nil {
		return nil, nil, errors.New("ratecode: nil model")
	}
	mc := m.Clone()
	if err := mc.InferShapes(); err != nil {
		return nil, nil, fmt.Errorf("ratecode: %w", err)
	}
	if err := mc.CheckChain(); err != nil {
		return nil, nil, fmt.Errorf("ratecode: %w (the rate-coded baseline takes chains only)", err)
	}
	if err := mc.CheckFinite(); err != nil {
		return nil, nil, fmt.Errorf("ratecode: %w", err)
	}
	gl := mc.Nodes
	cerr := func(i int, format string, a ...any) error {
		return &ConvertError{Layer: i, Name: gl[i].Name, Op: gl[i].Op, Msg: fmt.Sprintf(format, a...)}
	}
	type unit struct {
		idx  int
		kind Kind
		rect bool
	}
	var units []unit
	var warnings []string
	affine := -1 // the graph.Affine input transform, if any
	for i, l := range gl {
		switch l.Op {
		case graph.Dropout, graph.Flatten, graph.Reshape, graph.ReLU:
		case graph.Affine:
			// The first layer is always analog here: its current reads
			// the transformed input, zero-padded after the transform.
			if len(units) > 0 || affine >= 0 {
				return nil, nil, cerr(i, "an input transform is supported only once, before the first Conv or Linear layer; an Affine (x·scale + shift) anywhere else is not supported yet")
			}
			affine = i
		case graph.Clip:
			if l.Min != 0 {
				return nil, nil, cerr(i, "Clip with Min = %v is not supported (only Min = 0, treated as ReLU)", l.Min)
			}
			if l.Max < 1 {
				warnings = append(warnings, fmt.Sprintf("layer %q: Clip(0, %v) is treated as ReLU; rates saturate at 1, not %v", l.Name, l.Max, l.Max))
			}
		case graph.LeakyReLU:
			return nil, nil, cerr(i, "LeakyReLU (alpha %v): not convertible (ANN only): IF neurons cannot carry its negative outputs; retrain with ReLU", l.Alpha)
		case graph.BatchNorm:
			return nil, nil, cerr(i, "BatchNorm must be folded into the layer before it first (graph.Simplify)")
		case graph.Conv:
			units = append(units, unit{i, Conv, mc.Rectified(i)})
		case graph.Linear:
			units = append(units, unit{i, Linear, mc.Rectified(i)})
		case graph.AvgPool, graph.GlobalAvgPool:
			units = append(units, unit{i, AvgPool, mc.Rectified(i)})
		case graph.MaxPool:
			units = append(units, unit{i, MaxPool, false})
		default:
			if why := l.Op.AnnOnly(); why != "" {
				return nil, nil, cerr(i, "not convertible (ANN only): %s", why)
			}
			return nil, nil, cerr(i, "%v is not supported yet", l.Op)
		}
	}
	if len(units) == 0 || (units[0].kind != Conv && units[0].kind != Linear) {
		if len(units) == 0 {
			return nil, nil, errors.New("ratecode: the model has no Conv or Linear layer")
		}
		return nil, nil, cerr(units[0].idx, "the first layer must be Conv or Linear (it receives the pixels as an analog current)")
	}
	for i := 0; i < units[0].idx; i++ {
		if gl[i].Op == graph.ReLU || gl[i].Op == graph.Clip {
			return nil, nil, cerr(i, "an activation before the first layer is not supported")
		}
	}
	last := len(units) - 1
	if units[last].kind == MaxPool {
		return nil, nil, cerr(units[last].idx, "a MaxPool after the output layer is not supported")
	}
	for j, u := range units {
		if j < last && u.kind != MaxPool && u.kind != AvgPool && !u.rect {
			return nil, nil, cerr(u.idx, "not followed by ReLU but feeds another layer: IF neurons cannot carry negative values")
		}
	}

	var out []*layer
	for j, u := range units {
		g := gl[u.idx]
		l := &layer{Layer: Layer{Name: g.Name, Kind: u.kind, Shape: append([]int(nil), g.OutShape...),
			Neurons: graph.Size(g.OutShape), Analog: j == 0, Output: j == last}, g: g}
		l.in, l.out = graph.Size(g.InShape), graph.Size(g.OutShape)
		if j == 0 {
			l.MACs = g.MACs()
			if affine >= 0 {
				a := gl[affine]
				l.inScale, l.inShift = a.Scale, a.Shift
				l.plane = graph.Size(a.InShape) / len(a.Scale)
			}
		}
		if len(g.InShape) == 3 {
			l.cin, l.hin, l.win = g.InShape[0], g.InShape[1], g.InShape[2]
		}
		if len(g.OutShape) == 3 {
			l.cout, l.hout, l.wout = g.OutShape[0], g.OutShape[1], g.OutShape[2]
		}
		switch g.Op {
		case graph.Conv:
			l.kh, l.kw = g.Kernel[0], g.Kernel[1]
			l.cinG, l.coutG = g.WShape[1], g.WShape[0]/g.Group
			l.scatterTables(g.Stride, [2]int{g.Pad[0], g.Pad[1]}, g.Dilation)
			l.wt = make([]float32, l.cin*l.kh*l.kw*l.coutG)
			for co := 0; co < l.cout; co++ {
				grp, jj := co/l.coutG, co%l.coutG
				for ci := 0; ci < l.cinG; ci++ {
					c := grp*l.cinG + ci
					for ky := 0; ky < l.kh; ky++ {
						for kx := 0; kx < l.kw; kx++ {
							l.wt[((c*l.kh+ky)*l.kw+kx)*l.coutG+jj] = g.W[((co*l.cinG+ci)*l.kh+ky)*l.kw+kx]
						}
					}
				}
			}
			l.bias = make([]float32, l.out) // H,W,C, as the simulator's u
			if g.B != nil {
				for k := range l.bias {
					l.bias[k] = g.B[k%l.cout]
				}
			}
			l.fanout = make([]int32, l.in)
			for c := 0; c < l.cin; c++ {
				for y := 0; y < l.hin; y++ {
					for x := 0; x < l.win; x++ {
						l.fanout[(c*l.hin+y)*l.win+x] = int32(l.pairs(y, x) * l.coutG)
					}
				}
			}
		case graph.Linear:
			o, in := g.WShape[0], g.WShape[1]
			l.wt = make([]float32, in*o)
			for r := 0; r < o; r++ {
				for c := 0; c < in; c++ {
					l.wt[c*o+r] = g.W[r*in+c]
				}
			}
			l.bias = make([]float32, o)
			copy(l.bias, g.B)
			l.fanout = make([]int32, in)
			for k := range l.fanout {
				l.fanout[k] = int32(o)
			}
		case graph.AvgPool, graph.GlobalAvgPool, graph.MaxPool:
			stride, pad := g.Stride, [2]int{g.Pad[0], g.Pad[1]}
			l.kh, l.kw = g.Kernel[0], g.Kernel[1]
			if g.Op == graph.GlobalAvgPool {
				l.kh, l.kw, stride, pad = l.hin, l.win, [2]int{1, 1}, [2]int{}
			}
			l.scatterTables(stride, pad, [2]int{1, 1})
			l.fanout = make([]int32, l.in)
			for c := 0; c < l.cin; c++ {
				for y := 0; y < l.hin; y++ {
					for x := 0; x < l.win; x++ {
						l.fanout[(c*l.hin+y)*l.win+x] = int32(l.pairs(y, x))
					}
				}
			}
			// Valid inputs of each window, for the AvgPool divisor and the
			// MaxPool initial winner.
			cnt := make([]int, l.hout*l.wout)
			first := make([]int32, l.hout*l.wout)
			for k := range first {
				first[k] = -1
			}
			for y := 0; y < l.hin; y++ {
				for x := 0; x < l.win; x++ {
					for rp := l.rowOff[y]; rp < l.rowOff[y+1]; rp += 2 {
						for cp := l.colOff[x]; cp < l.colOff[x+1]; cp += 2 {
							o := int(l.rowPair[rp])*l.wout + int(l.colPair[cp])
							cnt[o]++
							if first[o] < 0 {
								first[o] = int32(y*l.win + x)
							}
						}
					}
				}
			}
			for o, c := range cnt {
				if c == 0 {
					return nil, nil, cerr(u.idx, "output position %d has an empty pooling window", o)
				}
			}
			if g.Op == graph.MaxPool {
				plane := l.hin * l.win
				l.first = make([]int32, l.out)
				for c := 0; c < l.cout; c++ {
					for o, f := range first {
						l.first[c*len(first)+o] = int32(c*plane) + f
					}
				}
				break
			}
			l.poolW = make([]float32, l.hout*l.wout)
			for o := range l.poolW {
				div := cnt[o]
				if g.CountIncludePad && g.Op == graph.AvgPool {
					oy, ox := o/l.wout, o%l.wout
					hs, ws := oy*stride[0]-g.Pad[0], ox*stride[1]-g.Pad[1]
					he, we := min(hs+l.kh, l.hin+g.Pad[2]), min(ws+l.kw, l.win+g.Pad[3])
					div = (he - hs) * (we - ws)
				}
				l.poolW[o] = float32(1 / float64(div))
			}
			l.bias = make([]float32, l.out)
		}
		out = append(out, l)
	}
	return out, warnings, nil
}

// scatterTables fills rowOff/rowPair and colOff/colPair.
func (l *layer) scatterTables(stride, pad, dil [2]int) {
	table := func(n, k, s, p, d, nOut int) (off, pairs []int32) {
		off = make([]int32, n+1)
		for y := 0; y < n; y++ {
			off[y] = int32(len(pairs))
			for ky := 0; ky < k; ky++ {
				num := y + p - ky*d
				if num < 0 || num%s != 0 || num/s >= nOut {
					continue
				}
				pairs = append(pairs, int32(num/s), int32(ky))
			}
		}
		off[n] = int32(len(pairs))
		return off, pairs
	}
	l.rowOff, l.rowPair = table(l.hin, l.kh, stride[0], pad[0], dil[0], l.hout)
	l.colOff, l.colPair = table(l.win, l.kw, stride[1], pad[1], dil[1], l.wout)
}

// pairs returns the number of (output position, kernel offset) pairs that
// input position (y, x) takes part in.
func (l *layer) pairs(y, x int) int {
	return (int(l.rowOff[y+1]-l.rowOff[y]) / 2) * (int(l.colOff[x+1]-l.colOff[x]) / 2)
}
