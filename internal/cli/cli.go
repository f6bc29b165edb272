package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/pipeline"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run parses args with its own FlagSet and does the work.
	run func(ctx context.Context, env *env, args []string) error
}

// env carries the process's streams to a subcommand.
type env struct {
	stdout, stderr io.Writer
	// plan, when set, asks eval or sweep to check their flags, model and
	// data, fill it, and stop before the work (quartz slurm).
	plan *runPlan
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// errUsage marks a usage error (exit code 2); the FlagSet already printed
// the details.
var errUsage = errors.New("usage error")

// Run executes the quartz command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				_ = c.run(ctx, &env{stdout: stdout, stderr: stdout}, []string{"-h"})
				return 0
			}
			fmt.Fprintf(stderr, "quartz help: unknown command %q\n", args[1])
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "quartz: unknown command %q; run 'quartz help'\n", name)
		return 2
	}
	err := runRecovered(ctx, c, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "quartz %s: %v\n", name, err)
	return 1
}

// internalError is a panic recovered in a command: a bug, reported with
// exit status 1 (never 2, the status of a usage error) and its stack saved
// in a file.
type internalError struct {
	value     any
	stackFile string // "" when the file could not be written
}

func (e *internalError) Error() string {
	where := "stack trace not saved"
	if e.stackFile != "" {
		where = "stack trace in " + e.stackFile
	}
	return fmt.Sprintf("internal error, please report: %v (%s)", e.value, where)
}

// runRecovered runs c, turning a panic of its goroutine into an
// internalError whose stack is written to os.TempDir()/quartz-panic-*.txt.
func runRecovered(ctx context.Context, c *command, e *env, args []string) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		ie := &internalError{value: v}
		if f, ferr := os.CreateTemp("", "quartz-panic-*.txt"); ferr == nil {
			fmt.Fprintf(f, "quartz %s %s\npanic: %v\n\n%s", c.name, strings.Join(args, " "), v, debug.Stack())
			if f.Close() == nil {
				ie.stackFile = f.Name()
			}
		}
		err = ie
	}()
	return c.run(ctx, e, args)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "quartz converts trained CNNs into Quartz temporal spiking networks, simulates them")
	fmt.Fprintln(w, "exactly and reports spikes, synaptic operations, latency and energy.")
	fmt.Fprintln(w, "\nUsage: quartz <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'quartz help <command>' or 'quartz <command> -h' for its flags.")
}

// newFlagSet returns a FlagSet that reports errors instead of exiting and
// prints its usage with the command's summary.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("quartz "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: quartz %s %s\n\n%s\n\nFlags:\n", name, synopsis, commands[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing at most maxArgs positional arguments, and maps
// flag errors to errUsage.
func parse(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if f := fs.Lookup("workers"); f != nil {
		if n, err := strconv.Atoi(f.Value.String()); err == nil && n > pipeline.MaxWorkers {
			return fmt.Errorf("--workers %d: at most %d", n, pipeline.MaxWorkers)
		}
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}
