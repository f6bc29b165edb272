package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar reports progress of a job of known size. It is safe for concurrent use.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	label string
	total int
	done  int
	start time.Time
	last  time.Time
	extra string
}

// New returns a bar for total units of work labelled label, drawing on w.
// w is treated as a terminal if it is an *os.File on a character device.
func New(w io.Writer, label string, total int) *Bar {
	return &Bar{w: w, tty: IsTerminal(w), label: label, total: total, start: time.Now()}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add records n more units done and redraws at most ten times a second.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if !b.tty {
		return
	}
	if now := time.Now(); now.Sub(b.last) > 100*time.Millisecond || b.done == b.total {
		b.last = now
		b.draw()
	}
}

// SetExtra sets a short status shown after the bar (e.g. "loss 0.12").
func (b *Bar) SetExtra(s string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.extra = s
	b.mu.Unlock()
}

func (b *Bar) draw() {
	const width = 30
	frac := 0.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	n := int(frac * width)
	if n > width {
		n = width
	}
	el := time.Since(b.start)
	eta := ""
	if b.done > 0 && b.done < b.total {
		rem := time.Duration(float64(el) * (float64(b.total-b.done) / float64(b.done)))
		eta = " eta " + rem.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d %s%s %s\x1b[K", b.label, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		b.done, b.total, el.Round(100*time.Millisecond), eta, b.extra)
}

// Done finishes the bar: on a terminal it ends the line; elsewhere it prints
// one summary line.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty {
		b.draw()
		fmt.Fprintln(b.w)
		return
	}
	fmt.Fprintf(b.w, "%s: %d/%d in %s %s\n", b.label, b.done, b.total, time.Since(b.start).Round(10*time.Millisecond), b.extra)
}

// OnTerminal returns a bar like New when w is a terminal, and nil (a bar
// whose methods do nothing) otherwise, so that logs and pipes stay quiet.
func OnTerminal(w io.Writer, label string, total int) *Bar {
	if w == nil || !IsTerminal(w) {
		return nil
	}
	return New(w, label, total)
}
