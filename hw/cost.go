package hw

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Cost is the estimated cost of one inference (means per sample) on a
// plan, from emulated activity.
type Cost struct {
	Hardware string `json:"hardware"`
	Cores    int    `json:"cores"`
	Chips    int    `json:"chips"`
	// Activity per sample.
	SynOps        float64 `json:"synops"`         // every synapse delivery, bias/readout/rectifier parts included
	ActiveUpdates float64 `json:"active_updates"` // neuron updates with nonzero state
	IdleUpdates   float64 `json:"idle_updates"`   // the other compartment updates of the run
	SpikeMsgs     float64 `json:"spike_messages"` // spikes × destination cores
	Hops          float64 `json:"mean_hops"`      // mesh hops per spike message
	StepsHW       float64 `json:"steps"`          // emulated steps + relay delays
	// Energy, µJ, and latency, ms.
	SynUJ, NeuronUJ, SpikeUJ float64 `json:"-"`
	DynamicUJ                float64 `json:"dynamic_uj"`
	StaticUJ                 float64 `json:"static_uj"`
	HostUJ                   float64 `json:"host_uj"`
	TotalUJ                  float64 `json:"total_uj"`
	LatencyMS                float64 `json:"latency_ms"`
	EDPUJS                   float64 `json:"edp_ujs"` // µJ·s
	// Powers, mW, for comparison with the paper's Table 3.
	DynamicMW, StaticMW, HostMW float64 `json:"-"`
}

// Estimate computes the cost of an inference from the plan and the emulated
// activity s (from Emulator.Evaluate on the same IntNet):
//
//	dynamic = synops·E_syn + active·E_active + idle·E_idle
//	          + spike messages·(E_spike + hops_EW·E_EW + hops_NS·E_NS)
//	static  = cores · P_core · latency;  host = chips · P_host · latency
//	latency = steps · t_step;  EDP = (dynamic + static + host) · latency
//
// Idle updates: every placed compartment is updated at every step of the
// run; those not counted active are idle.
func Estimate(q *IntNet, pl *Plan, s *Summary) (*Cost, error) {
	if s.Samples == 0 {
		return nil, fmt.Errorf("hw: no emulated samples")
	}
	p := q.Profile
	n := float64(s.Samples)
	c := &Cost{Hardware: p.Name, Cores: pl.Cores, Chips: pl.Chips}
	relays := 0
	var msgs, hopEW, hopNS float64
	for li, l := range q.Net.Layers {
		st := s.Layers[li]
		c.SynOps += float64(st.SynEvents) / n
		if il := q.Layers[li]; il != nil {
			for _, parts := range il.CounterParts {
				c.SynOps += float64(len(parts))
			}
			for nIdx := 0; nIdx < l.Size(); nIdx++ {
				if il.B != nil {
					c.SynOps += float64(len(il.BiasParts[biasIndex(l, nIdx)]))
				}
			}
			if l.Rectify {
				c.SynOps += float64(il.RectSyn * l.Size())
			}
		} else {
			relays++
		}
		c.ActiveUpdates += float64(s.Sat[li].Active) / n
		// Delay relays (branching networks): one synaptic event, one
		// active update and one spike message per relay spike.
		c.SynOps += float64(s.Sat[li].DelayRelayEvents) / n
		c.ActiveUpdates += float64(s.Sat[li].DelayRelaySpikes) / n
		msgs += float64(s.Sat[li].DelayRelaySpikes) / n
		// Spike messages to the next layer's cores.
		lay := pl.Layers[li]
		spikes := float64(st.Spikes) / n
		m := spikes * lay.Dests
		msgs += m
		if lay.next >= 0 {
			ew, ns := meanHops(pl, lay.Cores, pl.Layers[lay.next].Cores)
			hopEW += m * ew
			hopNS += m * ns
		}
	}
	c.StepsHW = float64(s.Steps)/n + float64(relays*p.RelayStepDelay)
	c.IdleUpdates = math.Max(0, float64(pl.Compartments)*c.StepsHW-c.ActiveUpdates)
	c.SpikeMsgs = msgs
	if msgs > 0 {
		c.Hops = (hopEW + hopNS) / msgs
	}
	c.SynUJ = c.SynOps * p.SynOpPJ * 1e-6
	c.NeuronUJ = (c.ActiveUpdates*p.NeuronActivePJ + c.IdleUpdates*p.NeuronIdlePJ) * 1e-6
	c.SpikeUJ = (msgs*p.SpikePJ + hopEW*p.HopEWPJ + hopNS*p.HopNSPJ) * 1e-6
	c.DynamicUJ = c.SynUJ + c.NeuronUJ + c.SpikeUJ
	c.LatencyMS = c.StepsHW * p.StepUS * 1e-3
	c.StaticMW = float64(pl.Cores) * p.StaticPerCoreMW
	c.HostMW = float64(pl.Chips) * p.HostPerChipMW
	c.StaticUJ = c.StaticMW * c.LatencyMS // mW·ms = µJ
	c.HostUJ = c.HostMW * c.LatencyMS
	c.TotalUJ = c.DynamicUJ + c.StaticUJ + c.HostUJ
	c.EDPUJS = c.TotalUJ * c.LatencyMS * 1e-3
	if c.LatencyMS > 0 {
		c.DynamicMW = c.DynamicUJ / c.LatencyMS
	}
	return c, nil
}

