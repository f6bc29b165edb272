package shard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxCount bounds the number of shards: beyond it, a shard's share of any
// run this tool does is smaller than its start-up.
const MaxCount = 100000

// Spec is shard Index of Count.
type Spec struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Parse reads "i/n" with 0 ≤ i < n ≤ MaxCount.
func Parse(s string) (Spec, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4 (shards count from 0)", s)
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("shard %q: want i/n with integers i and n, e.g. 0/4", s)
	}
	sp := Spec{Index: i, Count: n}
	return sp, sp.Validate()
}

// Validate reports a count outside 1..MaxCount or an index outside 0..n−1.
func (s Spec) Validate() error {
	if s.Count < 1 || s.Count > MaxCount {
		return fmt.Errorf("shard %d/%d: the count must be in 1..%d", s.Index, s.Count, MaxCount)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: the index must be in 0..%d (shards count from 0)", s.Index, s.Count, s.Count-1)
	}
	return nil
}

func (s Spec) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// FileName is the part file's name: "part-2-of-4.json".
func (s Spec) FileName() string {
	return "part-" + strconv.Itoa(s.Index) + "-of-" + strconv.Itoa(s.Count) + ".json"
}

// Range returns the shard's slice [lo, hi) of total work units:
// ⌊i·total/n⌋ to ⌊(i+1)·total/n⌋. It may be empty when total < n.
func (s Spec) Range(total int64) (lo, hi int64) {
	return split(s.Index, s.Count, total), split(s.Index+1, s.Count, total)
}

// split returns ⌊i·total/n⌋ without overflow for total < 2⁶³ and n ≤
// MaxCount.
func split(i, n int, total int64) int64 {
	q, r := total/int64(n), total%int64(n)
	return q*int64(i) + r*int64(i)/int64(n)
}

// Format identifies part files.
const Format = "quartz-part"

// Version is the part format's version.
const Version = 1

// Identity is what makes parts parts of one run. Two parts belong together
// when their identities are equal.
type Identity struct {
	// Kind is the command: "eval" or "sweep".
	Kind string `json:"kind"`
	// Model is the model's name as given; ModelSHA256 the SHA-256 of its
	// file, with the preprocessing flags that change the network.
	Model       string `json:"model"`
	ModelSHA256 string `json:"model_sha256"`
	// Data names the evaluated set and DataFingerprint identifies its
	// contents (dataset.Set.Fingerprint: labels, files, sizes, times);
	// Samples is its length, the work to cover.
	Data            string `json:"data"`
	DataFingerprint string `json:"data_fingerprint"`
	Samples         int    `json:"samples"`
	// CalibKey is the calibration cache key (pipeline.CalibrationKey):
	// model, calibration set, sample count and seed; "" without a
	// calibration (eval --snn).
	CalibKey string `json:"calibration_key,omitempty"`
	// Config lists the settings that change the results, canonically.
	Config string `json:"config"`
}

// Header starts every part file.
type Header struct {
	Format   string   `json:"format"`
	Version  int      `json:"version"`
	Shard    Spec     `json:"shard"`
	Identity Identity `json:"identity"`
}

// NewHeader returns the header of shard s of the run id.
func NewHeader(s Spec, id Identity) Header {
	return Header{Format: Format, Version: Version, Shard: s, Identity: id}
}

// Valid reports a header that is not a quartz part of this version or
// names an impossible shard.
func (h *Header) Valid() error {
	if h.Format != Format {
		return errors.New("not a quartz part file")
	}
	if h.Version != Version {
		return fmt.Errorf("part format version %d; this quartz reads version %d", h.Version, Version)
	}
	if h.Identity.Kind != "eval" && h.Identity.Kind != "sweep" {
		return fmt.Errorf("part of a %q run; want eval or sweep", h.Identity.Kind)
	}
	return h.Shard.Validate()
}

// Check reports whether the headers of the part files names (in the same
// order) belong to one run and cover its shards exactly once: an error
// names a foreign part (another identity or shard count), a duplicate or
// a missing shard. It returns the parts' order by shard index.
func Check(names []string, hs []Header) ([]int, error) {
	if len(hs) == 0 {
		return nil, errors.New("no parts given")
	}
	if len(names) != len(hs) {
		return nil, errors.New("shard.Check: names and headers differ in length")
	}
	for i := range hs {
		if err := hs[i].Valid(); err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
	}
	ref := hs[0]
	n := ref.Shard.Count
	owner := make([]int, n)
	for i := range owner {
		owner[i] = -1
	}
	for i, h := range hs {
		if d := diff(ref.Identity, h.Identity); d != "" {
			return nil, fmt.Errorf("%s is a part of another run than %s (%s)", names[i], names[0], d)
		}
		if h.Shard.Count != n {
			return nil, fmt.Errorf("%s is shard %s, %s shard %s: parts of a split into %d and into %d shards do not mix",
				names[i], h.Shard, names[0], ref.Shard, h.Shard.Count, n)
		}
		k := h.Shard.Index
		if j := owner[k]; j >= 0 {
			return nil, fmt.Errorf("shard %s given twice: %s and %s", h.Shard, names[j], names[i])
		}
		owner[k] = i
	}
	var missing []string
	for k, j := range owner {
		if j < 0 {
			missing = append(missing, Spec{k, n}.String())
		}
	}
	if len(missing) > 0 {
		noun := "shard"
		if len(missing) > 1 {
			noun = "shards"
		}
		it, file := "it", "its file is"
		if len(missing) > 1 {
			it, file = "them", "the first one's file is"
		}
		return nil, fmt.Errorf("%s %s missing (run %s again with --shard and merge when every part is there; %s %s)",
			noun, strings.Join(missing, ", "), it, file, Spec{indexOf(missing[0]), n}.FileName())
	}
	return owner, nil
}

func indexOf(s string) int {
	a, _, _ := strings.Cut(s, "/")
	i, _ := strconv.Atoi(a)
	return i
}

// diff names the first fields in which b differs from a, "" if none.
func diff(a, b Identity) string {
	var d []string
	add := func(name, x, y string) {
		if x != y {
			if strings.Contains(name, "SHA") || strings.Contains(name, "fingerprint") || strings.Contains(name, "key") {
				x, y = short(x), short(y)
			}
			d = append(d, fmt.Sprintf("%s %s, not %s", name, y, x))
		}
	}
	add("kind", a.Kind, b.Kind)
	add("model", a.Model, b.Model)
	add("model SHA-256", a.ModelSHA256, b.ModelSHA256)
	add("data", a.Data, b.Data)
	add("data fingerprint", a.DataFingerprint, b.DataFingerprint)
	add("samples", strconv.Itoa(a.Samples), strconv.Itoa(b.Samples))
	add("calibration key", a.CalibKey, b.CalibKey)
	add("configuration", a.Config, b.Config)
	return strings.Join(d, "; ")
}

// short abbreviates a long value for a message, keeping its start and end.
func short(s string) string {
	if len(s) <= 24 {
		return s
	}
	return s[:14] + "…" + s[len(s)-8:]
}
