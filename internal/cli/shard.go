package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/shard"
	"github.com/quartz-snn/quartz/sweep"
)

// shardFlag is --shard i/n.
type shardFlag struct {
	spec *shard.Spec
}

func (s *shardFlag) String() string {
	if s == nil || s.spec == nil {
		return ""
	}
	return s.spec.String()
}

func (s *shardFlag) Set(v string) error {
	sp, err := shard.Parse(v)
	if err != nil {
		return err
	}
	s.spec = &sp
	return nil
}

const shardUsage = "run only shard `i/n` of the work (0 ≤ i < n) and write its part, DIR/part-i-of-n.json, for quartz merge"

// partFile is a part file: the header, then the eval or the sweep share.
type partFile struct {
	shard.Header
	Eval  *pipeline.Part `json:"eval,omitempty"`
	Sweep *sweep.Partial `json:"sweep,omitempty"`
}

// maxPartFile bounds a part file read back: a sweep part holds a few
// kilobytes per grid point.
const maxPartFile = 1 << 28

// writePart writes p to DIR/part-i-of-n.json atomically and returns the
// file's name.
func writePart(dir string, p *partFile) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("-o %s: %v", dir, err)
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, p.Shard.FileName())
	return name, atomicfile.Write(name, append(js, '\n'))
}

// decodePart parses and checks a part file's bytes.
func decodePart(data []byte) (*partFile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p partFile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a quartz part file: %v", err)
	}
	if err := p.Valid(); err != nil {
		return nil, err
	}
	if p.Identity.Samples < 1 {
		return nil, fmt.Errorf("a run of %d samples", p.Identity.Samples)
	}
	switch p.Identity.Kind {
	case "eval":
		if p.Eval == nil || p.Sweep != nil {
			return nil, errors.New("an eval part without its evaluation")
		}
		e := p.Eval
		if e.Base == nil || e.Layout == nil {
			return nil, errors.New("an eval part without its header or layout")
		}
		if e.Lo < 0 || e.Hi < e.Lo || e.Hi > p.Identity.Samples || e.Base.Samples != p.Identity.Samples {
			return nil, fmt.Errorf("samples [%d, %d) of %d: not a slice of the run", e.Lo, e.Hi, p.Identity.Samples)
		}
		lo, hi := p.Shard.Range(int64(p.Identity.Samples))
		if int64(e.Lo) != lo || int64(e.Hi) != hi {
			return nil, fmt.Errorf("shard %s holds samples [%d, %d), not its slice [%d, %d)", p.Shard, e.Lo, e.Hi, lo, hi)
		}
		if err := e.Tally.Check(e.Layout); err != nil {
			return nil, err
		}
	case "sweep":
		if p.Sweep == nil || p.Eval != nil {
			return nil, errors.New("a sweep part without its points")
		}
		for _, sg := range p.Sweep.Segments {
			if sg.Base == nil || sg.Layout == nil {
				return nil, errors.New("a sweep part with a point without its header or layout")
			}
			if err := sg.Tally.Check(sg.Layout); err != nil {
				return nil, err
			}
		}
		if a := p.Sweep.ANN; a.Lo < 0 || a.Hi < a.Lo || a.Hi > p.Identity.Samples || a.Correct < 0 || a.Correct > int64(a.Hi-a.Lo) {
			return nil, fmt.Errorf("the ANN's count %d on samples [%d, %d) of %d", a.Correct, a.Lo, a.Hi, p.Identity.Samples)
		}
		if p.Sweep.Manifest.Samples != p.Identity.Samples {
			return nil, fmt.Errorf("a sweep of %d samples in a run of %d", p.Sweep.Manifest.Samples, p.Identity.Samples)
		}
	}
	return &p, nil
}

// readPart reads and checks a part file.
func readPart(name string) (*partFile, error) {
	data, err := atomicfile.ReadFile(name, maxPartFile)
	if err != nil {
		return nil, err
	}
	p, err := decodePart(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// partNames expands the merge arguments: files as given, folders to the
// part-*.json files in them (sorted).
func partNames(args []string) ([]string, error) {
	var names []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			names = append(names, a)
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "part-*-of-*.json"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no part files (part-i-of-n.json) in this folder", a)
		}
		sort.Strings(found)
		names = append(names, found...)
	}
	return names, nil
}

// canon lists settings as "name=value" pairs in the given order.
func canon(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[i] + "=" + kv[i+1])
	}
	return b.String()
}

// checkMergeDir refuses an output folder that exists and is not empty:
// merge writes only into a new or empty folder, so that it never replaces
// a run's files the user did not name.
func checkMergeDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("-o %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("-o %s: not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("-o %s: %v", dir, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("-o %s: exists and is not empty; merge writes into a new or empty folder", dir)
	}
	return nil
}