// meanHops returns the mean east-west and north-south mesh distance between
// the cores of a and of b (cores on other chips: the distance within the
// chip plus none for the chip crossing, which is not modelled).
func meanHops(pl *Plan, a, b []int) (ew, ns float64) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0
	}
	for _, x := range a {
		for _, y := range b {
			tx, ty := pl.CoreList[x].Tile, pl.CoreList[y].Tile
			ew += math.Abs(float64(tx[0] - ty[0]))
			ns += math.Abs(float64(tx[1] - ty[1]))
		}
	}
	k := float64(len(a) * len(b))
	return ew / k, ns / k
}

// Paper is a row of the paper's Table 3 (Lenz et al., Loihi 1 measured).
type Paper struct {
	Task                                        string
	Cores, Chips                                int
	StaticMW, DynamicMW, HostMW, TotalMW, Steps float64
	LatencyMS, EnergyUJ, EDPUJS                 float64
}

// PaperTable3 holds the paper's Table 3 rows. Neuron-core static/dynamic
// and x86 (static + dynamic) power in mW. The CIFAR-10 energy is printed as
// "564 µJ" in the paper; 1543 mW × 365 ms = 563 mJ, and the EDP
// (206047 µJs) confirms mJ.
var PaperTable3 = []Paper{
	{Task: "MNIST", Cores: 11, Chips: 1, StaticMW: 5.09, DynamicMW: 9.29, HostMW: 22.79, TotalMW: 37.18, Steps: 91,
		LatencyMS: 4.91, EnergyUJ: 182.46, EDPUJS: 0.90},
	{Task: "CIFAR-10", Cores: 1753, Chips: 14, StaticMW: 1271, DynamicMW: 11, HostMW: 261, TotalMW: 1543, Steps: 1301,
		LatencyMS: 365, EnergyUJ: 564000, EDPUJS: 206047},
}

// Text writes the estimate beside a paper row (nil: none).
func (c *Cost) Text(w io.Writer, paper *Paper) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCost estimate on %s (per inference)\n", c.Hardware)
	fmt.Fprintf(&b, "  activity: %.0f synops, %.0f active + %.0f idle neuron updates, %.0f spike messages (%.2f hops each), %.1f steps\n",
		c.SynOps, c.ActiveUpdates, c.IdleUpdates, c.SpikeMsgs, c.Hops, c.StepsHW)
	fmt.Fprintf(&b, "  dynamic: synapses %.1f µJ + neurons %.1f µJ + spikes %.2f µJ\n", c.SynUJ, c.NeuronUJ, c.SpikeUJ)
	row := func(name, model string, paperV string) {
		fmt.Fprintf(&b, "  %-26s %14s %14s\n", name, model, paperV)
	}
	pv := func(f string, v float64) string {
		if paper == nil {
			return "-"
		}
		return fmt.Sprintf(f, v)
	}
	task := "paper"
	if paper != nil {
		task = "paper " + paper.Task
	}
	row("", "model", task)
	row("cores / chips", fmt.Sprintf("%d / %d", c.Cores, c.Chips), func() string {
		if paper == nil {
			return "-"
		}
		return fmt.Sprintf("%d / %d", paper.Cores, paper.Chips)
	}())
	row("steps per inference", fmt.Sprintf("%.1f", c.StepsHW), pv("%.0f", paperV(paper, func(p *Paper) float64 { return p.Steps })))
	row("neuron-core static [mW]", fmt.Sprintf("%.2f", c.StaticMW), pv("%.2f", paperV(paper, func(p *Paper) float64 { return p.StaticMW })))
	row("neuron-core dynamic [mW]", fmt.Sprintf("%.2f", c.DynamicMW), pv("%.2f", paperV(paper, func(p *Paper) float64 { return p.DynamicMW })))
	row("x86 host [mW]", fmt.Sprintf("%.2f", c.HostMW), pv("%.2f", paperV(paper, func(p *Paper) float64 { return p.HostMW })))
	row("latency [ms]", fmt.Sprintf("%.2f", c.LatencyMS), pv("%.2f", paperV(paper, func(p *Paper) float64 { return p.LatencyMS })))
	row("energy [µJ]", fmt.Sprintf("%.1f", c.TotalUJ), pv("%.1f", paperV(paper, func(p *Paper) float64 { return p.EnergyUJ })))
	row("  dynamic / static / x86", fmt.Sprintf("%.1f/%.1f/%.1f", c.DynamicUJ, c.StaticUJ, c.HostUJ), func() string {
		if paper == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f/%.1f/%.1f", paper.DynamicMW*paper.LatencyMS, paper.StaticMW*paper.LatencyMS, paper.HostMW*paper.LatencyMS)
	}())
	row("EDP [µJ·s]", fmt.Sprintf("%.3g", c.EDPUJS), pv("%.3g", paperV(paper, func(p *Paper) float64 { return p.EDPUJS })))
	_, err := io.WriteString(w, b.String())
	return err
}

func paperV(p *Paper, f func(*Paper) float64) float64 {
	if p == nil {
		return 0
	}
	return f(p)
}
