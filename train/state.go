package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

// The checkpoint file PREFIX.state (format 2) is one unit, written with a
// single atomic rename: the 8 bytes "QZCKPT02", a little-endian uint32
// header length, a JSON header (stateHeader), the model as ONNX
// (ModelLen bytes), every optimizer buffer as little-endian float32 values
// in header order, and last the SHA-256 of everything before it. A kill,
// SIGTERM or full disk at any moment leaves either the previous checkpoint
// or the new one, and a flipped bit anywhere is refused on load.
//
// PREFIX.onnx, written after it, is a copy of the model for inspection
// (loadable like any model); resuming does not read it.
//
// Format 1 ("QZCKPT01", no model, no checksum) kept the model in
// PREFIX.onnx only, renamed separately: such a pair is still loaded, with
// a warning that it cannot be verified.
const (
	stateMagic   = "QZCKPT02"
	stateMagicV1 = "QZCKPT01"
)

// MaxCheckpointSize bounds the checkpoint files LoadCheckpoint reads.
const MaxCheckpointSize = 8 << 30

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
	// ModelLen is the length of the ONNX model that follows the header
	// (format 2).
	ModelLen int `json:"model_len,omitempty"`
}

// SaveCheckpoint writes the checkpoint prefix.state (model, epochs
// completed, configuration, per-epoch history, optimizer state) atomically
// as one file, then the model's copy prefix.onnx. Run's own checkpoints
// also hold the weight average of stochastic weight averaging
// (Config.SWAFrom); this one has none.
func SaveCheckpoint(prefix string, net *nn.Net, cfg Config, epoch int, history []Epoch, opt nn.Optimizer) error {
	return saveCheckpoint(prefix, net, cfg, epoch, history, opt, nil)
}

