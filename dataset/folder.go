package dataset

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register JPEG for image.Decode
	_ "image/png"  // register PNG for image.Decode
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// maxMember bounds the size of one image file accepted from a folder or
// archive.
var maxMember int64 = 64 << 20

// MaxPixels bounds the width × height of one image of a folder or archive
// (16 megapixels, 4096×4096). The header is read first: a larger image, such
// as a decompression bomb (a few MB of JPEG that decode to gigabytes), is
// refused before it is decoded.
const MaxPixels = 1 << 24

// maxPixels is the limit in force; tests lower it.
var maxPixels int64 = MaxPixels

// imgEntry is one image file of a class folder.
type imgEntry struct {
	class string // class folder name
	base  string // file name inside the class folder; sort key
	path  string // for errors: a file path or "archive:member"
	off   int64  // offset of the member's data in the (decompressed) archive; -1 for files
	data  []byte // contents for archive members; nil: read path from disk
}

// isImageName reports whether a file name has an image extension we decode.
func isImageName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

func isHidden(name string) bool { return strings.HasPrefix(name, ".") }

// splitNames are the folder names that select a split.
var splitNames = []string{"train", "test"}

// hasSplitDirs reports whether dir has a train or test sub-folder.
func hasSplitDirs(dir string) bool {
	for _, s := range splitNames {
		if fi, err := os.Stat(filepath.Join(dir, s)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// isDirEntry reports whether d, in folder dir, is a folder or a symbolic
// link to one.
func isDirEntry(dir string, d os.DirEntry) bool {
	if d.Type()&os.ModeSymlink != 0 {
		fi, err := os.Stat(filepath.Join(dir, d.Name()))
		return err == nil && fi.IsDir()
	}
	return d.IsDir()
}

// dirEntries lists root/<class>/<image> files. Classes are all non-hidden
// sub-folders of root, sorted; files of other types are ignored.
func dirEntries(root string) ([]imgEntry, []string, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	var classes []string
	var entries []imgEntry
	for _, d := range des { // os.ReadDir sorts by name
		if isHidden(d.Name()) || !isDirEntry(root, d) {
			continue
		}
		classes = append(classes, d.Name())
		cdir := filepath.Join(root, d.Name())
		files, err := os.ReadDir(cdir)
		if err != nil {
			return nil, nil, fmt.Errorf("dataset: %w", err)
		}
		for _, f := range files {
			if f.IsDir() || isHidden(f.Name()) || !isImageName(f.Name()) {
				continue
			}
			entries = append(entries, imgEntry{class: d.Name(), base: f.Name(), path: filepath.Join(cdir, f.Name()), off: -1})
		}
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("dataset: %s: no class sub-folders", root)
	}
	return entries, classes, nil
}

// classDirs lists the class folder names of root, as dirEntries does.
func classDirs(root string) ([]string, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var classes []string
	for _, d := range des {
		if !isHidden(d.Name()) && isDirEntry(root, d) {
			classes = append(classes, d.Name())
		}
	}
	return classes, nil
}

// sameClasses refuses a data set whose train and test splits name
// different classes: labels are indices into the sorted class list, so
// {cat,dog} against {cat,zebra} would silently score zebras as dogs.
func sameClasses(where, split string, classes []string, other string, otherClasses []string) error {
	if otherClasses == nil || slices.Equal(classes, otherClasses) {
		return nil
	}
	return fmt.Errorf("dataset: %s: the %s split has classes %v but the %s split has %v; both must have the same class folders", where, split, classes, other, otherClasses)
}

// otherSplit returns the split that is not split.
func otherSplit(split string) string {
	if split == "train" {
		return "test"
	}
	return "train"
}

// tarEntries streams a tar archive (gzipped or not) from r and keeps the
// image members of split. Members are laid out either as
// [root/]<split>/<class>/<file> — then members of other splits are skipped
// without being kept — or as [root/]<class>/<file>, then split is ignored.
// Both layouts in one archive, or differing roots, are an error.
func tarEntries(r io.Reader, archive, split string) ([]imgEntry, []string, error) {
	cr, closeFn, err := maybeGunzip(r, archive)
	if err != nil {
		return nil, nil, err
	}
	defer closeFn()
	tr := tar.NewReader(cr)
	var (
		entries             []imgEntry
		classSet            = map[string]bool{}
		kept                int64
		root                string
		haveRoot            bool
		firstSplit, firstFl string              // first member of each layout seen
		otherSet            = map[string]bool{} // classes of the other split
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, &FormatError{File: archive, Offset: cr.n, Err: fmt.Errorf("tar: %w", err)}
		}
		off := cr.n // start of the member's data
		if !hdr.FileInfo().Mode().IsRegular() {
			continue
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || !isImageName(name) {
			continue
		}
		parts := strings.Split(name, "/")
		if len(parts) < 2 || slices.ContainsFunc(parts, isHidden) {
			continue
		}
		var pre string
		if n := len(parts); n >= 3 && slices.Contains(splitNames, parts[n-3]) {
			if firstSplit == "" {
				firstSplit = name
			}
			if parts[n-3] != split {
				otherSet[parts[n-2]] = true
				continue // another split: skip its data unread
			}
			pre = strings.Join(parts[:n-3], "/")
		} else {
			if firstFl == "" {
				firstFl = name
			}
			pre = strings.Join(parts[:n-2], "/")
		}
		if firstSplit != "" && firstFl != "" {
			return nil, nil, formatErr(archive, off, "mixed layouts: %s is <split>/<class>/<file> but %s is <class>/<file>", firstSplit, firstFl)
		}
		if !haveRoot {
			root, haveRoot = pre, true
		} else if pre != root {
			return nil, nil, formatErr(archive, off, "member %s is not under %q like the others", name, root)
		}
		member := archive + ":" + name
		if hdr.Size > maxMember {
			return nil, nil, formatErr(member, cr.n, "member of %d bytes exceeds %d", hdr.Size, maxMember)
		}
		if kept += hdr.Size; kept > maxBytes {
			return nil, nil, formatErr(member, cr.n, "archive members exceed %d bytes", maxBytes)
		}
		data, err := readN(&countReader{r: tr}, hdr.Size, member)
		if err != nil {
			return nil, nil, err
		}
		class := parts[len(parts)-2]
		classSet[class] = true
		entries = append(entries, imgEntry{class: class, base: parts[len(parts)-1], path: member, off: off, data: data})
	}
	if len(entries) == 0 {
		if firstSplit != "" {
			return nil, nil, fmt.Errorf("dataset: %s: no images under %s/<class>/", archive, split)
		}
		return nil, nil, fmt.Errorf("dataset: %s: no images laid out as [<split>/]<class>/<file>", archive)
	}
	classes := make([]string, 0, len(classSet))
	for c := range classSet {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	if len(otherSet) > 0 {
		other := make([]string, 0, len(otherSet))
		for c := range otherSet {
			other = append(other, c)
		}
		slices.Sort(other)
		if err := sameClasses(archive, split, classes, otherSplit(split), other); err != nil {
			return nil, nil, err
		}
	}
	return entries, classes, nil
}

// roundRobin orders entries: classes in the given (sorted) order, files of
// a class sorted by name, and file i of every class before file i+1 of any,
// so that every prefix is as class-balanced as the data allows.
func roundRobin(entries []imgEntry, classes []string) ([]imgEntry, []uint8, error) {
	if len(classes) > 256 {
		return nil, nil, fmt.Errorf("dataset: %d classes, at most 256 fit a uint8 label", len(classes))
	}
	byClass := make([][]imgEntry, len(classes))
	index := make(map[string]int, len(classes))
	for i, c := range classes {
		index[c] = i
	}
	for _, e := range entries {
		i := index[e.class]
		byClass[i] = append(byClass[i], e)
	}
	maxLen := 0
	for _, es := range byClass {
		slices.SortFunc(es, func(a, b imgEntry) int { return strings.Compare(a.base, b.base) })
		maxLen = max(maxLen, len(es))
	}
	order := make([]imgEntry, 0, len(entries))
	labels := make([]uint8, 0, len(entries))
	for k := range maxLen {
		for c, es := range byClass {
			if k < len(es) {
				order = append(order, es[k])
				labels = append(labels, uint8(c))
			}
		}
	}
	return order, labels, nil
}

// open returns a reader of the entry's bytes.
func (e *imgEntry) open() (io.Reader, func(), error) {
	if e.data != nil {
		return bytes.NewReader(e.data), func() {}, nil
	}
	f, err := os.Open(e.path)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > maxMember {
		f.Close()
		return nil, nil, formatErr(e.path, -1, "file of %d bytes exceeds %d", fi.Size(), maxMember)
	}
	return bufio.NewReader(f), func() { f.Close() }, nil
}

func (e *imgEntry) err(format string, args ...any) error {
	return formatErr(e.path, e.off, format, args...)
}

// imgInfo is what DecodeConfig tells about one image.
type imgInfo struct {
	w, h int
	gray bool
}

func isGrayModel(m color.Model) bool { return m == color.GrayModel || m == color.Gray16Model }

// decodeSet decodes the ordered entries into a Set. Headers are read first
// (in parallel) to check that all images share one size and to choose C:
// 1 if every image is grayscale, else 3. Then pixels are decoded in
// parallel, each straight into its own slot, so the result does not depend
// on scheduling.
//
// want, if positive, is the number of values per sample the caller's model
// takes: images of another size are refused from their headers, before the
// set is decoded.
//
// lazy keeps the entries instead of decoding them: the samples are decoded
// when they are read (Options.Lazy).
func decodeSet(name string, order []imgEntry, labels []uint8, classes []string, want int, lazy bool) (*Set, error) {
	if len(order) == 0 {
		return nil, fmt.Errorf("dataset: %s: no images", name)
	}
	infos := make([]imgInfo, len(order))
	err := parallelFor(len(order), func(i int) error {
		e := &order[i]
		r, done, err := e.open()
		if err != nil {
			return err
		}
		defer done()
		cfg, _, err := image.DecodeConfig(r)
		if err != nil {
			return e.err("decoding image header: %w", err)
		}
		if px, ok := checkedSize(int64(cfg.Width), int64(cfg.Height)); !ok || px > maxPixels {
			return e.err("image is %dx%d, more than the limit of %d pixels (refused before decoding; resize the images)", cfg.Width, cfg.Height, maxPixels)
		}
		infos[i] = imgInfo{w: cfg.Width, h: cfg.Height, gray: isGrayModel(cfg.ColorModel)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w, h := infos[0].w, infos[0].h
	if w <= 0 || h <= 0 {
		return nil, order[0].err("empty image %dx%d", w, h)
	}
	c := 1
	for i, in := range infos {
		if in.w != w || in.h != h {
			return nil, order[i].err("image is %dx%d, but %s is %dx%d; all images must share one size", in.w, in.h, order[0].path, w, h)
		}
		if !in.gray {
			c = 3
		}
	}
	if want > 0 && c*h*w != want {
		return nil, order[0].err("images are %dx%dx%d (%d values), the model takes %d values per sample", c, h, w, c*h*w, want)
	}
	total, ok := checkedSize(int64(len(order)), int64(c), int64(h), int64(w))
	if !ok {
		return nil, fmt.Errorf("dataset: %s: %d images of %dx%dx%d exceed %d bytes", name, len(order), c, h, w, maxBytes)
	}
	if lazy {
		s := &Set{Name: name, C: c, H: h, W: w, Classes: classes, Labels: labels, lazy: &lazyImages{order: order}}
		return s, s.check()
	}
	s := &Set{Name: name, C: c, H: h, W: w, Classes: classes, Pix: make([]uint8, total), Labels: labels}
	n := s.SampleSize()
	err = parallelFor(len(order), func(i int) error {
		return order[i].decode(c, h, w, s.Pix[i*n:(i+1)*n])
	})
	if err != nil {
		return nil, err
	}
	return s, s.check()
}

// putPixels writes img as c planes (1: gray, 3: R, G, B) of its bounds into
// dst. Colour with alpha is taken premultiplied, i.e. composited on black.
func putPixels(img image.Image, c int, dst []uint8) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for k := range c {
				copy(dst[k*plane+y*w:], row)
			}
		}
		return
	case *image.YCbCr:
		if c == 3 {
			for y := range h {
				for x := range w {
					yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
					r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
					j := y*w + x
					dst[j], dst[plane+j], dst[2*plane+j] = r, g, bl
				}
			}
			return
		}
	case *image.RGBA:
		if c == 3 {
			for y := range h {
				row := m.Pix[y*m.Stride : y*m.Stride+4*w]
				for x := range w {
					j := y*w + x
					dst[j], dst[plane+j], dst[2*plane+j] = row[4*x], row[4*x+1], row[4*x+2]
				}
			}
			return
		}
	}
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			j := y*w + x
			if c == 1 {
				dst[j] = uint8(r >> 8)
				continue
			}
			dst[j], dst[plane+j], dst[2*plane+j] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
}

// parallelFor runs fn(0..n-1) on GOMAXPROCS goroutines and returns the error
// of the lowest failing index, whatever the scheduling: indices are handed
// out in increasing order and, after a failure at k, only indices above k
// are skipped.
func parallelFor(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var (
		next   atomic.Int64
		mu     sync.Mutex
		errIdx = n
		first  error
		wg     sync.WaitGroup
	)
	stop := atomic.Int64{}
	stop.Store(int64(n))
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || int64(i) > stop.Load() {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if i < errIdx {
						errIdx, first = i, err
						stop.Store(int64(i))
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// imageFolder loads split from a class-folder tree or archive at p. For a
// directory with train/ or test/ sub-folders, p/<split> is used; otherwise
// p itself holds the class folders and split is ignored. Archives (.tar,
// .tar.gz, .tgz) are streamed, never unpacked to disk.
//
// lazy decodes only the headers now and the pixels of a sample when it is
// read (Options.Lazy).
func imageFolder(name, p, split string, limit, want int, lazy bool) (*Set, error) {
	var (
		entries []imgEntry
		classes []string
		err     error
	)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if fi.IsDir() {
		root := p
		if hasSplitDirs(p) {
			root = filepath.Join(p, split)
			if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("dataset: %s has split sub-folders but no %s/", p, split)
			}
		}
		entries, classes, err = dirEntries(root)
		if err == nil && root != p {
			o := filepath.Join(p, otherSplit(split))
			if fi, serr := os.Stat(o); serr == nil && fi.IsDir() {
				var other []string
				if other, err = classDirs(o); err == nil {
					err = sameClasses(p, split, classes, otherSplit(split), other)
				}
			}
		}
	} else {
		var f *os.File
		if f, err = os.Open(p); err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		entries, classes, err = tarEntries(f, p, split)
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	order, labels, err := roundRobin(entries, classes)
	if err != nil {
		return nil, err
	}
	if limit > 0 && limit < len(order) {
		order, labels = order[:limit], labels[:limit]
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("dataset: %s: no .png/.jpg/.jpeg images in class folders", p)
	}
	s, err := decodeSet(name, order, labels, classes, want, lazy)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		s.files = make([]string, len(order))
		for i := range order {
			s.files[i] = order[i].path
		}
	} else {
		s.files = []string{p}
	}
	return s, nil
}

// ReadImageTar reads split from a tar archive (gzipped or not) of class
// folders laid out as [root/]<split>/<class>/<file> or [root/]<class>/<file>,
// streaming it once. name is used in error messages and as the Set's Name.
func ReadImageTar(r io.Reader, name, split string) (*Set, error) {
	entries, classes, err := tarEntries(r, name, split)
	if err != nil {
		return nil, err
	}
	order, labels, err := roundRobin(entries, classes)
	if err != nil {
		return nil, err
	}
	return decodeSet(name, order, labels, classes, 0, false)
}
