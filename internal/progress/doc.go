// Package progress draws a one-line progress bar on a terminal. When the
// writer is not a terminal (a log file, a pipe, a test) it prints nothing
// until Done, which prints one summary line, so logs stay readable.
package progress
