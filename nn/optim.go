package nn

import (
	"fmt"
	"math"
)

// Optimizer updates a Net's parameters from their gradients. Step does not
// clear the gradients (call Net.ZeroGrad). An optimizer's state is bound to
// the first Net it steps; stepping another Net panics.
type Optimizer interface {
	Step(net *Net)
	SetLR(lr float32)
}

// SGD is stochastic gradient descent with momentum, as torch.optim.SGD
// (dampening 0):
//
//	g = grad + WeightDecay·w    (Conv and Linear weights only, see Param.Decay)
//	v = Momentum·v + g
//	w −= LR·(g + Momentum·v)    Nesterov
//	w −= LR·v                   otherwise
type SGD struct {
	LR, Momentum, WeightDecay float32
	Nesterov                  bool
	net                       *Net
	vel                       [][]float32
}

func (o *SGD) SetLR(lr float32) { o.LR = lr }

func (o *SGD) Step(net *Net) {
	bind(&o.net, net, "SGD")
	net.grads()
	if o.vel == nil && o.Momentum != 0 {
		for _, p := range net.ps {
			o.vel = append(o.vel, make([]float32, len(p.Data)))
		}
	}
	lr, mu := o.LR, o.Momentum
	for k, p := range net.ps {
		wd := float32(0)
		if p.Decay {
			wd = o.WeightDecay
		}
		w, gr := p.Data, p.Grad[:len(p.Data)]
		if mu == 0 {
			for i, g := range gr {
				w[i] -= lr * (g + wd*w[i])
			}
			continue
		}
		v := o.vel[k][:len(w)]
		for i, g := range gr {
			g += wd * w[i]
			v[i] = mu*v[i] + g
			if o.Nesterov {
				w[i] -= lr * (g + mu*v[i])
			} else {
				w[i] -= lr * v[i]
			}
		}
	}
}

// Adam is Adam (Kingma & Ba) with bias correction, as torch.optim.Adam:
//
//	g = grad + WeightDecay·w               (L2; when not Decoupled)
//	m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²
//	w −= LR·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + Eps)
//	w −= LR·WeightDecay·w                  (before the above; Decoupled = AdamW)
//
// Weight decay applies to Conv and Linear weights only. NewAdam fills the
// usual defaults.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                          bool
	t                                  int
	net                                *Net
	m, v                               [][]float32
}

// NewAdam returns Adam with β1 = 0.9, β2 = 0.999, Eps = 1e-8.
func NewAdam(lr float32) *Adam { return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

func (o *Adam) SetLR(lr float32) { o.LR = lr }

func (o *Adam) Step(net *Net) {
	bind(&o.net, net, "Adam")
	net.grads()
	if o.m == nil {
		for _, p := range net.ps {
			o.m = append(o.m, make([]float32, len(p.Data)))
			o.v = append(o.v, make([]float32, len(p.Data)))
		}
	}
	o.t++
	b1, b2 := o.Beta1, o.Beta2
	c1 := 1 - math.Pow(float64(b1), float64(o.t))
	c2 := 1 - math.Pow(float64(b2), float64(o.t))
	step := float32(float64(o.LR) / c1)
	rc2 := float32(1 / math.Sqrt(c2))
	for k, p := range net.ps {
		wd := float32(0)
		if p.Decay {
			wd = o.WeightDecay
		}
		w, gr := p.Data, p.Grad[:len(p.Data)]
		m, v := o.m[k][:len(w)], o.v[k][:len(w)]
		for i, g := range gr {
			if o.Decoupled {
				w[i] -= o.LR * wd * w[i]
			} else {
				g += wd * w[i]
			}
			m[i] = b1*m[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			w[i] -= step * m[i] / (float32(math.Sqrt(float64(v[i])))*rc2 + o.Eps)
		}
	}
}

func bind(dst **Net, net *Net, name string) {
	if *dst == nil {
		*dst = net
	} else if *dst != net {
		panic(fmt.Sprintf("nn: %s stepped with a different Net", name))
	}
}

// Schedule maps training progress t, in epochs (fractional within an epoch,
// e.g. epoch + step/stepsPerEpoch), to a learning rate.
type Schedule func(t float64) float32

// Constant is lr throughout.
func Constant(lr float32) Schedule { return func(float64) float32 { return lr } }

// StepDecay is lr·gamma^⌊t/every⌋ (torch StepLR with step_size in epochs).
func StepDecay(lr float32, every float64, gamma float32) Schedule {
	return func(t float64) float32 {
		return float32(float64(lr) * math.Pow(float64(gamma), math.Floor(t/every)))
	}
}

// Cosine anneals from lr at t = 0 to minLR at t = total (and stays there):
// minLR + (lr−minLR)·(1 + cos(π·t/total))/2.
func Cosine(lr, minLR float32, total float64) Schedule {
	return func(t float64) float32 {
		t = min(max(t, 0), total)
		return float32(float64(minLR) + float64(lr-minLR)*(1+math.Cos(math.Pi*t/total))/2)
	}
}

// Warmup scales s linearly from 0 at t = 0 to full at t = warm.
func Warmup(s Schedule, warm float64) Schedule {
	return func(t float64) float32 {
		if t < warm {
			return float32(float64(s(t)) * t / warm)
		}
		return s(t)
	}
}

// OptState is an optimizer's internal state (step count and moment
// buffers, one per Param in Net.Params order), for checkpoints.
type OptState struct {
	Step    int
	Buffers [][]float32
}

// Stateful is implemented by optimizers whose state can be saved and
// restored, so that a resumed run continues bit-identically.
type Stateful interface {
	State() OptState
	SetState(OptState) error
}

// State returns the momentum buffers (nil before the first Step or without
// momentum).
func (o *SGD) State() OptState { return OptState{Buffers: o.vel} }

// SetState restores State's result; the buffers are used in place.
func (o *SGD) SetState(s OptState) error {
	o.vel = s.Buffers
	return nil
}

// State returns the step count and the first-moment buffers followed by the
// second-moment buffers.
func (o *Adam) State() OptState {
	return OptState{Step: o.t, Buffers: append(append([][]float32(nil), o.m...), o.v...)}
}

// SetState restores State's result; the buffers are used in place.
func (o *Adam) SetState(s OptState) error {
	if len(s.Buffers)%2 != 0 {
		return fmt.Errorf("nn: Adam state has %d buffers, want an even number", len(s.Buffers))
	}
	h := len(s.Buffers) / 2
	o.t = s.Step
	if h == 0 {
		o.m, o.v = nil, nil
		return nil
	}
	o.m, o.v = s.Buffers[:h], s.Buffers[h:]
	return nil
}
