// Package cli implements the quartz command line: one file per subcommand,
// each with its own flag.FlagSet. Run is the whole program; main only wires
// it to the process. Exit codes: 0 success, 1 failure, 2 usage error.
package cli
