package nir

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python returns an interpreter with h5py, or skips the test. Debian's
// python3-h5py installs into /usr/bin/python3; QUARTZ_PYTHON overrides.
func python(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("QUARTZ_PYTHON"), "/usr/bin/python3", "python3"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if err := exec.Command(c, "-c", "import h5py").Run(); err == nil {
			return c
		}
	}
	t.Skip("no python3 with h5py (apt-get install python3-h5py): skipping the independent reader check")
	return ""
}

// TestH5py reads exported files with h5py, as nir.read does, and checks node
// fields, dtypes and NIR's shape inference along every edge.
func TestH5py(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "figure1.nir")}
	data, _, err := Marshal(figure1(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for k := 0; k < 6; k++ {
		n := randomNetwork(t, rng)
		data, warnings, err := Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) > 0 {
			continue // NIR's own shape rules disagree by design (see the warnings)
		}
		f := filepath.Join(dir, "random"+string(rune('a'+k))+".nir")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// Branching networks: group paths, Delay nodes, several edges into a
	// node.
	for name, n := range dagNetworks(t) {
		data, warnings, err := Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) > 0 {
			continue
		}
		f := filepath.Join(dir, "dag-"+name+".nir")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, err := exec.Command(py, append([]string{"testdata/check_nir.py"}, files...)...).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("h5py check failed: %v", err)
	}
	if got := strings.Count(string(out), "ok "); got != len(files) {
		t.Fatalf("%d files checked, want %d", got, len(files))
	}
	if h5dump, err := exec.LookPath("h5dump"); err == nil {
		if out, err := exec.Command(h5dump, "-H", files[0]).CombinedOutput(); err != nil {
			t.Fatalf("h5dump: %v\n%s", err, out)
		}
	}
}
