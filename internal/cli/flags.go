package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/quartz-snn/quartz/dataset"
	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/progress"
)

// dataFlags are the data set flags every command shares.
type dataFlags struct {
	spec   string
	dir    string
	split  string
	limit  int
	layout string // --data-layout of .npy/.npz image tensors
}

func (d *dataFlags) register(fs *flag.FlagSet, defSpec, defSplit string) {
	d.registerSpec(fs, defSpec)
	fs.StringVar(&d.split, "split", defSplit, "split: train or test")
	fs.IntVar(&d.limit, "limit", 0, "use only the first `N` samples (0: all)")
}

// registerSpec registers only --data and --data-dir, for commands that
// read the whole training split (convert calibrates on it).
func (d *dataFlags) registerSpec(fs *flag.FlagSet, defSpec string) {
	fs.StringVar(&d.spec, "data", defSpec, "data set: mnist, fashion-mnist, cifar10, cifar10:PATH, folder:PATH, npy:X.npy,Y.npy, npz:FILE.npz[:X,Y]")
	fs.StringVar(&d.dir, "data-dir", os.Getenv("QUARTZ_DATA"), "folder searched for data sets (default $QUARTZ_DATA)")
	fs.StringVar(&d.layout, "data-layout", "", "npy/npz image tensors: nchw or nhwc (default: told apart by the channel count, below both image sides)")
}

// calibSet opens the training split for calibrating m. Lazy: image
// folders and archives decode only the samples drawn.
func (d *dataFlags) calibSet(m *graph.Model) (*dataset.Set, error) {
	s, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: "train", SampleSize: graph.Size(m.InputShape), Lazy: true, Layout: d.layout})
	if err != nil {
		return nil, fmt.Errorf("calibration set: %w", err)
	}
	return s, nil
}

func (d *dataFlags) open(split string) (*dataset.Set, error) {
	return d.openSized(split, 0)
}

// openShard is openSized for a shard or a plan (quartz slurm): image
// folders and archives are opened lazily, so that a shard decodes only
// its slice and a plan none.
func (d *dataFlags) openShard(split string, sampleSize int) (*dataset.Set, error) {
	if d.limit < 0 {
		return nil, fmt.Errorf("--limit %d: must be ≥ 0", d.limit)
	}
	s, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: split, Limit: d.limit, SampleSize: sampleSize, Lazy: true, Layout: d.layout})
	if err != nil {
		return nil, err
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("data set %s is empty", s.Name)
	}
	return s, nil
}

// openSized is open for a model that takes sampleSize values per sample:
// image folders of another size are refused from their headers, before
// they are decoded (0: any size).
func (d *dataFlags) openSized(split string, sampleSize int) (*dataset.Set, error) {
	if d.limit < 0 {
		return nil, fmt.Errorf("--limit %d: must be ≥ 0", d.limit)
	}
	s, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: split, Limit: d.limit, SampleSize: sampleSize, Layout: d.layout})
	if err != nil {
		return nil, err
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("data set %s is empty", s.Name)
	}
	return s, nil
}

func workersFlag(fs *flag.FlagSet) *int {
	return fs.Int("workers", runtime.NumCPU(), "worker goroutines")
}

// printNotes prints each distinct note once on stderr.
func printNotes(e *env, notes ...string) {
	seen := map[string]bool{}
	for _, n := range notes {
		if n != "" && !seen[n] {
			seen[n] = true
			fmt.Fprintf(e.stderr, "note: %s\n", n)
		}
	}
}

// progressFlags are --progress and --quiet.
type progressFlags struct {
	mode  string
	quiet bool
}

func (p *progressFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.mode, "progress", "auto", "progress on stderr: bar, lines (one line per phase with its count and time) or none; auto: bar on a terminal, lines elsewhere")
	fs.BoolVar(&p.quiet, "quiet", false, "no progress on stderr (--progress none); notes and warnings still appear")
}

// writer returns stderr with the chosen progress mode, for
// pipeline.Config.Progress and sweep.Config.Progress.
func (p *progressFlags) writer(stderr io.Writer) (io.Writer, error) {
	m := progress.Auto
	if p.mode != "auto" {
		var err error
		if m, err = progress.ParseMode(p.mode); err != nil {
			return nil, fmt.Errorf("--progress %q: %v", p.mode, err)
		}
	}
	if p.quiet {
		m = progress.None
	}
	return progress.With(stderr, m), nil
}
