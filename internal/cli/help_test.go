package cli_test

import (
	"slices"
	"strings"
	"testing"
)

// subcommands returns the commands quartz help lists (the lines of its
// "Commands:" section); each must have a golden usage text
// testdata/<name>.golden.
func subcommands(t *testing.T) []string {
	t.Helper()
	r := run(t, "help")
	_, list, ok := strings.Cut(r.stdout, "Commands:\n")
	if !ok {
		t.Fatalf("quartz help has no Commands: section:\n%s", r.stdout)
	}
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		names = append(names, strings.Fields(line)[0])
	}
	return names
}

func TestHelpGolden(t *testing.T) {
	r := run(t, "help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("quartz help: %v", r)
	}
	checkGolden(t, "help.golden", r.stdout)
	names := subcommands(t)
	for _, name := range []string{"convert", "demo", "eval", "inspect", "train"} {
		if !slices.Contains(names, name) {
			t.Errorf("quartz help does not list %s (it lists %v)", name, names)
		}
	}
}

func TestSubcommandHelp(t *testing.T) {
	for _, name := range subcommands(t) {
		t.Run(name, func(t *testing.T) {
			// quartz help NAME prints the usage on stdout ...
			r := run(t, "help", name)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("quartz help %s: %v", name, r)
			}
			got := machineIndependent(r.stdout)
			if !strings.HasPrefix(got, "Usage: quartz "+name+" ") {
				t.Errorf("quartz help %s does not start with its usage line:\n%s", name, got)
			}
			checkGolden(t, name+".golden", got)

			// ... and NAME -h (or --help) prints the same on stderr, exit 0.
			for _, h := range []string{"-h", "--help"} {
				r := run(t, name, h)
				if r.code != 0 {
					t.Errorf("quartz %s %s: %v", name, h, r)
				}
				if r.stdout != "" {
					t.Errorf("quartz %s %s wrote to stdout:\n%s", name, h, r.stdout)
				}
				if e := machineIndependent(r.stderr); e != got {
					t.Errorf("quartz %s %s differs from quartz help %s:\n%s", name, h, name, lineDiff(got, e))
				}
			}
		})
	}
}

// TestUsageErrors checks that every misuse exits 2 with a message on
// stderr and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{nil, "Usage: quartz <command>"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"eval", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"convert", "--tmax", "x"}, `invalid value "x" for flag -tmax`},
		{[]string{"demo", "--limit", "1.5"}, `invalid value "1.5" for flag -limit`},
		{[]string{"train", "--epochs"}, "flag needs an argument: -epochs"},
		{[]string{"inspect", "--nope", "m.onnx"}, "flag provided but not defined: -nope"},
		{[]string{"inspect"}, "give one model, as --model FILE.onnx or as the argument"},
		{[]string{"inspect", "a.onnx", "b.onnx"}, "unexpected arguments: a.onnx b.onnx"},
		{[]string{"inspect", "--model", "a.onnx", "b.onnx"}, "give one model"},
		{[]string{"eval"}, "--model or --snn is required"},
		{[]string{"eval", "--model", "m.onnx", "extra"}, "unexpected arguments: extra"},
		{[]string{"convert", "--model", "m.onnx"}, "--model and -o are required"},
		{[]string{"convert", "-o", "x.json"}, "--model and -o are required"},
		{[]string{"train"}, "-o FILE.onnx is required"},
		{[]string{"demo", "positional"}, "unexpected arguments: positional"},
		{[]string{"merge"}, "part files (or folders of them) and -o are required"},
		{[]string{"merge", "parts", "-o"}, "flag needs an argument: -o"},
		{[]string{"slurm"}, "Usage: quartz slurm eval|sweep"},
		{[]string{"slurm", "train"}, `"train": want eval or sweep`},
		{[]string{"slurm", "sweep", "--shards"}, "flag needs an argument: -shards"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			r := run(t, tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\n%v", r.code, r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("usage error wrote to stdout:\n%s", r.stdout)
			}
		})
	}
}

func TestLineDiff(t *testing.T) {
	if d := lineDiff("a\nb\n", "a\nb\n"); d != "" {
		t.Errorf("equal texts: %q", d)
	}
	want := "1\n2\n3\n4\n5\n6\n7\n8\n9\n"
	got := "1\n2\n3\n4\nfive\n6\n7\n8\n9"
	d := lineDiff(want, got)
	exp := "  2\n  3\n  4\n- 5\n+ five\n  6\n  7\n  8\n- 9\n+ 9⏎ (no final newline)\n"
	if d != exp {
		t.Errorf("lineDiff:\n%s\nwant:\n%s", d, exp)
	}
}
