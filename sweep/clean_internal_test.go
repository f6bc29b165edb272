package sweep

import (
	"os"
	"path/filepath"
	"testing"
)

// prepareDir removes only the temporary files the sweep's own atomic writes
// leave, never a user's dotfile that happens to contain ".tmp".
func TestPrepareDirKeepsUserFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "points"), 0o755)
	cases := []struct {
		path   string
		remove bool
	}{
		{".bashrc.tmpl", false},
		{".notes.tmp", false},
		{".x.tmp123", false},
		{".sweep.json.tmp", false},
		{".sweep.json.tmpabc", false},
		{"sweep.json.tmp123", false},
		{".sweep.json.tmp123", true},
		{".results.csv.tmp42", true},
		{"points/.bashrc.tmpl", false},
		{"points/.t2_p99.json.tmpx", false},
		{"points/.foo.json.tmp1", false},
		{"points/.t2_p99.json.tmp123", true},
		{"points/.t8_p99.5.json.tmp7", true},
		{"points/.rate_p100.json.tmp9", true},
	}
	for _, c := range cases {
		if err := os.WriteFile(filepath.Join(dir, c.path), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := prepareDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		_, err := os.Stat(filepath.Join(dir, c.path))
		if gone := err != nil; gone != c.remove {
			t.Errorf("%s: removed %v, want %v", c.path, gone, c.remove)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "points"))
	for _, e := range ents {
		if e.Name() != ".bashrc.tmpl" && e.Name() != ".t2_p99.json.tmpx" && e.Name() != ".foo.json.tmp1" {
			t.Errorf("left %s in points/", e.Name())
		}
	}
}
