package pipeline

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/normalize"
)

// Bounds on the configuration: beyond them a run cannot be useful and
// its buffers would not fit any machine.
const (
	MaxTmax    = 1 << 16 // window T of a layer
	MaxWorkers = 1024
	MaxNodes   = 10000 // nodes of a model (after import)
	MaxCalib   = 1 << 24
)

// MemoryError is a refusal: an operation needs more memory than allowed.
type MemoryError struct {
	What        string
	Need, Limit int64
}

func (e *MemoryError) Error() string {
	need, limit := GB(e.Need), GB(e.Limit)
	if need == limit {
		// Close: enough digits to show that the need is the larger.
		need, limit = fmt.Sprintf("%.3f GB", float64(e.Need)/1e9), fmt.Sprintf("%.3f GB", float64(e.Limit)/1e9)
	}
	return fmt.Sprintf("%s needs about %s, the limit is %s (--max-memory)", e.What, need, limit)
}

// GB formats bytes as gigabytes.
func GB(b int64) string {
	g := float64(b) / 1e9
	switch {
	case g >= 10:
		return fmt.Sprintf("%.0f GB", g)
	case g >= 0.1:
		return fmt.Sprintf("%.1f GB", g)
	}
	return fmt.Sprintf("%.2f GB", g)
}

// CheckMemory returns a *MemoryError when need exceeds limit (limit ≤ 0:
// no limit).
func CheckMemory(what string, need, limit int64) error {
	if limit > 0 && need > limit {
		return &MemoryError{What: what, Need: need, Limit: limit}
	}
	return nil
}

func workerCount(w int) int {
	if w <= 0 {
		return runtime.NumCPU()
	}
	return w
}

// paramBytes returns the bytes of m's parameters.
func paramBytes(m *graph.Model) int64 {
	var b int64
	for _, l := range m.Nodes {
		b += 4 * int64(len(l.W)+len(l.B)+len(l.Gamma)+len(l.Beta)+len(l.Mean)+len(l.Var)+len(l.Scale)+len(l.Shift))
	}
	return b
}

// EstimateConvert returns the bytes Convert holds at its peak for the
// simplified model s and calibration set calib: the inference buffers of
// a calibration chunk (nn.EstimateInference), the histograms
// (normalize.EstimateCalibration), the chunk's input, the set, and the
// parameters of the simplified and normalized copies.
func EstimateConvert(s *graph.Model, calib *dataset.Set, workers int) int64 {
	n := min(nn.BatchFor(s), max(1, calib.Len()))
	b := nn.EstimateInference(s, n, workerCount(workers))
	b += normalize.EstimateCalibration(s)
	b += calib.Bytes() + 5*int64(n)*int64(calib.SampleSize())
	b += 2 * paramBytes(s)
	return b
}

// EstimateEvaluate returns the bytes Evaluate's ANN pass holds for model m
// on set: the inference buffers of a prediction chunk, its input and the
// set. The SNN simulation's state is bounded by package snn's limits.
func EstimateEvaluate(m *graph.Model, set *dataset.Set, workers int) int64 {
	n := min(4*nn.BatchFor(m), max(1, set.Len()))
	return nn.EstimateInference(m, n, workerCount(workers)) + paramBytes(m) + set.Bytes() + 5*int64(n)*int64(set.SampleSize())
}

// MachineMemory returns the machine's RAM in bytes from /proc/meminfo
// (MemTotal), 0 when unknown.
func MachineMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "MemTotal" {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 2 && fs[1] == "kB" {
			if n, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
				return n << 10
			}
		}
	}
	return 0
}

// DefaultMaxMemory is the default --max-memory: 80 % of MachineMemory, 0
// (no limit) when unknown.
func DefaultMaxMemory() int64 { return MachineMemory() / 5 * 4 }
