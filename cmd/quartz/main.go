// Command quartz converts trained CNNs into Quartz time-to-first-spike
// spiking networks, simulates them exactly and reports what they cost.
// Run `quartz help` for the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/quartz-snn/quartz/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
