package snn

import "fmt"

// Trace is the state of one spiking neuron over one sample, step by step:
// what the paper's Figure 1 draws.
type Trace struct {
	Layer, Neuron int
	// U[t] and I[t] are the membrane potential u and the synaptic current i
	// at the end of global step t, for t = 0..len(U)−1 (the sample's steps).
	// U is taken before the reset of a spike at t; once the neuron has fired
	// it is refractory and U is 0.
	U, I []float32
	// Spike is the global step at which the neuron fired, NoSpike if never.
	Spike int32
	// Tau is the first step of the layer's window, Readout the step of the
	// readout spike (τ + T), Rectify that of the rectifier spike (τ + T +
	// TOut; −1 in a layer without rectifier).
	Tau, Readout, Rectify int
	// Theta is the firing threshold.
	Theta float32
	// Inputs lists the steps at which input spikes reached the neuron, with
	// the total weight arriving at each (the bias, readout and rectifier
	// spikes are not included).
	Inputs []TraceInput
}

// TraceInput is the weight arriving at a neuron at one step.
type TraceInput struct {
	Step   int32
	Weight float32
	Count  int // input spikes arriving at this step
}

// TraceNeuron replays one neuron of spiking layer `layer` through a sample
// that r holds (a result of Simulate, by the Oracle or by Sim: only the
// input spike times r.Input and r.Times and r.Steps are read), stepping u and
// i exactly as Simulate does (SPEC §2). Its spike step equals
// r.Times[layer][neuron]. Relay (MaxPool) and analog layers have no
// membrane and return an error.
func (o *Oracle) TraceNeuron(r *SampleResult, layer, neuron int) (*Trace, error) {
	if layer < 0 || layer >= len(o.layers) {
		return nil, fmt.Errorf("snn: trace: layer %d out of range [0, %d)", layer, len(o.layers))
	}
	ol := o.layers[layer]
	l := ol.l
	if !l.Spiking() {
		return nil, fmt.Errorf("snn: trace: layer %d %q (%v) has no membrane potential", layer, l.Name, l.Kind)
	}
	if neuron < 0 || neuron >= l.Size() {
		return nil, fmt.Errorf("snn: trace: neuron %d out of range [0, %d) in layer %d %q", neuron, l.Size(), layer, l.Name)
	}
	if len(r.Times) != len(o.layers) || r.Steps <= 0 {
		return nil, fmt.Errorf("snn: trace: the sample result does not belong to this network or was not simulated")
	}
	steps := int(r.Steps)
	tr := &Trace{Layer: layer, Neuron: neuron, U: make([]float32, steps), I: make([]float32, steps), Spike: NoSpike,
		Tau: ol.tau, Readout: ol.tau + l.T, Rectify: -1, Theta: l.Theta}
	if l.Rectify {
		tr.Rectify = ol.tau + l.T + l.TOut
	}
	// The spikes this layer receives from each input group (the previous
	// layer's, or the input's for the first layer and the layer after an
	// analog one, in a chain), at their arrival steps (after the delay).
	prevOf := func(g oracleGroup) []int32 {
		if g.from >= 0 {
			return r.Times[g.from]
		}
		return r.Input
	}
	arrive := make(map[int32]*TraceInput)
	for _, g := range ol.groups {
		prev := prevOf(g)
		for _, s := range g.in[neuron] {
			if st := prev[s.src]; st != NoSpike {
				st += int32(g.delay)
				in := arrive[st]
				if in == nil {
					in = &TraceInput{Step: st}
					arrive[st] = in
				}
				in.Weight += s.w
				in.Count++
			}
		}
	}
	var u, i float32
	fired := false
	for t := 0; t < steps; t++ {
		u += i
		// Add the synapses in the Oracle's order, so that float sums agree.
		if in := arrive[int32(t)]; in != nil {
			for _, g := range ol.groups {
				prev := prevOf(g)
				for _, s := range g.in[neuron] {
					if prev[s.src] != NoSpike && int(prev[s.src])+g.delay == t {
						i += s.w
					}
				}
			}
		}
		if t == ol.tau && ol.bias[neuron] != 0 {
			i += ol.bias[neuron]
		}
		if t == tr.Readout {
			i += l.Counter[neuron]
		}
		tr.I[t] = i
		if fired {
			continue
		}
		tr.U[t] = u
		if u >= l.Theta || (l.Rectify && t == tr.Rectify) {
			fired = true
			tr.Spike = int32(t)
			u = 0
		}
	}
	for st := int32(0); st < int32(steps); st++ {
		if in := arrive[st]; in != nil {
			tr.Inputs = append(tr.Inputs, *in)
		}
	}
	return tr, nil
}
