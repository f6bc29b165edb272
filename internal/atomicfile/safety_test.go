//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRefuseNonRegular: Write, and CheckTarget before it, refuse a target
// that is not a regular file or absent; a FIFO or a device is never
// replaced by a regular file (defect 7).
func TestRefuseNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	reg := filepath.Join(dir, "reg.json")
	os.WriteFile(reg, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.json")
	os.Symlink(reg, link)
	for _, c := range []struct {
		name, path, want string
	}{
		{"absent", filepath.Join(dir, "new.json"), ""},
		{"regular", reg, ""},
		{"link to a regular file", link, ""},
		{"folder", sub, "is a folder, not a regular file"},
		{"empty folder path", dir + "/", "is a folder"},
		{"FIFO", fifo, "is a FIFO, not a regular file"},
		{"device", os.DevNull, "is a device, not a regular file"},
		{"missing folder", filepath.Join(dir, "missing", "x.json"), "does not exist"},
		{"file as folder", filepath.Join(reg, "x.json"), "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckTarget(c.path)
			if c.want == "" {
				if err != nil {
					t.Fatalf("CheckTarget: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CheckTarget(%s) = %v, want one line with %q", c.path, err, c.want)
			}
			if c.path == os.DevNull {
				return // never try to replace the real one
			}
			if err := Write(c.path, []byte("x")); err == nil {
				t.Fatalf("Write(%s) succeeded", c.path)
			}
		})
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeDevice == 0 {
		t.Errorf("%s is no longer a device: %v", os.DevNull, err)
	}
	checkNoTemps(t, dir)
}

func checkNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), tmpInfix) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestFullDisk: a write that fails part way (an injected full disk) leaves
// the old content and no temporary file, whatever byte it fails at.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.bin")
	if err := Write(name, []byte("old content")); err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("new content ", 100))
	for _, n := range []int64{0, 1, 7, int64(len(data)) - 1} {
		restore := InjectFault(FailAfter(n))
		err := Write(name, data)
		restore()
		if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), name) {
			t.Errorf("fail after %d bytes: error %v, want ErrDiskFull naming the file", n, err)
		}
		if got, _ := os.ReadFile(name); string(got) != "old content" {
			t.Errorf("fail after %d bytes: file holds %q", n, got)
		}
		checkNoTemps(t, dir)
	}
	restore := InjectFault(FailAfter(int64(len(data))))
	err := Write(name, data)
	restore()
	if err != nil {
		t.Errorf("a write that fits failed: %v", err)
	}
}

func TestIsTemp(t *testing.T) {
	for _, c := range []struct {
		name, target string
		want         bool
	}{
		{".m.onnx.tmp123456", "m.onnx", true},
		{".m.onnx.tmp1", "m.onnx", true},
		{".m.onnx.tmp", "m.onnx", false},
		{".m.onnx.tmpl", "m.onnx", false},
		{".m.onnx.tmp12x", "m.onnx", false},
		{".bashrc.tmpl", "bashrc", false},
		{".other.onnx.tmp123", "m.onnx", false},
		{"m.onnx.tmp123", "m.onnx", false},
		{".m.onnx.tmp.tmp123", "m.onnx", false},
	} {
		if got := IsTemp(c.name, c.target); got != c.want {
			t.Errorf("IsTemp(%q, %q) = %v, want %v", c.name, c.target, got, c.want)
		}
	}
}

// TestCleanTemps removes only the temporary files of the given targets.
func TestCleanTemps(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"m.onnx", ".bashrc.tmpl", ".m.onnx.tmpl", ".x.onnx.tmp123", "notes.tmp1"}
	gone := []string{".m.onnx.tmp123", ".m.train.json.tmp9"}
	for _, n := range append(keep, gone...) {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	n, err := CleanTemps(filepath.Join(dir, "m.onnx"), filepath.Join(dir, "m.train.json"), filepath.Join(dir, "nofolder", "z"))
	if err != nil || n != len(gone) {
		t.Fatalf("CleanTemps = %d, %v; want %d", n, err, len(gone))
	}
	for _, k := range keep {
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("%s removed", k)
		}
	}
	for _, g := range gone {
		if _, err := os.Stat(filepath.Join(dir, g)); err == nil {
			t.Errorf("%s kept", g)
		}
	}
}

// TestReadFile: inputs are bounded and must be regular files
// (`inspect /dev/zero` read until memory ran out).
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("12345"), 0o644)
	if b, err := ReadFile(small, 5); err != nil || string(b) != "12345" {
		t.Errorf("ReadFile at the limit = %q, %v", b, err)
	}
	for _, c := range []struct {
		name, path string
		max        int64
		want       string
	}{
		{"over the limit", small, 4, "over the limit of 4"},
		{"device", "/dev/zero", 1 << 30, "is a device, not a regular file"},
		{"folder", dir, 1 << 30, "is a folder"},
		{"missing", filepath.Join(dir, "none"), 1, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Stat(c.path); c.path == "/dev/zero" && err != nil {
				t.Skip("no /dev/zero")
			}
			_, err := ReadFile(c.path, c.max)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("ReadFile(%s) = %v, want an error naming the file with %q", c.path, err, c.want)
			}
			if err2 := CheckInput(c.path, c.max); err2 == nil {
				t.Errorf("CheckInput(%s) accepted it", c.path)
			}
		})
	}
}
