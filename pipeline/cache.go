package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/normalize"
)

// The calibration cache holds, in a directory (Config.Cache), the
// histograms of a calibration (normalize.Calibration.MarshalBinary:
// versioned, with a SHA-256 of the payload) and the choices of
// --percentile auto, as files named by a key: a SHA-256 over
//
//   - the simplified model (graph.Simplify): every node's op, attributes,
//     shapes and parameters, bit for bit, so that the ONNX file, its
//     external data, --output, --input-scale/-mean/-std (folded into the
//     weights or prepended as an input layer) and --analog-first's input
//     layer are all part of it;
//   - the calibration set: its name, length, shape, classes, labels and
//     the path, size and modification time of its files
//     (dataset.Set.Fingerprint);
//   - the calibration sample count and seed;
//   - for an auto choice, also Tmax, the threshold, analog-first, the
//     candidates and the validation slice.
//
// An entry that cannot be read, fails its checksum, has another version or
// does not fit the model is recomputed and rewritten, with a note. Files
// are written atomically (internal/atomicfile.Write): concurrent runs may
// compute the same entry twice but never read a partial one.
const cacheVersion = "quartz-calibration-cache-2" // 2: Clip(0, a) layers histogram their values before the clip

// DefaultCacheDir returns $XDG_CACHE_HOME/quartz, or ~/.cache/quartz
// (os.UserCacheDir), or "" when neither is known.
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil || d == "" {
		return ""
	}
	return filepath.Join(d, "quartz")
}

// maxCacheFile bounds a cache file read back (a calibration of a few
// hundred layers is tens of MiB).
const maxCacheFile = 1 << 30

// hashModel writes the simplified model s to h: every field of every node,
// float slices as raw bits.
func hashModel(h hash.Hash, s *graph.Model) {
	fmt.Fprintf(h, "model %q %v %d\x00", s.InputName, s.InputShape, len(s.Nodes))
	var b [4]byte
	floats := func(name string, v []float32) {
		fmt.Fprintf(h, "%s %d\x00", name, len(v))
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			h.Write(b[:])
		}
	}
	for _, n := range s.Nodes {
		c := *n
		floats("W", c.W)
		floats("B", c.B)
		floats("Gamma", c.Gamma)
		floats("Beta", c.Beta)
		floats("Mean", c.Mean)
		floats("Var", c.Var)
		floats("Scale", c.Scale)
		floats("Shift", c.Shift)
		c.W, c.B, c.Gamma, c.Beta, c.Mean, c.Var, c.Scale, c.Shift = nil, nil, nil, nil, nil, nil, nil, nil
		// The other fields, by name: a field added to graph.Node later is
		// part of the key without a change here.
		fmt.Fprintf(h, "%+v\x00", c)
	}
}

// calibKey returns the cache key of a calibration of s on n samples of set
// drawn with seed.
func calibKey(s *graph.Model, set *dataset.Set, n int, seed uint64) (string, error) {
	fp, err := set.Fingerprint()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00data %s\x00calib %d %d\x00", cacheVersion, fp, n, seed)
	hashModel(h, s)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// loadCalibration reads the calibration of key from dir; nil and a note
// when the entry is absent (no note) or unusable (a note).
func loadCalibration(dir, key string, s *graph.Model) (*normalize.Calibration, string) {
	p := filepath.Join(dir, "calib-"+key+".bin")
	data, err := atomicfile.ReadFile(p, maxCacheFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ""
	}
	if err != nil {
		return nil, fmt.Sprintf("calibration cache: %v; recomputing", err)
	}
	cal, err := normalize.UnmarshalCalibration(s, data)
	if err != nil {
		return nil, fmt.Sprintf("calibration cache: %s: %v; recomputing", p, err)
	}
	return cal, ""
}

// storeCalibration writes cal under key; a failure is returned as a note
// (the result is right without the cache).
func storeCalibration(dir, key string, cal *normalize.Calibration) string {
	data, err := cal.MarshalBinary()
	if err == nil {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = atomicfile.Write(filepath.Join(dir, "calib-"+key+".bin"), data)
		}
	}
	if err != nil {
		return fmt.Sprintf("calibration cache: not written: %v", err)
	}
	return ""
}
