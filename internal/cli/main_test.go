package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain keeps the calibration cache of the tests out of the user's
// cache directory.
func TestMain(m *testing.M) {
	// The go command that tests run (slurm_test.go builds the binary)
	// keeps its build cache where it was: GOCACHE defaults to a folder
	// under XDG_CACHE_HOME, which is about to move.
	if os.Getenv("GOCACHE") == "" {
		if d, err := os.UserCacheDir(); err == nil {
			os.Setenv("GOCACHE", filepath.Join(d, "go-build"))
		}
	}
	dir, err := os.MkdirTemp("", "quartz-cli-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
