// Package progress draws a one-line progress bar on a terminal. When the
// writer is not a terminal (a log file, a pipe, a test) a Bar prints
// nothing until Done, which prints one summary line (label, count done,
// elapsed time), so logs stay readable.
//
// OnTerminal gives a bar only on a terminal. A *Writer (With) carries a
// Mode chosen by the user (quartz --progress=bar|lines|none, --quiet):
// bars, one line per phase, or nothing; notes written to it pass through.
package progress
