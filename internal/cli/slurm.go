package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/shard"
)

func init() {
	register(&command{
		name:    "slurm",
		summary: "print an sbatch script that runs an eval or sweep as a Slurm job array of --shards N and merges the parts (afterok)",
		run:     runSlurm,
	})
}

// runPlan is what quartz slurm learns from eval or sweep in plan mode.
type runPlan struct {
	memory      int64 // bytes the run holds at its peak, the test set opened lazily
	samples     int   // test samples
	sampleBytes int64 // bytes of one decoded sample
	units       int64 // work units: samples, or grid points × samples
}

// slurmOpts are quartz slurm's own flags.
type slurmOpts struct {
	shards    int
	out       string // -o: the merged result's folder
	parts     string
	script    string
	cpus      int
	time      string
	partition string
	account   string
	jobName   string
	quartz    string
}

// slurmFlags are the flags quartz slurm takes out of the command line; the
// rest belongs to eval or sweep.
var slurmFlags = map[string]string{
	"shards":    "number `N` of shards: the job array's tasks (required)",
	"o":         "`DIR` of the merged result (required; for sweep, its -o)",
	"parts":     "`DIR` of the part files (default DIR.parts beside -o)",
	"script":    "write the script to `FILE` instead of printing it",
	"cpus":      "CPUs per shard (--cpus-per-task; the shard's --workers)",
	"time":      "time limit per shard, as sbatch --time (`T`, e.g. 1:00:00; default: the partition's)",
	"partition": "Slurm partition (default: the cluster's default)",
	"account":   "Slurm account (default: yours)",
	"job-name":  "job name prefix: the jobs are NAME-eval|sweep and NAME-eval|sweep-merge (default quartz)",
	"quartz":    "`PATH` of the quartz binary on the cluster's nodes (default: this binary)",
}

func slurmUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: quartz slurm eval|sweep [the command's flags] --shards N -o DIR [flags]

`+commands["slurm"].summary+`

The script calls sbatch twice: a job array of N tasks, task i running
"quartz eval|sweep … --shard i/N -o PARTS", and a merge job
"quartz merge PARTS -o DIR" that starts when every task succeeded
(--dependency=afterok, --kill-on-invalid-dep=yes). Memory per task is the
command's own estimate for one shard (as --max-memory checks it) plus
25 % and 256 MiB. Run the script from the folder the paths are relative
to; "bash SCRIPT 2" resubmits shard 2 alone with a new merge job.

Flags:
`)
	for _, n := range []string{"shards", "o", "parts", "script", "cpus", "time", "partition", "account", "job-name", "quartz"} {
		dash := "--"
		if len(n) == 1 {
			dash = "-"
		}
		fmt.Fprintf(w, "  %s%s\n    \t%s\n", dash, n, strings.ReplaceAll(slurmFlags[n], "`", ""))
	}
}

// splitSlurmArgs takes quartz slurm's flags out of args ("--name value",
// "--name=value", one or two dashes) and returns them and the rest.
func splitSlurmArgs(args []string) (map[string]string, []string, error) {
	own := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			rest = append(rest, a)
			continue
		}
		val, hasVal := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, val, hasVal = k, v, true
		}
		if _, ok := slurmFlags[name]; !ok {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag needs an argument: -%s", name)
			}
			i++
			val = args[i]
		}
		if _, dup := own[name]; dup {
			return nil, nil, fmt.Errorf("--%s given twice", name)
		}
		own[name] = val
	}
	return own, rest, nil
}

