package hw

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/quartz-snn/quartz/snn"
)

// ErrDoesNotFit is wrapped by planner errors for networks that cannot be
// placed under the profile's per-core limits.
var ErrDoesNotFit = errors.New("does not fit the hardware")

// Usage is what a core (or a tile of neurons) uses of each per-core limit.
type Usage struct {
	Compartments int `json:"compartments"`
	InAxons      int `json:"in_axons"`
	OutAxons     int `json:"out_axons"`
	SynBits      int `json:"syn_bits"`
	Synapses     int `json:"synapses"`
}

func (u *Usage) add(o Usage) {
	u.Compartments += o.Compartments
	u.InAxons += o.InAxons
	u.OutAxons += o.OutAxons
	u.SynBits += o.SynBits
	u.Synapses += o.Synapses
}

func (u Usage) fits(p *Profile) bool {
	return u.Compartments <= p.CompartmentsPerCore && u.InAxons <= p.InAxonsPerCore &&
		u.OutAxons <= p.OutAxonsPerCore && u.SynBits <= p.SynMemBits
}

// ratios returns the fraction of each limit used, in the order
// compartments, in-axons, out-axons, synaptic memory.
func (u Usage) ratios(p *Profile) [4]float64 {
	return [4]float64{float64(u.Compartments) / float64(p.CompartmentsPerCore), float64(u.InAxons) / float64(p.InAxonsPerCore),
		float64(u.OutAxons) / float64(p.OutAxonsPerCore), float64(u.SynBits) / float64(p.SynMemBits)}
}

var limitNames = [4]string{"compartments", "input axons", "output axons", "synaptic memory"}

// PlanLayer is one population's placement: a Network layer, or "aux" for
// the bias, readout, rectifier and timing-chain neurons.
type PlanLayer struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Neurons int    `json:"neurons"`
	// Tile is the block of neurons one core holds, [channels rows cols].
	Tile  [3]int `json:"tile"`
	Tiles int    `json:"tiles"`
	Cores []int  `json:"cores"` // cores holding this layer's tiles
	// PerTile is the usage of a full (interior) tile; Utilization its
	// fraction of each limit; Critical the limit closest to full.
	PerTile     Usage      `json:"per_tile"`
	Utilization [4]float64 `json:"utilization"` // compartments, in-axons, out-axons, synaptic memory
	Critical    string     `json:"critical"`
	FanIn       int        `json:"fan_in"`   // synapses per neuron (interior)
	Dests       float64    `json:"dests"`    // destination cores per spike
	SharedW     bool       `json:"shared_w"` // weights stored once per core (shared convolution)
	Note        string     `json:"note,omitempty"`
	next        int        // index of the consuming layer in Plan.Layers, −1 if none
}

// PlanCore is one core of the plan.
type PlanCore struct {
	ID     int      `json:"id"`
	Chip   int      `json:"chip"`
	Tile   [2]int   `json:"mesh_xy"` // mesh coordinates of its tile on the chip
	Use    Usage    `json:"use"`
	Layers []string `json:"layers"`
}

// Plan is a placement of a network on cores.
type Plan struct {
	Hardware     string `json:"hardware"`
	Cores        int    `json:"cores"`
	Chips        int    `json:"chips"`
	Neurons      int    `json:"neurons"`       // spiking
	RelayNeurons int    `json:"relay_neurons"` // max-pool relays
	AuxNeurons   int    `json:"aux_neurons"`   // bias, readout, rectifier, timing chain
	// DelayRelayNeurons carry input groups of a branching network over
	// delays longer than the profile's MaxDelay (IntNet.GroupRelays); each
	// layer's are one population "<layer>/delay", placed after "aux".
	DelayRelayNeurons int         `json:"delay_relay_neurons,omitempty"`
	Compartments      int         `json:"compartments"`
	NeuronUtil        float64     `json:"neuron_utilization"` // compartments / (cores · per-core)
	Layers            []PlanLayer `json:"layers"`
	CoreList          []PlanCore  `json:"core_list"`
	Notes             []string    `json:"notes,omitempty"`
	profile           *Profile
}

