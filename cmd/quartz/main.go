package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/quartz-snn/quartz/internal/cli"
)

func main() {
	// SIGTERM (kill, a batch system's time limit) stops a command as
	// Ctrl-C does: train abandons the current epoch and keeps its last
	// checkpoint; every output is written atomically or not at all.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
