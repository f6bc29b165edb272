package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// buildQuartz builds cmd/quartz into dir and returns the binary's path:
// the scripts of quartz slurm run it as a separate program.
func buildQuartz(t *testing.T, dir string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the quartz binary: %v", err)
	}
	bin := filepath.Join(dir, "quartz")
	cmd := exec.Command(gobin, "build", "-o", bin, "../../cmd/quartz")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sweepFlags is the Slurm sweep: LeNet-5, 2 Tmax × 2
// percentiles, limit test images (500 on the real Slurm).
func sweepFlags(model string, limit int) []string {
	return []string{"--model", model, "--data", "mnist", "--limit", strconv.Itoa(limit), "--tmax", "2,4", "--percentile", "99,99.9", "--calib", "500"}
}

// fakeSbatch is an sbatch stand-in: it records its arguments and runs the
// job script from stdin at once, once per array index, with the variables
// Slurm sets; it prints a job id.
const fakeSbatch = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$FAKE_DIR/args"
array=""
for a in "$@"; do case $a in --array=*) array=${a#--array=};; esac; done
script=$(mktemp "$FAKE_DIR/job.XXXXXX")
cat > "$script"
n=$(( $(wc -l < "$FAKE_DIR/args") ))
if [ -n "$array" ]; then
  for part in ${array//,/ }; do
    if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done | while read -r i; do
    SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 bash "$script" >> "$FAKE_DIR/log" 2>&1 || echo "task $i failed" >> "$FAKE_DIR/log"
  done
else
  bash "$script" >> "$FAKE_DIR/log" 2>&1 || echo "job $n failed" >> "$FAKE_DIR/log"
fi
echo "10$n"
`

// TestSlurmScript: the script's structure, and the script run end to end
// under a stand-in sbatch that runs every job at once: the merged sweep
// equals the unsharded one; after a shard's part is lost, "bash SCRIPT 1"
// reruns that shard alone and merges again.
func TestSlurmScript(t *testing.T) {
	needMNIST(t)
	tmp := t.TempDir()
	bin := buildQuartz(t, tmp)
	model, _ := filepath.Abs(lenetPath)
	work := filepath.Join(tmp, "work")
	os.MkdirAll(work, 0o755)

	cmd := exec.Command(bin, append(append([]string{"slurm", "sweep"}, sweepFlags(model, 100)...), "--shards", "4", "--cpus", "1", "-o", "out", "--time", "0:10:00")...)
	cmd.Dir = work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quartz slurm: %v\n%s", err, stderr.String())
	}
	script := stdout.String()
	for _, want := range []string{
		"tasks=${1:-0-3}",
		`--array="$tasks" --cpus-per-task=1 --mem=`,
		`--dependency=afterok:"$array" --kill-on-invalid-dep=yes`,
		"--time=0:10:00",
		"--job-name=quartz-sweep-calibrate",
		`--dependency=afterok:"$calibrate" --kill-on-invalid-dep=yes <<'QUARTZ_SHARD'`,
		"--limit 1 -o out.parts/calibrate",
		`--shard "$SLURM_ARRAY_TASK_ID/4" -o out.parts --workers "${SLURM_CPUS_PER_TASK:-1}"`,
		bin + " merge out.parts -o out\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	// --mem is the estimate of one shard plus 25 % and 256 MiB.
	m := regexp.MustCompile(`--mem=(\d+)M`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("no --mem in the script:\n%s", script)
	}
	if mib, _ := strconv.Atoi(m[1]); mib < 256+1 || mib > 4096 {
		t.Errorf("--mem=%sM for LeNet-5 on 500 images: want the estimate, more than 256 MiB and below 4 GiB", m[1])
	}
	if out, err := exec.Command("bash", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	path := filepath.Join(work, "run.sh")
	os.WriteFile(path, []byte(script), 0o755)

	fake := filepath.Join(tmp, "fake")
	os.MkdirAll(fake, 0o755)
	os.WriteFile(filepath.Join(fake, "sbatch"), []byte(fakeSbatch), 0o755)
	env := append(os.Environ(), "PATH="+fake+string(os.PathListSeparator)+os.Getenv("PATH"), "FAKE_DIR="+fake, "QUARTZ_DATA=")
	runScript := func(args ...string) string {
		c := exec.Command("bash", append([]string{path}, args...)...)
		c.Dir, c.Env = work, env
		out, err := c.CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(fake, "log"))
			t.Fatalf("bash run.sh %v: %v\n%s\n--- jobs:\n%s", args, err, out, log)
		}
		return string(out)
	}
	if out := runScript(); !strings.Contains(out, "calibration job 101; shards 0-3 of 4 as job array 102, the merge as job 103 (afterok)") {
		t.Errorf("script output: %s", out)
	}
	single := filepath.Join(tmp, "single")
	c := exec.Command(bin, append(append([]string{"sweep"}, sweepFlags(model, 100)...), "-o", single, "--report")...)
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("unsharded sweep: %v\n%s", err, out)
	}
	compareTrees(t, single, filepath.Join(work, "out"))

	// Shard 1 lost: the merge refuses; rerun alone, merged again.
	os.Remove(filepath.Join(work, "out.parts", "part-1-of-4.json"))
	os.RemoveAll(filepath.Join(work, "out"))
	os.WriteFile(filepath.Join(fake, "log"), nil, 0o644)
	runScript("1")
	args, _ := os.ReadFile(filepath.Join(fake, "args"))
	if !strings.Contains(string(args), "--array=1 ") {
		t.Errorf("bash run.sh 1 did not submit --array=1:\n%s", args)
	}
	compareTrees(t, single, filepath.Join(work, "out"))
}

// compareTrees compares the files of two sweep folders after maskTimes.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	wf, gf := treeFiles(t, want), treeFiles(t, got)
	if strings.Join(wf, " ") != strings.Join(gf, " ") {
		t.Fatalf("files %v, want %v", gf, wf)
	}
	for _, f := range wf {
		sameBytes(t, filepath.Join(want, f), filepath.Join(got, f))
	}
}