// MapNetwork places every neuron of q on cores, minimizing cores and then
// chips. Each layer is cut into identical tiles (channels × rows × cols);
// the tile shape is searched exhaustively for the fewest tiles that fit
// every per-core limit, planning from the output backwards so that each
// tile knows how many cores its spikes reach. Partly filled cores of
// different layers are then merged, first fit decreasing. Tiles of the
// same layer sit on consecutive cores.
func MapNetwork(q *IntNet) (*Plan, error) {
	p := q.Profile
	n := q.Net
	pl := &Plan{Hardware: p.Name, profile: p}
	if !p.SharedConv {
		pl.Notes = append(pl.Notes, "no shared-weight convolution on "+p.Name+": every synapse of a convolution is stored (as NxSDK 1.0 did for the paper)")
	} else {
		pl.Notes = append(pl.Notes, "convolution kernels stored once per core (shared weights) and one input axon per input position (population spikes; assumed)")
	}
	pl.Layers = make([]PlanLayer, len(n.Layers))
	ins := make([][]input, len(n.Layers))
	for li := range n.Layers {
		ins[li] = inputsOf(n, li)
	}
	// Plan backwards.
	for li := len(n.Layers) - 1; li >= 0; li-- {
		l := n.Layers[li]
		lay := &pl.Layers[li]
		lay.Name, lay.Kind, lay.Neurons, lay.next = l.Name, l.Kind.String(), l.Size(), -1
		// Consumers: every input of a later layer that reads li (in a
		// chain, layer li+1 alone); next is the first.
		dests := 0.0
		for v := li + 1; v < len(n.Layers); v++ {
			for _, in := range ins[v] {
				if in.from == li {
					if lay.next < 0 {
						lay.next = v
					}
					dests += destsPerSpike(in.l, pl.Layers[v].Tile)
				}
			}
		}
		if l.Spiking() {
			pl.Neurons += l.Size()
		} else {
			pl.RelayNeurons += l.Size()
		}
		if err := planLayer(lay, l, ins[li], q.Layers[li], dests, p); err != nil {
			return nil, fmt.Errorf("hw: map layer %d %q: %w", li, l.Name, err)
		}
	}
	// Aux neurons: per spiking layer its readout, bias and rectifier neurons,
	// plus the timing chain.
	aux := PlanLayer{Name: "aux", Kind: "aux", next: -1}
	var auxUse Usage
	for li, il := range q.Layers {
		if il == nil {
			continue
		}
		k := auxNeurons(il)
		aux.Neurons += k
		auxUse.OutAxons += k * pl.Layers[li].Tiles // one axon per destination core
	}
	aux.Neurons += q.DelayRelays
	auxUse.Compartments = aux.Neurons
	auxUse.InAxons = 1 + q.DelayRelays // start spike and chain
	auxUse.Synapses = aux.Neurons
	auxUse.SynBits = aux.Neurons * p.SynWordBits
	aux.Tile, aux.Tiles, aux.PerTile = [3]int{aux.Neurons, 1, 1}, 1, auxUse
	aux.Utilization = auxUse.ratios(p)
	aux.Critical = critical(aux.Utilization)
	if auxUse.fits(p) {
		pl.AuxNeurons = aux.Neurons
		pl.Layers = append(pl.Layers, aux)
	} else {
		auxes, err := splitAux(pl.Layers, q, p)
		if err != nil {
			return nil, err
		}
		for _, a := range auxes {
			pl.AuxNeurons += a.Neurons
		}
		pl.Layers = append(pl.Layers, auxes...)
	}
	// Delay relays: one population per layer with long delays; each relay
	// neuron has one input axon, one synapse (with delay) and one output
	// axon.
	for li, k := range q.GroupRelays {
		if k == 0 {
			continue
		}
		per := Usage{Compartments: 1, InAxons: 1, OutAxons: 1, Synapses: 1,
			SynBits: synBits(p, 1, 1, p.WeightBits+p.SynIndexBits+p.SynDelayBits)}
		tc := min(p.CompartmentsPerCore, p.InAxonsPerCore, p.OutAxonsPerCore, p.SynMemBits/max(per.SynBits, 1), k)
		if tc < 1 {
			return nil, fmt.Errorf("hw: a delay relay of layer %q does not fit one core: %w", n.Layers[li].Name, ErrDoesNotFit)
		}
		u := Usage{Compartments: tc, InAxons: tc, OutAxons: tc, Synapses: tc, SynBits: tc * per.SynBits}
		r := PlanLayer{Name: n.Layers[li].Name + "/delay", Kind: "delay", Neurons: k, Tile: [3]int{tc, 1, 1},
			Tiles: (k + tc - 1) / tc, PerTile: u, FanIn: 1, Dests: 1, next: -1}
		r.Utilization = u.ratios(p)
		r.Critical = critical(r.Utilization)
		pl.DelayRelayNeurons += k
		pl.Layers = append(pl.Layers, r)
	}

	// Pack: every layer's full tiles get their own cores; the last, partly
	// filled tile of each layer (and the aux population) go first-fit
	// decreasing into shared cores.
	type item struct {
		layer int
		use   Usage
	}
	var cores []PlanCore
	var rest []item
	for li := range pl.Layers {
		lay := &pl.Layers[li]
		for t := 0; t < lay.Tiles; t++ {
			u := lay.PerTile
			if t == lay.Tiles-1 {
				rest = append(rest, item{li, lastTileUse(lay, p)})
				continue
			}
			cores = append(cores, PlanCore{ID: len(cores), Use: u, Layers: []string{lay.Name}})
			lay.Cores = append(lay.Cores, len(cores)-1)
		}
	}
	sort.SliceStable(rest, func(a, b int) bool { return rest[a].use.Compartments > rest[b].use.Compartments })
	firstShared := len(cores)
	for _, it := range rest {
		placed := false
		for c := firstShared; c < len(cores); c++ {
			u := cores[c].Use
			u.add(it.use)
			if u.fits(p) {
				cores[c].Use = u
				cores[c].Layers = append(cores[c].Layers, pl.Layers[it.layer].Name)
				pl.Layers[it.layer].Cores = append(pl.Layers[it.layer].Cores, c)
				placed = true
				break
			}
		}
		if !placed {
			cores = append(cores, PlanCore{ID: len(cores), Use: it.use, Layers: []string{pl.Layers[it.layer].Name}})
			pl.Layers[it.layer].Cores = append(pl.Layers[it.layer].Cores, len(cores)-1)
		}
	}
	for c := range cores {
		cores[c].Chip = c / p.CoresPerChip
		tile := (c % p.CoresPerChip) / p.CoresPerTile
		cores[c].Tile = [2]int{tile % p.MeshWidth, tile / p.MeshWidth}
		pl.Compartments += cores[c].Use.Compartments
	}
	pl.CoreList = cores
	pl.Cores = len(cores)
	pl.Chips = (len(cores) + p.CoresPerChip - 1) / p.CoresPerChip
	pl.NeuronUtil = float64(pl.Compartments) / float64(pl.Cores*p.CompartmentsPerCore)
	return pl, nil
}

