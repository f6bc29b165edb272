package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

// The state file: the 8 bytes "QZCKPT01", a little-endian uint32 header
// length, a JSON header (stateHeader), then every optimizer buffer as
// little-endian float32 values, in header order.
const stateMagic = "QZCKPT01"

type stateHeader struct {
	Epoch      int    `json:"epoch"` // epochs completed
	Config     Config `json:"config"`
	NetSteps   uint64 `json:"net_steps"`
	OptStep    int    `json:"opt_step"`
	BufferLens []int  `json:"buffer_lens"`
	// History is the per-epoch log so far (absent in checkpoints written
	// before it was kept).
	History []Epoch `json:"history,omitempty"`
	// SWAModels is how many epochs the weight average (Config.SWAFrom)
	// holds; its tensors follow the optimizer buffers, SWALens long.
	SWAModels int   `json:"swa_models,omitempty"`
	SWALens   []int `json:"swa_lens,omitempty"`
}

// SaveCheckpoint writes prefix.onnx (the model) and prefix.state (epochs
// completed, configuration, per-epoch history, optimizer state), each
// atomically. Run's own checkpoints also hold the weight average of
// stochastic weight averaging (Config.SWAFrom); this one has none.
func SaveCheckpoint(prefix string, net *nn.Net, cfg Config, epoch int, history []Epoch, opt nn.Optimizer) error {
	return saveCheckpoint(prefix, net, cfg, epoch, history, opt, nil)
}

func saveCheckpoint(prefix string, net *nn.Net, cfg Config, epoch int, history []Epoch, opt nn.Optimizer, swa *average) error {
	if err := onnx.WriteFile(prefix+".onnx", net.Model()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cfg.Log = nil
	h := stateHeader{Epoch: epoch, Config: cfg, NetSteps: net.Steps(), History: history}
	var bufs [][]float32
	if s, ok := opt.(nn.Stateful); ok {
		st := s.State()
		h.OptStep, bufs = st.Step, st.Buffers
		for _, b := range bufs {
			h.BufferLens = append(h.BufferLens, len(b))
		}
	}
	if swa != nil && swa.n > 0 {
		h.SWAModels = swa.n
		for _, b := range swa.mean {
			h.SWALens = append(h.SWALens, len(b))
		}
		bufs = append(slices.Clip(bufs), swa.mean...)
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("checkpoint header: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(stateMagic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(hj)))
	buf.Write(hj)
	for _, b := range bufs {
		binary.Write(&buf, binary.LittleEndian, b)
	}
	return atomicfile.Write(prefix+".state", buf.Bytes())
}

// Checkpoint is a restored training state.
type Checkpoint struct {
	Model   *graph.Model
	Epoch   int // epochs completed
	Config  Config
	History []Epoch // per-epoch log (may be shorter than Epoch in old checkpoints)
	state   stateHeader
	bufs    [][]float32 // optimizer state
	swa     average
}

// SWAModels is how many epochs the checkpoint's weight average holds
// (Config.SWAFrom; 0 without one).
func (c *Checkpoint) SWAModels() int { return c.swa.n }

// LoadCheckpoint reads prefix.onnx and prefix.state.
func LoadCheckpoint(prefix string) (*Checkpoint, error) {
	m, err := onnx.ReadFile(prefix + ".onnx")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	name := prefix + ".state"
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	h, bufs, err := parseState(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	nopt := len(h.BufferLens)
	return &Checkpoint{Model: m, Epoch: h.Epoch, Config: h.Config, History: h.History, state: h,
		bufs: bufs[:nopt:nopt], swa: average{n: h.SWAModels, mean: bufs[nopt:]}}, nil
}

// parseState decodes a state file, checking every length against the bytes
// present before allocating. It returns the optimizer buffers followed by
// the weight average's tensors.
func parseState(data []byte) (stateHeader, [][]float32, error) {
	var h stateHeader
	bad := func(off int, format string, a ...any) error {
		return fmt.Errorf("offset %d: %s", off, fmt.Sprintf(format, a...))
	}
	if len(data) < len(stateMagic)+4 || string(data[:len(stateMagic)]) != stateMagic {
		return h, nil, bad(0, "not a quartz checkpoint state file")
	}
	off := len(stateMagic)
	hl := int(binary.LittleEndian.Uint32(data[off:]))
	off += 4
	if hl > len(data)-off {
		return h, nil, bad(off, "header of %d bytes, %d left", hl, len(data)-off)
	}
	if err := json.Unmarshal(data[off:off+hl], &h); err != nil {
		return h, nil, bad(off, "header: %v", err)
	}
	if h.Epoch < 0 {
		return h, nil, bad(off, "negative epoch %d", h.Epoch)
	}
	off += hl
	if h.SWAModels < 0 || (h.SWAModels == 0) != (len(h.SWALens) == 0) {
		return h, nil, bad(off, "weight average of %d epochs in %d tensors", h.SWAModels, len(h.SWALens))
	}
	var bufs [][]float32
	for i, n := range slices.Concat(h.BufferLens, h.SWALens) {
		if n < 0 || n > (len(data)-off)/4 {
			return h, nil, bad(off, "buffer %d of %d values, %d bytes left", i, n, len(data)-off)
		}
		b := make([]float32, n)
		for j := range b {
			b[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*j:]))
		}
		off += 4 * n
		bufs = append(bufs, b)
	}
	if off != len(data) {
		return h, nil, bad(off, "%d trailing bytes", len(data)-off)
	}
	return h, bufs, nil
}

// Restore prepares net (built on c.Model) and a new optimizer with the
// checkpoint's state, for Run with start = c.Epoch.
func (c *Checkpoint) Restore(net *nn.Net) (nn.Optimizer, error) {
	cfg := c.Config
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	opt := newOptimizer(cfg)
	if len(c.bufs) > 0 {
		ps := net.Params()
		if len(ps) == 0 || len(c.bufs)%len(ps) != 0 {
			return nil, fmt.Errorf("checkpoint: %d optimizer buffers for %d parameters", len(c.bufs), len(ps))
		}
		for i, b := range c.bufs {
			if want := len(ps[i%len(ps)].Data); len(b) != want {
				return nil, fmt.Errorf("checkpoint: optimizer buffer %d has %d values, parameter %s has %d", i, len(b), ps[i%len(ps)].Name, want)
			}
		}
		s, ok := opt.(nn.Stateful)
		if !ok {
			return nil, errors.New("checkpoint: optimizer cannot restore state")
		}
		if err := s.SetState(nn.OptState{Step: c.state.OptStep, Buffers: c.bufs}); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	net.SetSeed(cfg.Seed)
	net.SetSteps(c.state.NetSteps)
	return opt, nil
}
