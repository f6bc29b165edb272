package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSpecErrors(t *testing.T) {
	t.Setenv("QUARTZ_DATA", "")
	tests := []struct {
		spec string
		opt  Options
		want []string
	}{
		{"imagenet", Options{}, []string{`unknown spec "imagenet"`, "mnist", "fashion-mnist", "cifar10:PATH", "folder:PATH"}},
		{"folder", Options{}, []string{`unknown spec "folder"`}},
		{"", Options{}, []string{`unknown spec ""`}},
		{"cifar10:", Options{}, []string{"empty path"}},
		{"mnist", Options{Split: "val"}, []string{`split "val"`}},
		{"folder:/nonexistent/x", Options{}, []string{"no such file"}},
	}
	for _, tt := range tests {
		_, err := Open(tt.spec, tt.opt)
		if err == nil {
			t.Errorf("%q: no error", tt.spec)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tt.spec, err, w)
			}
		}
	}
}

func TestOpenCIFARImageFolder(t *testing.T) {
	var ms []member
	for i, c := range CIFAR10Classes {
		ms = append(ms, member{"train/" + c + "/0.png", rgbPNG(t, 32, 32, uint8(i))}, member{"test/" + c + "/0.png", rgbPNG(t, 32, 32, uint8(i))})
	}
	dir := t.TempDir()
	writeTree(t, dir, ms)
	tgz := filepath.Join(t.TempDir(), "c.tgz")
	writeFile(t, tgz, tarBytes(t, ms, true))
	for _, p := range []string{dir, tgz} {
		s, err := Open("cifar10:"+p, Options{Split: "train"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != 10 || s.Labels[9] != 9 || s.Name != "cifar10/train" {
			t.Errorf("%s: %v labels %v", p, s, s.Labels)
		}
	}
	// Class folders other than CIFAR-10's are rejected.
	if err := os.Rename(filepath.Join(dir, "test", "cat"), filepath.Join(dir, "test", "kitten")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("cifar10:"+dir, Options{}); err == nil || !strings.Contains(err.Error(), "class folders") {
		t.Errorf("renamed class: %v", err)
	}
	// A symbolic link to a class folder counts as a class folder.
	if err := os.Symlink(filepath.Join(dir, "test", "kitten"), filepath.Join(dir, "test", "cat")); err != nil {
		t.Skip(err)
	}
	if err := os.Rename(filepath.Join(dir, "test", "kitten"), filepath.Join(dir, ".kitten")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "test", "cat")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, ".kitten"), filepath.Join(dir, "test", "cat")); err != nil {
		t.Fatal(err)
	}
	if s, err := Open("cifar10:"+dir, Options{}); err != nil || s.Len() != 10 {
		t.Errorf("symlinked class: %v, %v", s, err)
	}
}