// auxNeurons returns the aux neurons of a layer: its readout and bias
// neurons and, if it rectifies, its rectifier.
func auxNeurons(il *IntLayer) int {
	k := il.Report.ReadoutSyn + il.Report.BiasSyn
	if il.L.Rectify {
		k++
	}
	return k
}

// splitAux places the aux neurons on as many cores as they need when one
// core does not hold them (a large network: every readout, bias and
// rectifier neuron sends one axon to each core of its layer). A neuron
// whose layer has more cores than a core has output axons is replicated,
// each replica driven by the same start spike and serving at most
// OutAxonsPerCore of the layer's cores; the neurons then go first-fit onto
// aux cores, the first of which also holds the timing chain. Each aux core
// takes one input axon for the start spike. The populations are "aux",
// "aux/2", …, one core each.
func splitAux(layers []PlanLayer, q *IntNet, p *Profile) ([]PlanLayer, error) {
	chain := q.DelayRelays
	cores := []Usage{{Compartments: chain, InAxons: 1 + chain, Synapses: chain, SynBits: chain * p.SynWordBits}}
	place := func(out int) error {
		for i := range cores {
			u := cores[i]
			u.Compartments++
			u.OutAxons += out
			u.Synapses++
			u.SynBits += p.SynWordBits
			if u.fits(p) {
				cores[i] = u
				return nil
			}
		}
		u := Usage{Compartments: 1, InAxons: 1, OutAxons: out, Synapses: 1, SynBits: p.SynWordBits}
		if !u.fits(p) {
			return fmt.Errorf("hw: an auxiliary neuron with %d output axons does not fit one core: %w", out, ErrDoesNotFit)
		}
		cores = append(cores, u)
		return nil
	}
	for li, il := range q.Layers {
		if il == nil {
			continue
		}
		k := auxNeurons(il)
		dests := layers[li].Tiles
		for range k {
			for left := dests; left > 0; left -= p.OutAxonsPerCore {
				if err := place(min(left, p.OutAxonsPerCore)); err != nil {
					return nil, err
				}
			}
		}
	}
	out := make([]PlanLayer, 0, len(cores))
	for i, u := range cores {
		name := "aux"
		if i > 0 {
			name = fmt.Sprintf("aux/%d", i+1)
		}
		a := PlanLayer{Name: name, Kind: "aux", Neurons: u.Compartments, Tile: [3]int{u.Compartments, 1, 1}, Tiles: 1, PerTile: u, next: -1}
		a.Utilization = u.ratios(p)
		a.Critical = critical(a.Utilization)
		out = append(out, a)
	}
	return out, nil
}

