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
	line := fmt.Sprintf("%s: %d/%d in %s", b.label, b.done, b.total, time.Since(b.start).Round(10*time.Millisecond))
	if b.extra != "" {
		line += " " + b.extra
	}
	fmt.Fprintln(b.w, line)
}

// Mode is how progress is shown.
type Mode int

const (
	// Auto draws a bar on a terminal and prints nothing elsewhere
	// (OnTerminal's behaviour for a plain writer).
	Auto Mode = iota
	// Bars draws a bar, redrawn in place, terminal or not.
	Bars
	// Lines prints one line per phase when it ends: the label, the count
	// done and the elapsed time.
	Lines
	// None prints no progress at all.
	None
)

// ParseMode parses "bar", "lines" or "none".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "bar":
		return Bars, nil
	case "lines":
		return Lines, nil
	case "none":
		return None, nil
	}
	return Auto, fmt.Errorf("want bar, lines or none")
}

// Writer is a writer with a progress mode: writes pass through to W
// (notes written to it are not progress and always appear), and
// OnTerminal shows the bars drawn on it as Mode says.
type Writer struct {
	W    io.Writer
	Mode Mode
}

func (w *Writer) Write(p []byte) (int, error) { return w.W.Write(p) }

// With returns w with mode m; Auto resolves to Bars on a terminal and
// Lines elsewhere, so that a log still shows one line per phase.
func With(w io.Writer, m Mode) *Writer {
	if m == Auto {
		m = Lines
		if IsTerminal(w) {
			m = Bars
		}
	}
	return &Writer{W: w, Mode: m}
}

// OnTerminal returns a bar like New when w is a terminal, and nil (a bar
// whose methods do nothing) otherwise, so that logs and pipes stay quiet.
// A *Writer decides by its Mode instead: Bars draws, Lines prints one
// line at Done, None prints nothing.
func OnTerminal(w io.Writer, label string, total int) *Bar {
	if pw, ok := w.(*Writer); ok {
		switch pw.Mode {
		case Bars:
			b := New(pw.W, label, total)
			b.tty = true
			return b
		case Lines:
			b := New(pw.W, label, total)
			b.tty = false
			return b
		case None:
			return nil
		}
		w = pw.W
	}
	if w == nil || !IsTerminal(w) {
		return nil
	}
	return New(w, label, total)
}