func runSlurm(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		slurmUsage(e.stderr)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub := args[0]
	if sub != "eval" && sub != "sweep" {
		fmt.Fprintf(e.stderr, "quartz slurm: %q: want eval or sweep\n", sub)
		slurmUsage(e.stderr)
		return errUsage
	}
	own, inner, err := splitSlurmArgs(args[1:])
	if err != nil {
		fmt.Fprintf(e.stderr, "quartz slurm: %v\n", err)
		return errUsage
	}
	for _, a := range inner {
		if n := strings.TrimLeft(a, "-"); strings.HasPrefix(a, "-") && (n == "shard" || strings.HasPrefix(n, "shard=")) {
			return errors.New("--shard: quartz slurm adds it to every task; give --shards N")
		}
	}
	o, err := slurmOptions(own)
	if err != nil {
		return err
	}
	if _, given := own["quartz"]; !given && strings.Contains(o.quartz, "go-build") {
		fmt.Fprintf(e.stderr, "note: this quartz is a temporary build (%s, go run?); give --quartz PATH of an installed binary the nodes can run\n", o.quartz)
	}
	// The command checks its flags, model and data and estimates one
	// shard's memory, without running.
	plan := &runPlan{}
	pe := &env{stdout: io.Discard, stderr: e.stderr, plan: plan}
	planArgs := append(append([]string(nil), inner...), "--workers", strconv.Itoa(o.cpus))
	if sub == "sweep" {
		planArgs = append(planArgs, "-o", o.out)
	}
	if err := commands[sub].run(ctx, pe, planArgs); err != nil {
		return err
	}
	if int64(o.shards) > plan.units {
		return fmt.Errorf("--shards %d: the %s has %d work units (samples, or grid points × samples); use at most that many shards", o.shards, sub, plan.units)
	}
	// A shard decodes at most its slice of the samples (a sweep shard that
	// spans points: at most all of them).
	slice := (int64(plan.samples) + int64(o.shards) - 1) / int64(o.shards)
	if sub == "sweep" {
		slice = int64(plan.samples)
	}
	plan.memory += slice * plan.sampleBytes
	script, err := slurmScript(sub, inner, o, plan)
	if err != nil {
		return err
	}
	if o.script == "" {
		_, err := io.WriteString(e.stdout, script)
		return err
	}
	if err := atomicfile.Write(o.script, []byte(script)); err != nil {
		return err
	}
	if err := os.Chmod(o.script, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d shards of %d CPUs and %s each; submit it with: bash %s\n", o.script, o.shards, o.cpus, slurmMem(plan.memory), o.script)
	return nil
}

func slurmOptions(own map[string]string) (*slurmOpts, error) {
	o := &slurmOpts{out: own["o"], parts: own["parts"], script: own["script"], time: own["time"],
		partition: own["partition"], account: own["account"], jobName: own["job-name"], quartz: own["quartz"], cpus: 1}
	n, err := strconv.Atoi(own["shards"])
	if err != nil || n < 1 || n > shard.MaxCount {
		return nil, fmt.Errorf("--shards %q: want a number of shards in 1..%d", own["shards"], shard.MaxCount)
	}
	o.shards = n
	if c, ok := own["cpus"]; ok {
		if o.cpus, err = strconv.Atoi(c); err != nil || o.cpus < 1 || o.cpus > 1024 {
			return nil, fmt.Errorf("--cpus %q: want 1..1024", c)
		}
	}
	if o.out == "" {
		return nil, errors.New("-o DIR: the folder of the merged result is required")
	}
	if o.parts == "" {
		o.parts = strings.TrimRight(o.out, "/") + ".parts"
	}
	if filepath.Clean(o.parts) == filepath.Clean(o.out) {
		return nil, errors.New("--parts and -o: want two folders (merge writes into a new or empty -o)")
	}
	for name, v := range map[string]string{"time": o.time, "partition": o.partition, "account": o.account, "job-name": o.jobName} {
		if strings.ContainsAny(v, " \t\n'\"\\$`;&|<>") {
			return nil, fmt.Errorf("--%s %q: no spaces or shell characters", name, v)
		}
	}
	if o.jobName == "" {
		o.jobName = "quartz"
	}
	if o.quartz == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("--quartz: the path of this binary is unknown (%v); give it", err)
		}
		o.quartz = exe
	}
	if o.script != "" {
		if err := atomicfile.CheckTarget(o.script); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// slurmMem formats bytes as sbatch --mem megabytes: the estimate plus
// 25 % and 256 MiB for the Go runtime and the binary.
func slurmMem(b int64) string {
	mib := (b+b/4)>>20 + 256
	return strconv.FormatInt(mib, 10) + "M"
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func quoteAll(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = shellQuote(s)
	}
	return strings.Join(q, " ")
}

// slurmScript writes the driver script.
func slurmScript(sub string, inner []string, o *slurmOpts, plan *runPlan) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	has := func(flag string) bool {
		for _, a := range inner {
			n := strings.TrimLeft(a, "-")
			if strings.HasPrefix(a, "-") && (n == flag || strings.HasPrefix(n, flag+"=")) {
				return true
			}
		}
		return false
	}
	hasWorkers := has("workers")
	// Unless the cache is off, a first job fills the calibration cache
	// (the same command on one test sample), so that the shards read one
	// calibration instead of each computing it.
	warm := !has("no-cache")
	task := append([]string{o.quartz, sub}, inner...)
	name := o.jobName + "-" + sub
	common := []string{}
	if o.partition != "" {
		common = append(common, "--partition="+o.partition)
	}
	if o.account != "" {
		common = append(common, "--account="+o.account)
	}
	warmOpts := append([]string{"--parsable", "--job-name=" + name + "-calibrate",
		"--cpus-per-task=" + strconv.Itoa(o.cpus), "--mem=" + slurmMem(plan.memory),
		"--output=" + shellQuote(filepath.Join(o.parts, "slurm-calibrate-%j.out"))}, common...)
	if o.time != "" {
		warmOpts = append(warmOpts, "--time="+o.time)
	}
	arrayOpts := append([]string{"--parsable", "--job-name=" + name, "--array=\"$tasks\"",
		"--cpus-per-task=" + strconv.Itoa(o.cpus), "--mem=" + slurmMem(plan.memory),
		"--output=" + shellQuote(filepath.Join(o.parts, "slurm-%A_%a.out"))}, common...)
	if o.time != "" {
		arrayOpts = append(arrayOpts, "--time="+o.time)
	}
	mergeOpts := append([]string{"--parsable", "--job-name=" + name + "-merge", "--dependency=afterok:\"$array\"",
		"--kill-on-invalid-dep=yes", "--cpus-per-task=1", "--mem=512M",
		"--output=" + shellQuote(filepath.Join(o.parts, "slurm-merge-%j.out"))}, common...)

	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("#!/usr/bin/env bash\n")
	p("# quartz %s in %d shards on Slurm: a job array (one task per shard) and a merge job\n", sub, o.shards)
	p("# that runs when every task succeeded. Generated by quartz slurm; %d test samples,\n", plan.samples)
	p("# %d work units, memory per shard estimated at %s (sbatch --mem: +25 %% and 256 MiB).\n", plan.units, pipeline.GB(plan.memory))
	p("#\n#   bash %s        submit every shard and the merge\n", "THIS_SCRIPT")
	p("#   bash %s 2      shard 2 again (after a failure or a kill) and a new merge;\n", "THIS_SCRIPT")
	p("#                          the merge refuses until every part is in %s\n", o.parts)
	p("#\n# Without Slurm, the same work: for i in $(seq 0 %d); do %s --shard $i/%d -o %s; done\n",
		o.shards-1, quoteAll(task), o.shards, shellQuote(o.parts))
	p("#   then: %s merge %s -o %s\n", shellQuote(o.quartz), shellQuote(o.parts), shellQuote(o.out))
	p("set -euo pipefail\n")
	p("cd %s\n", shellQuote(wd))
	p("tasks=${1:-0-%d}\n", o.shards-1)
	p("mkdir -p %s\n", shellQuote(o.parts))
	after := ""
	if warm {
		p("# The calibration, once, into the cache the shards share (--cache, or\n")
		p("# $XDG_CACHE_HOME/quartz: a folder every node must see).\n")
		p("calibrate=$(sbatch %s <<'QUARTZ_CALIBRATE'\n", strings.Join(warmOpts, " "))
		p("#!/usr/bin/env bash\nset -euo pipefail\n")
		warmTask := append(append([]string(nil), task...), "--limit", "1")
		if sub == "sweep" {
			warmTask = append(warmTask, "-o", filepath.Join(o.parts, "calibrate"))
		}
		w := ""
		if !hasWorkers {
			w = " --workers \"${SLURM_CPUS_PER_TASK:-1}\""
		}
		p("exec %s%s > /dev/null\n", quoteAll(warmTask), w)
		p("QUARTZ_CALIBRATE\n)\n")
		p("calibrate=${calibrate%%%%;*}\n")
		after = " --dependency=afterok:\"$calibrate\" --kill-on-invalid-dep=yes"
	}
	p("array=$(sbatch %s%s <<'QUARTZ_SHARD'\n", strings.Join(arrayOpts, " "), after)
	p("#!/usr/bin/env bash\nset -euo pipefail\n")
	workers := ""
	if !hasWorkers {
		workers = " --workers \"${SLURM_CPUS_PER_TASK:-1}\""
	}
	p("exec %s --shard \"$SLURM_ARRAY_TASK_ID/%d\" -o %s%s\n", quoteAll(task), o.shards, shellQuote(o.parts), workers)
	p("QUARTZ_SHARD\n)\n")
	p("array=${array%%%%;*}\n")
	p("merge=$(sbatch %s <<'QUARTZ_MERGE'\n", strings.Join(mergeOpts, " "))
	p("#!/usr/bin/env bash\nset -euo pipefail\n")
	p("exec %s merge %s -o %s\n", shellQuote(o.quartz), shellQuote(o.parts), shellQuote(o.out))
	p("QUARTZ_MERGE\n)\n")
	p("merge=${merge%%%%;*}\n")
	if warm {
		p("echo \"quartz: calibration job $calibrate; shards $tasks of %d as job array $array, the merge as job $merge (afterok)\"\n", o.shards)
	} else {
		p("echo \"quartz: shards $tasks of %d submitted as job array $array, the merge as job $merge (afterok)\"\n", o.shards)
	}
	return b.String(), nil
}