// lastTileUse scales a layer's per-tile usage to its last tile, which holds
// the remaining neurons.
func lastTileUse(lay *PlanLayer, p *Profile) Usage {
	per := lay.PerTile.Compartments
	if per == 0 {
		return lay.PerTile
	}
	left := lay.Neurons - per*(lay.Tiles-1)
	if lay.Kind == "aux" {
		left = lay.Neurons
	}
	if left >= per {
		return lay.PerTile
	}
	f := float64(left) / float64(per)
	u := lay.PerTile
	u.Compartments = left
	u.OutAxons = int(math.Ceil(float64(u.OutAxons) * f))
	u.Synapses = int(math.Ceil(float64(u.Synapses) * f))
	u.SynBits = int(math.Ceil(float64(u.SynBits) * f))
	// Input axons: a partial tile still needs most of the receptive field.
	return u
}

func critical(r [4]float64) string {
	k := 0
	for i := range r {
		if r[i] > r[k] {
			k = i
		}
	}
	return limitNames[k]
}

// layerGeom is the connectivity of a layer seen by the planner.
type layerGeom struct {
	c, h, w           int // output
	cin, hin, win     int
	kh, kw, sh, sw    int
	dh, dw            int
	coutG, cinG       int
	linear, depthwise bool
	fanIn             int
}

func geomOf(l *snn.Layer) layerGeom {
	if l.Kind == snn.Identity || l.Kind == snn.Sum || len(l.OutShape) == 1 && l.Kind != snn.Linear {
		// Neurons (c, h, w) of the output; Identity reads the same position.
		c, h, w := l.OutShape[0], 1, 1
		if len(l.OutShape) == 3 {
			h, w = l.OutShape[1], l.OutShape[2]
		}
		return layerGeom{c: c, h: h, w: w, cin: c, hin: h, win: w, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1,
			coutG: 1, cinG: 1, depthwise: true, fanIn: 1}
	}
	if l.Kind == snn.Linear {
		return layerGeom{c: l.WShape[0], h: 1, w: 1, cin: l.WShape[1], hin: 1, win: 1, kh: 1, kw: 1, sh: 1, sw: 1,
			dh: 1, dw: 1, coutG: l.WShape[0], cinG: l.WShape[1], linear: true, fanIn: l.WShape[1]}
	}
	g := layerGeom{c: l.OutShape[0], h: l.OutShape[1], w: l.OutShape[2], cin: l.InShape[0], hin: l.InShape[1], win: l.InShape[2],
		kh: l.Kernel[0], kw: l.Kernel[1], sh: l.Stride[0], sw: l.Stride[1], dh: 1, dw: 1}
	if l.Kind == snn.Conv {
		g.dh, g.dw = l.Dilation[0], l.Dilation[1]
		g.coutG, g.cinG = g.c/l.Group, g.cin/l.Group
	} else {
		g.coutG, g.cinG, g.depthwise = 1, 1, true
	}
	g.fanIn = g.cinG * g.kh * g.kw
	return g
}

// span returns how many input rows n consecutive output rows read.
func span(n, k, s, d, in int) int {
	return min(in, (n-1)*s+(k-1)*d+1)
}

