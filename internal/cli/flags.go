package cli

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/quartz-snn/quartz/dataset"
)

// dataFlags are the data set flags every command shares.
type dataFlags struct {
	spec  string
	dir   string
	split string
	limit int
}

func (d *dataFlags) register(fs *flag.FlagSet, defSpec, defSplit string) {
	d.registerSpec(fs, defSpec)
	fs.StringVar(&d.split, "split", defSplit, "split: train or test")
	fs.IntVar(&d.limit, "limit", 0, "use only the first `N` samples (0: all)")
}

// registerSpec registers only --data and --data-dir, for commands that
// read the whole training split (convert calibrates on it).
func (d *dataFlags) registerSpec(fs *flag.FlagSet, defSpec string) {
	fs.StringVar(&d.spec, "data", defSpec, "data set: mnist, fashion-mnist, cifar10, cifar10:PATH, folder:PATH")
	fs.StringVar(&d.dir, "data-dir", os.Getenv("QUARTZ_DATA"), "folder searched for data sets (default $QUARTZ_DATA)")
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
	s, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: split, Limit: d.limit, SampleSize: sampleSize, Lazy: true})
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
	s, err := dataset.Open(d.spec, dataset.Options{Dir: d.dir, Split: split, Limit: d.limit, SampleSize: sampleSize})
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
