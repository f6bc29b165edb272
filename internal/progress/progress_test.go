package progress

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Off a terminal, a bar prints nothing until Done, then one line with the
// label, the count and the status.
func TestBarOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "simulate", 10)
	b.Add(3)
	b.SetExtra("acc 98.00%")
	b.Add(7)
	if buf.Len() != 0 {
		t.Fatalf("printed %q before Done", buf.String())
	}
	b.Done()
	want := regexp.MustCompile(`^simulate: 10/10 in [0-9.]+m?s acc 98\.00%\n$`)
	if !want.MatchString(buf.String()) {
		t.Errorf("Done printed %q, want a line matching %s", buf.String(), want)
	}
}

// On a terminal the bar redraws in place: carriage return, the bar, the
// count, an estimate of the time left while unfinished, and a line clear.
func TestBarDraw(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "epoch 1/3", 4)
	b.tty = true
	b.Add(1) // the first Add always draws (last is the zero time)
	line := buf.String()
	if !strings.HasPrefix(line, "\repoch 1/3 [=======                       ] 1/4 ") || !strings.Contains(line, " eta ") || !strings.HasSuffix(line, "\x1b[K") {
		t.Errorf("partial bar %q", line)
	}
	buf.Reset()
	b.SetExtra("loss 0.5")
	b.Add(3) // done == total always draws
	line = buf.String()
	if !strings.Contains(line, "[==============================] 4/4 ") || strings.Contains(line, "eta") || !strings.Contains(line, "loss 0.5") {
		t.Errorf("full bar %q", line)
	}
	buf.Reset()
	b.Done()
	if !strings.HasSuffix(buf.String(), "\n") || !strings.HasPrefix(buf.String(), "\r") {
		t.Errorf("Done on a terminal printed %q: want a redraw and a newline", buf.String())
	}
}

// A nil bar (OnTerminal off a terminal) accepts every call.
func TestNilBar(t *testing.T) {
	var b *Bar
	b.Add(1)
	b.SetExtra("x")
	b.Done()
	if got := OnTerminal(&bytes.Buffer{}, "x", 1); got != nil {
		t.Errorf("OnTerminal(buffer) = %v, want nil", got)
	}
	if got := OnTerminal(nil, "x", 1); got != nil {
		t.Errorf("OnTerminal(nil) = %v, want nil", got)
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}

// Adds from many goroutines all count.
func TestBarConcurrentAdds(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "n", 800)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Add(1)
			}
		}()
	}
	wg.Wait()
	b.Done()
	if !strings.HasPrefix(buf.String(), "n: 800/800 in ") {
		t.Errorf("got %q, want 800/800", buf.String())
	}
}

// A *Writer shows bars as its mode says, and passes notes through.
func TestWriterModes(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		want *regexp.Regexp
	}{
		{Lines, regexp.MustCompile(`^note\ncalibrate: 5/5 in [0-9.]+m?s\n$`)},
		{None, regexp.MustCompile(`^note\n$`)},
		{Bars, regexp.MustCompile(`^note\n\rcalibrate \[=+\] 5/5 .*\x1b\[K\n$`)},
	} {
		var buf bytes.Buffer
		w := With(&buf, tc.mode)
		w.Write([]byte("note\n"))
		b := OnTerminal(w, "calibrate", 5)
		b.Add(5)
		b.Done()
		if !tc.want.MatchString(buf.String()) {
			t.Errorf("mode %d printed %q, want %s", tc.mode, buf.String(), tc.want)
		}
	}
	// Auto off a terminal is Lines.
	if w := With(&bytes.Buffer{}, Auto); w.Mode != Lines {
		t.Errorf("Auto off a terminal: mode %d, want Lines", w.Mode)
	}
	for s, want := range map[string]Mode{"bar": Bars, "lines": Lines, "none": None} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %d, %v", s, m, err)
		}
	}
	if _, err := ParseMode("dots"); err == nil {
		t.Error("ParseMode(dots): no error")
	}
}