// destsPerSpike estimates the destination cores of one spike of a neuron
// of layer g's input (i.e. of the previous layer), given the consuming
// layer's geometry and tile.
func destsPerSpike(next *snn.Layer, tile [3]int) float64 {
	if next == nil {
		return 0
	}
	g := geomOf(next)
	if g.linear {
		return math.Ceil(float64(g.c) / float64(tile[0]))
	}
	// Output positions that read one input position: about ⌈k/s⌉ per axis;
	// they cross ⌈(that − 1)/tile⌉ + 1 tiles at most, fewer on average.
	axis := func(k, s, d, t, out int) float64 {
		reach := float64((k-1)*d)/float64(s) + 1
		return math.Min(math.Ceil(float64(out)/float64(t)), 1+(reach-1)/float64(t))
	}
	sp := axis(g.kh, g.sh, g.dh, tile[1], g.h) * axis(g.kw, g.sw, g.dw, tile[2], g.w)
	ch := 1.0
	if !g.depthwise {
		ch = math.Ceil(float64(min(g.coutG, g.c)) / float64(tile[0]))
	}
	return sp * ch
}

// synBits is the synaptic memory of nAxons input axons carrying nSyn
// synapses in all, bps bits each: per axon, blocks of SynBlock synapses
// with a header, rounded up to SynWordBits.
func synBits(p *Profile, nAxons, nSyn, bps int) int {
	if nAxons == 0 || nSyn == 0 {
		return 0
	}
	per := (nSyn + nAxons - 1) / nAxons
	blocks := (per + p.SynBlock - 1) / p.SynBlock
	bits := per*bps + blocks*p.SynHeaderBits
	words := (bits + p.SynWordBits - 1) / p.SynWordBits
	return nAxons * words * p.SynWordBits
}

// tileUse computes the usage of an interior tile tc × th × tw of layer l
// reading ins (a Sum layer: the synapses of all its groups).
func tileUse(l *snn.Layer, ins []input, il *IntLayer, tc, th, tw int, dests float64, p *Profile) (Usage, bool) {
	var u Usage
	u.Compartments = tc * th * tw
	anyShared := false
	for _, in := range ins {
		g := geomOf(in.l)
		rows, cols := span(th, g.kh, g.sh, g.dh, g.hin), span(tw, g.kw, g.sw, g.dw, g.win)
		var cinTile int
		switch {
		case g.linear:
			cinTile = g.cin
		case g.depthwise:
			cinTile = tc
		default:
			groups := (tc + g.coutG - 1) / g.coutG
			cinTile = min(g.cin, groups*g.cinG)
		}
		shared := p.SharedConv && in.l.Kind == snn.Conv && !g.linear && (g.h > 1 || g.w > 1)
		nSyn := u.Compartments * g.fanIn
		u.Synapses += nSyn
		wbits := p.WeightBits
		if in.l.Kind == snn.MaxPool {
			wbits = 1 // a relay synapse only needs to exist
		}
		if in.delay > 0 {
			wbits += p.SynDelayBits
		}
		if shared {
			ax := rows * cols
			u.InAxons += ax
			u.SynBits += tc*g.cinG*g.kh*g.kw*wbits + ax*p.SynWordBits
			anyShared = true
		} else {
			ax := cinTile * rows * cols
			u.InAxons += ax
			u.SynBits += synBits(p, ax, nSyn, wbits+p.SynIndexBits)
		}
	}
	// Aux synapses: readout parts, bias parts, rectifier, each from its own
	// aux neuron (one axon each), with delay bits.
	if il != nil {
		k := il.Report.ReadoutSyn + il.Report.BiasSyn + il.RectSyn
		u.InAxons += il.Report.ReadoutSyn + il.Report.BiasSyn
		if il.L.Rectify {
			u.InAxons++
		}
		u.Synapses += k * u.Compartments
		per := u.Compartments
		u.SynBits += (il.Report.ReadoutSyn + il.Report.BiasSyn + min(il.RectSyn, 1)) *
			synBits(p, 1, per*max(1, il.RectSyn), p.WeightBits+p.SynIndexBits+p.SynDelayBits)
	}
	u.OutAxons = int(math.Ceil(float64(u.Compartments) * dests))
	return u, anyShared
}

