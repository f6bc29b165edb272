package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/pipeline"
)

// Bounds of numeric flags that size buffers.
const (
	maxWidth   = 16      // zoo width multiplier
	maxClasses = 1 << 20 // zoo classes
	maxInValue = 1 << 24 // values of a zoo input, C·H·W
)

// memFlag is --max-memory: GB as a number, 0 for no limit, or auto (80 %
// of the machine's RAM).
type memFlag struct {
	set   bool
	bytes int64
}

func (m *memFlag) String() string {
	if m == nil || !m.set {
		return "auto"
	}
	return strconv.FormatFloat(float64(m.bytes)/1e9, 'g', -1, 64)
}

func (m *memFlag) Set(s string) error {
	if s == "auto" {
		m.set = false
		return nil
	}
	g, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(s, "GB"), "G"), 64)
	if err != nil || !(g >= 0) || g > 1e9 {
		return fmt.Errorf("want gigabytes ≥ 0 (0: no limit) or auto")
	}
	m.set, m.bytes = true, int64(g*1e9)
	return nil
}

// limit returns the limit in bytes, 0 for none.
func (m *memFlag) limit() int64 {
	if !m.set {
		return pipeline.DefaultMaxMemory()
	}
	return m.bytes
}

const memUsage = "refuse work whose estimated memory exceeds `GB` gigabytes (0: no limit; auto: 80 % of the machine's RAM, from /proc/meminfo)"

// cacheDir returns dir, or the default cache directory when it is "".
func cacheDir(dir string) string {
	if dir == "" {
		return pipeline.DefaultCacheDir()
	}
	return dir
}

// zooEstimate returns the bytes a zoo model holds for training (train:
// weights, gradients and two optimizer buffers; activations kept for
// backward) or inference, without building it at its full size: it is
// built at width ≤ 1, an input of at most 32×32 and at most 16 classes,
// and its parameters and activations are scaled up. The scaling is an
// upper bound (every Linear scaled with the input area and the classes).
func zooEstimate(arch string, in []int, classes int, width float64, batch, workers int, training bool) (int64, error) {
	if len(in) != 3 || in[0] < 1 || in[1] < 1 || in[2] < 1 {
		return 0, fmt.Errorf("input shape %v: want C,H,W ≥ 1", in)
	}
	if v, ok := mulBounded(in[0], in[1], in[2]); !ok || v > maxInValue {
		return 0, fmt.Errorf("input shape %v: at most %d values per sample", in, maxInValue)
	}
	if classes < 1 || classes > maxClasses {
		return 0, fmt.Errorf("classes %d: want 1..%d", classes, maxClasses)
	}
	if !(width > 0 && width <= maxWidth) {
		return 0, fmt.Errorf("width %g: want a multiplier in (0, %d]", width, maxWidth)
	}
	small := []int{in[0], min(in[1], 32), min(in[2], 32)}
	w0, c0 := min(width, 1), min(classes, 16)
	m, err := nn.Zoo(arch, small, c0, w0)
	if err != nil {
		return 0, err
	}
	if err := m.InferShapes(); err != nil {
		return 0, err
	}
	ws := width / w0
	area := float64(in[1]*in[2]) / float64(small[1]*small[2])
	cls := float64(classes) / float64(c0)
	var params float64
	for _, l := range m.Nodes {
		n := float64(len(l.W) + len(l.B) + len(l.Gamma) + len(l.Beta) + len(l.Mean) + len(l.Var))
		switch l.Op {
		case graph.Linear:
			n *= ws * area * cls
		default:
			n *= ws * ws
		}
		params += n
	}
	act := float64(nn.EstimateInference(m, batch, workers)) * ws * area
	if training {
		// Weights, gradients, two Adam buffers; every node's output and
		// its gradient kept (at most a live buffer per node).
		return int64(16*params + act*float64(len(m.Nodes))), nil
	}
	return int64(4*params + act), nil
}

func mulBounded(v ...int) (int, bool) {
	p := 1
	for _, x := range v {
		if x < 0 || x > 0 && p > (1<<62)/x {
			return 0, false
		}
		p *= x
	}
	return p, true
}
