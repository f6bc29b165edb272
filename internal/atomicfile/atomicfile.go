package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tmpInfix is what a temporary file's name holds between "." + the
// target's base name and the random decimal digits of os.CreateTemp:
// ".BASE.tmp123456789".
const tmpInfix = ".tmp"

// faultHook, if set (tests only, through InjectFault), wraps the writer of
// every temporary file.
var faultHook func(name string, w io.Writer) io.Writer

// InjectFault makes every later Write pass its data through wrap (given the
// target's name and the temporary file), until the returned function is
// called. It is for tests that simulate a full disk or an I/O error: a wrap
// that returns an error after some bytes makes Write fail as it would on a
// full file system. Not safe for use concurrently with Write.
func InjectFault(wrap func(name string, w io.Writer) io.Writer) (restore func()) {
	old := faultHook
	faultHook = wrap
	return func() { faultHook = old }
}

// ErrDiskFull is the error of FailAfter's writer, as a full disk would give.
var ErrDiskFull = errors.New("no space left on device (injected)")

// FailAfter returns an InjectFault wrapper whose writers accept n bytes in
// all, counted across every file written, and then fail with ErrDiskFull.
func FailAfter(n int64) func(string, io.Writer) io.Writer {
	left := n
	return func(_ string, w io.Writer) io.Writer {
		return writerFunc(func(p []byte) (int, error) {
			if int64(len(p)) <= left {
				left -= int64(len(p))
				return w.Write(p)
			}
			k := int(max(left, 0))
			left = 0
			if k > 0 {
				w.Write(p[:k])
			}
			return k, ErrDiskFull
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// CheckTarget reports whether name may be written by Write: it must be
// absent or a regular file (a symbolic link is followed), in an existing
// folder. A folder, a device such as /dev/null, a FIFO or a socket is
// refused, so that commands can check their outputs before doing the work.
func CheckTarget(name string) error {
	fi, err := os.Stat(name)
	switch {
	case err == nil:
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("output %s is %s, not a regular file; refusing to replace it", name, kind(fi.Mode()))
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(name)
		di, derr := os.Stat(dir)
		if derr != nil {
			if errors.Is(derr, fs.ErrNotExist) {
				return fmt.Errorf("output %s: folder %s does not exist", name, dir)
			}
			return fmt.Errorf("output %s: %w", name, derr)
		}
		if !di.IsDir() {
			return fmt.Errorf("output %s: %s is not a folder", name, dir)
		}
		return nil
	default:
		return fmt.Errorf("output %s: %w", name, err)
	}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// Write replaces name with data (mode 0644). On error the target is
// untouched and no temporary file is left; the error names the file. A
// target that is not a regular file (CheckTarget) is refused.
func Write(name string, data []byte) (err error) {
	if err := CheckTarget(name); err != nil {
		return err
	}
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+tmpInfix+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", name, err)
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	var w io.Writer = f
	if faultHook != nil {
		w = faultHook(name, f)
	}
	if _, err = w.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, name); err != nil {
		return err
	}
	// Make the rename durable; a folder that cannot be synced is not an
	// error on systems that do not support it.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// IsTemp reports whether the file name (a base name) is a temporary file
// that Write creates for the target base name target: "." + target +
// ".tmp" + decimal digits. Nothing else matches: a user's .bashrc.tmpl is
// not a temporary file of any target.
func IsTemp(name, target string) bool {
	rest, ok := strings.CutPrefix(name, "."+target+tmpInfix)
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CleanTemps removes the temporary files that an interrupted Write of each
// target left (IsTemp), and returns how many it removed. Only call it when
// no other process writes the same targets.
func CleanTemps(targets ...string) (int, error) {
	n := 0
	for _, t := range targets {
		dir, base := filepath.Split(t)
		if dir == "" {
			dir = "."
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return n, err
		}
		for _, e := range entries {
			if e.Type().IsRegular() && IsTemp(e.Name(), base) {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	return n, nil
}