// planLayer picks the tile shape with the fewest tiles.
func planLayer(lay *PlanLayer, l *snn.Layer, ins []input, il *IntLayer, dests float64, p *Profile) error {
	g := geomOf(ins[0].l) // the output's geometry (every input has the layer's OutShape)
	if len(ins) > 1 {
		g = geomOf(l)
	}
	lay.Dests = dests
	lay.FanIn = 0
	for _, in := range ins {
		lay.FanIn += geomOf(in.l).fanIn
	}
	best, bestTiles := [3]int{}, math.MaxInt
	var bestUse Usage
	bestScore := -1.0
	// Channel tiles: for each count k of channel tiles, the smallest tile.
	var tcs []int
	for k := g.c; k >= 1; k-- {
		if tc := (g.c + k - 1) / k; len(tcs) == 0 || tcs[len(tcs)-1] != tc {
			tcs = append(tcs, tc)
		}
	}
	for _, tc := range tcs {
		for th := 1; th <= g.h; th++ {
			if tc*th > p.CompartmentsPerCore {
				break
			}
			for tw := 1; tw <= g.w; tw++ {
				if tc*th*tw > p.CompartmentsPerCore {
					break
				}
				tiles := ((g.c + tc - 1) / tc) * ((g.h + th - 1) / th) * ((g.w + tw - 1) / tw)
				if tiles > bestTiles {
					continue
				}
				u, shared := tileUse(l, ins, il, tc, th, tw, dests, p)
				if !u.fits(p) {
					continue
				}
				r := u.ratios(p)
				score := -(r[1] + r[2] + r[3]) // fewer axons and memory
				if tiles < bestTiles || score > bestScore {
					best, bestTiles, bestUse, bestScore = [3]int{tc, th, tw}, tiles, u, score
					lay.SharedW = shared
				}
			}
		}
	}
	if bestTiles == math.MaxInt {
		u, _ := tileUse(l, ins, il, 1, 1, 1, dests, p)
		r := u.ratios(p)
		return fmt.Errorf("one neuron alone needs %d input axons (limit %d), %d bits of synaptic memory (limit %d): its %s exceed one core: %w",
			u.InAxons, p.InAxonsPerCore, u.SynBits, p.SynMemBits, critical(r), ErrDoesNotFit)
	}
	lay.Tile, lay.Tiles, lay.PerTile = best, bestTiles, bestUse
	lay.Utilization = bestUse.ratios(p)
	lay.Critical = critical(lay.Utilization)
	return nil
}

// Text writes the plan's summary.
func (pl *Plan) Text(w io.Writer) error {
	var b strings.Builder
	p := pl.profile
	fmt.Fprintf(&b, "Core map on %s: %d cores on %d chip(s); %d spiking + %d relay + %d aux neurons; neuron utilization %.1f %%\n",
		pl.Hardware, pl.Cores, pl.Chips, pl.Neurons, pl.RelayNeurons, pl.AuxNeurons, 100*pl.NeuronUtil)
	if pl.DelayRelayNeurons > 0 {
		fmt.Fprintf(&b, "plus %d delay relay neurons (input groups delayed beyond the maximum synaptic delay of %d steps)\n",
			pl.DelayRelayNeurons, p.MaxDelay)
	}
	fmt.Fprintf(&b, "limits per core: %d compartments, %d input axons, %d output axons, %d KiB synaptic memory\n\n",
		p.CompartmentsPerCore, p.InAxonsPerCore, p.OutAxonsPerCore, p.SynMemBits/8192)
	fmt.Fprintf(&b, "  %-8s %-8s %7s %-13s %5s %7s %7s %7s %7s %6s %6s  %s\n", "layer", "kind", "neurons", "tile c×h×w", "tiles",
		"comp%", "in%", "out%", "mem%", "fan-in", "dests", "critical")
	for _, l := range pl.Layers {
		u := l.Utilization
		fmt.Fprintf(&b, "  %-8s %-8s %7d %-13s %5d %7.1f %7.1f %7.1f %7.1f %6d %6.2f  %s\n", l.Name, l.Kind, l.Neurons,
			fmt.Sprintf("%d×%d×%d", l.Tile[0], l.Tile[1], l.Tile[2]), l.Tiles, 100*u[0], 100*u[1], 100*u[2], 100*u[3], l.FanIn, l.Dests, l.Critical)
	}
	for _, n := range pl.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