func saveCheckpoint(prefix string, net *nn.Net, cfg Config, epoch int, history []Epoch, opt nn.Optimizer, swa *average) error {
	om, err := onnx.FromGraph(net.Model())
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	model, err := onnx.Encode(om)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cfg.Log = nil
	h := stateHeader{Epoch: epoch, Config: cfg, NetSteps: net.Steps(), History: history, ModelLen: len(model)}
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
	data, err := encodeState(h, model, bufs)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(prefix+".state", data); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.Write(prefix+".onnx", model); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// encodeState lays out a format 2 state file.
func encodeState(h stateHeader, model []byte, bufs [][]float32) ([]byte, error) {
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("checkpoint header: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(stateMagic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(hj)))
	buf.Write(hj)
	buf.Write(model)
	for _, b := range bufs {
		binary.Write(&buf, binary.LittleEndian, b)
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	return buf.Bytes(), nil
}

// Checkpoint is a restored training state.
type Checkpoint struct {
	Model   *graph.Model
	Epoch   int // epochs completed
	Config  Config
	History []Epoch // per-epoch log (may be shorter than Epoch in old checkpoints)
	// Warning, if not empty, is to be shown to the user: the checkpoint
	// is in the old format, which cannot be verified.
	Warning string
	state   stateHeader
	bufs    [][]float32 // optimizer state
	swa     average
}

// SWAModels is how many epochs the checkpoint's weight average holds
// (Config.SWAFrom; 0 without one).
func (c *Checkpoint) SWAModels() int { return c.swa.n }

// LoadCheckpoint reads the checkpoint prefix.state, verifying its
// checksum: a corrupt or truncated file is refused. A format 1 checkpoint
// (prefix.state without model or checksum, beside prefix.onnx) is loaded
// with Checkpoint.Warning set.
func LoadCheckpoint(prefix string) (*Checkpoint, error) {
	name := prefix + ".state"
	data, err := atomicfile.ReadFile(name, MaxCheckpointSize)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	h, model, bufs, err := parseState(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	var m *graph.Model
	warning := ""
	if model == nil {
		// Format 1: the model is the separate file.
		if m, err = onnx.ReadFile(prefix + ".onnx"); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		warning = fmt.Sprintf("checkpoint %s is in the old format (no checksum, model in %s.onnx renamed separately): it cannot be verified that both files come from the same epoch; the next checkpoint is written in the new format", name, prefix)
	} else {
		om, err := onnx.Decode(model)
		if err == nil {
			m, _, err = onnx.Convert(om)
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: model: %w", name, err)
		}
	}
	nopt := len(h.BufferLens)
	return &Checkpoint{Model: m, Epoch: h.Epoch, Config: h.Config, History: h.History, Warning: warning, state: h,
		bufs: bufs[:nopt:nopt], swa: average{n: h.SWAModels, mean: bufs[nopt:]}}, nil
}

// parseState decodes a state file of format 2 (verifying its checksum
// first) or 1, checking every length against the bytes present before
// allocating. It returns the model's ONNX bytes (nil in format 1) and the
// optimizer buffers followed by the weight average's tensors.
func parseState(data []byte) (stateHeader, []byte, [][]float32, error) {
	var h stateHeader
	bad := func(off int, format string, a ...any) error {
		return fmt.Errorf("offset %d: %s", off, fmt.Sprintf(format, a...))
	}
	if len(data) < len(stateMagic)+4 {
		return h, nil, nil, bad(0, "not a quartz checkpoint state file (%d bytes)", len(data))
	}
	v2 := false
	switch string(data[:len(stateMagic)]) {
	case stateMagic:
		v2 = true
		if len(data) < len(stateMagic)+4+sha256.Size {
			return h, nil, nil, bad(0, "truncated checkpoint (%d bytes)", len(data))
		}
		n := len(data) - sha256.Size
		if sum := sha256.Sum256(data[:n]); !bytes.Equal(sum[:], data[n:]) {
			return h, nil, nil, errors.New("checksum mismatch: the file is corrupt (damaged, truncated or edited); refusing to resume from it")
		}
		data = data[:n]
	case stateMagicV1:
	default:
		return h, nil, nil, bad(0, "not a quartz checkpoint state file")
	}
	off := len(stateMagic)
	hl := int(binary.LittleEndian.Uint32(data[off:]))
	off += 4
	if hl > len(data)-off {
		return h, nil, nil, bad(off, "header of %d bytes, %d left", hl, len(data)-off)
	}
	if err := json.Unmarshal(data[off:off+hl], &h); err != nil {
		return h, nil, nil, bad(off, "header: %v", err)
	}
	if h.Epoch < 0 {
		return h, nil, nil, bad(off, "negative epoch %d", h.Epoch)
	}
	off += hl
	var model []byte
	if v2 {
		if h.ModelLen <= 0 || h.ModelLen > len(data)-off {
			return h, nil, nil, bad(off, "model of %d bytes, %d left", h.ModelLen, len(data)-off)
		}
		model = data[off : off+h.ModelLen]
		off += h.ModelLen
	} else if h.ModelLen != 0 {
		return h, nil, nil, bad(off, "model length %d in a format 1 file", h.ModelLen)
	}
	if h.SWAModels < 0 || (h.SWAModels == 0) != (len(h.SWALens) == 0) {
		return h, nil, nil, bad(off, "weight average of %d epochs in %d tensors", h.SWAModels, len(h.SWALens))
	}
	var bufs [][]float32
	for i, n := range slices.Concat(h.BufferLens, h.SWALens) {
		if n < 0 || n > (len(data)-off)/4 {
			return h, nil, nil, bad(off, "buffer %d of %d values, %d bytes left", i, n, len(data)-off)
		}
		b := make([]float32, n)
		for j := range b {
			b[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*j:]))
		}
		off += 4 * n
		bufs = append(bufs, b)
	}
	if off != len(data) {
		return h, nil, nil, bad(off, "%d trailing bytes", len(data)-off)
	}
	return h, model, bufs, nil
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
