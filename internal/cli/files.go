package cli

import (
	"github.com/quartz-snn/quartz/internal/atomicfile"
)

// checkOutputs refuses, before any work is done, an output that atomicfile
// could not replace: a folder, a device, a FIFO, or a file in a missing
// folder. Empty paths (optional outputs not given) are skipped.
func checkOutputs(paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := atomicfile.CheckTarget(p); err != nil {
			return err
		}
	}
	return nil
}

// checkModel refuses a model file that is not a regular file (/dev/zero, a
// FIFO) or is larger than atomicfile.MaxModelSize, before it is read.
func checkModel(path string) error {
	return atomicfile.CheckInput(path, atomicfile.MaxModelSize)
}
