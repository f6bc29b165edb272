//go:build linux

package cli_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartz-snn/quartz/pipeline"
)

// slurmCluster is a private one-node Slurm (munged, slurmctld, slurmd)
// under a temporary folder; see ../shared/notes/slurm-one-node.md.
type slurmCluster struct {
	dir  string
	env  []string
	cmds []*exec.Cmd // daemons, in start order
}

// startSlurm starts the cluster, or skips the test with the reason.
// Cleanup cancels its jobs and stops every daemon by its PID.
func startSlurm(t *testing.T) *slurmCluster {
	t.Helper()
	if runtime.GOOS != "linux" || os.Getuid() != 0 {
		t.Skip("a private Slurm needs root on Linux (CI runs as root with Debian's slurm-wlm and munge)")
	}
	bins := map[string]string{}
	for _, b := range []string{"munged", "mungekey", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "scancel"} {
		p, err := exec.LookPath(b)
		if err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + b); err2 == nil {
				p, err = "/usr/sbin/"+b, nil
			}
		}
		if err != nil {
			t.Skipf("Slurm cannot start: %s not installed (apt-get install slurmctld slurmd slurm-client munge)", b)
		}
		bins[b] = p
	}
	dir, err := os.MkdirTemp("", "qslurm")
	if err != nil {
		t.Fatal(err)
	}
	c := &slurmCluster{dir: dir}
	t.Cleanup(func() { c.stop(t) })
	for _, d := range []string{"munge", "state", "spool", "log", "jobs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// munged wants every folder above its socket o+x.
	os.Chmod(dir, 0o711)
	os.Chmod(filepath.Join(dir, "munge"), 0o711)
	key, sock := filepath.Join(dir, "munge", "munge.key"), filepath.Join(dir, "munge", "munge.sock")
	if out, err := exec.Command(bins["mungekey"], "--create", "--keyfile="+key).CombinedOutput(); err != nil {
		t.Skipf("Slurm cannot start: mungekey: %v %s", err, out)
	}
	c.daemon(t, "munged", bins["munged"], "--foreground", "--socket="+sock, "--key-file="+key,
		"--pid-file="+filepath.Join(dir, "munge", "munged.pid"), "--seed-file="+filepath.Join(dir, "munge", "munged.seed"))
	if !waitFor(10*time.Second, func() bool {
		return exec.Command("bash", "-c", fmt.Sprintf("%s -n -S %s | %s -S %s", bins["munge"], sock, bins["unmunge"], sock)).Run() == nil
	}) {
		c.skip(t, "munged does not answer")
	}
	ctld, slurmd := freePort(t), freePort(t)
	memMB := max(1000, pipeline.MachineMemory()/(1<<20)*8/10)
	conf := filepath.Join(dir, "slurm.conf")
	text := fmt.Sprintf(`ClusterName=qtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%d
SlurmdPort=%d
AuthType=auth/munge
AuthInfo=socket=%s
CredType=cred/munge
StateSaveLocation=%s/state
SlurmdSpoolDir=%s/spool
SlurmctldPidFile=%s/slurmctld.pid
SlurmdPidFile=%s/slurmd.pid
SlurmctldLogFile=%s/log/slurmctld.log
SlurmdLogFile=%s/log/slurmd.log
PlugStackConfig=%s/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
NodeName=localhost CPUs=%d RealMemory=%d State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`, ctld, slurmd, sock, dir, dir, dir, dir, dir, dir, dir, runtime.NumCPU(), memMB)
	os.WriteFile(conf, []byte(text), 0o644)
	os.WriteFile(filepath.Join(dir, "plugstack.conf"), nil, 0o644)
	c.env = append(os.Environ(), "SLURM_CONF="+conf, "QUARTZ_DATA=")
	c.daemon(t, "slurmctld", bins["slurmctld"], "-D")
	if !waitFor(30*time.Second, func() bool { return c.cmd("scontrol", "ping").Run() == nil }) {
		c.skip(t, "slurmctld does not answer")
	}
	c.daemon(t, "slurmd", bins["slurmd"], "-D", "-N", "localhost")
	if !waitFor(60*time.Second, func() bool {
		out, err := c.cmd("sinfo", "-h", "-N", "-n", "localhost", "-o", "%T").Output()
		return err == nil && strings.TrimSpace(string(out)) == "idle"
	}) {
		c.skip(t, "slurmd did not become idle")
	}
	return c
}

// daemon starts a daemon in the foreground of its own process group, its
// output in log/NAME.out.
func (c *slurmCluster) daemon(t *testing.T, name, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = c.env
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	if f, err := os.Create(filepath.Join(c.dir, "log", name+".out")); err == nil {
		cmd.Stdout, cmd.Stderr = f, f
	}
	// Pdeathsig: should the test binary die before its Cleanup (a -timeout
	// panic), the kernel stops the daemon with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Skipf("Slurm cannot start: %s: %v", name, err)
	}
	c.cmds = append(c.cmds, cmd)
}

func (c *slurmCluster) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = c.env
	return cmd
}

// skip shows the daemons' logs and skips: Slurm could not start here.
func (c *slurmCluster) skip(t *testing.T, why string) {
	t.Helper()
	c.logs(t)
	t.Skipf("Slurm cannot start: %s", why)
}

func (c *slurmCluster) logs(t *testing.T) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.dir, "log", "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		t.Logf("== %s\n%s", f, b)
	}
}

// stop cancels the cluster's jobs, then stops slurmd, slurmctld and munged
// (in that order) by the PIDs it started and those of their PID files:
// TERM, up to 10 s, then KILL.
func (c *slurmCluster) stop(t *testing.T) {
	if c.env != nil && len(c.cmds) > 1 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, "scancel", "--user=root")
		cmd.Env = c.env
		cmd.Run()
		cancel()
	}
	for i := len(c.cmds) - 1; i >= 0; i-- {
		cmd := c.cmds[i]
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	for _, pf := range []string{"slurmd.pid", "slurmctld.pid", "munge/munged.pid"} {
		b, err := os.ReadFile(filepath.Join(c.dir, pf))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			if syscall.Kill(pid, 0) == nil {
				t.Logf("%s: PID %d still running; killing it", pf, pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	os.RemoveAll(c.dir)
}

func waitFor(d time.Duration, ok func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSlurmEndToEnd submits the script of quartz slurm for the sweep of
// sweepFlags in 4 shards to a real one-node Slurm, waits for the merge
// job and compares its output with the unsharded sweep. It skips where
// Slurm cannot start (not root, slurm-wlm or munge not installed).
func TestSlurmEndToEnd(t *testing.T) {
	needMNIST(t)
	c := startSlurm(t)
	bin := buildQuartz(t, c.dir)
	model, _ := filepath.Abs(lenetPath)
	work := filepath.Join(c.dir, "jobs")

	// The unsharded sweep first: it also fills the calibration cache that
	// the shards then share.
	single := filepath.Join(c.dir, "single")
	u := c.cmd(bin, append(append([]string{"sweep"}, sweepFlags(model, 500)...), "-o", single)...)
	if out, err := u.CombinedOutput(); err != nil {
		t.Fatalf("unsharded sweep: %v\n%s", err, out)
	}
	gen := c.cmd(bin, append(append([]string{"slurm", "sweep"}, sweepFlags(model, 500)...), "--shards", "4", "--cpus", "1", "-o", "out", "--script", "run.sh")...)
	gen.Dir = work
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("quartz slurm: %v\n%s", err, out)
	}
	sub := c.cmd("bash", "run.sh")
	sub.Dir = work
	out, err := sub.CombinedOutput()
	if err != nil {
		t.Fatalf("bash run.sh: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`job array (\d+), the merge as job (\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("job ids not in the output: %s", out)
	}
	array, merge := m[1], m[2]
	var state string
	finished := waitFor(150*time.Second, func() bool {
		o, err := c.cmd("scontrol", "show", "job", "-o", merge).Output()
		state = string(o)
		return err == nil && regexp.MustCompile(`JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)|Reason=DependencyNeverSatisfied`).MatchString(state)
	})
	if !finished || !strings.Contains(state, "JobState=COMPLETED") {
		logs, _ := filepath.Glob(filepath.Join(work, "out.parts", "slurm-*.out"))
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			t.Logf("== %s\n%s", f, b)
		}
		c.logs(t)
		t.Fatalf("merge job %s (array %s) did not complete: %s", merge, array, state)
	}
	for i := 0; i < 4; i++ {
		o, _ := c.cmd("scontrol", "show", "job", "-o", fmt.Sprintf("%s_%d", array, i)).Output()
		if !strings.Contains(string(o), "JobState=COMPLETED") {
			t.Errorf("array task %d: %s", i, o)
		}
	}
	// The merge job writes report.md, which the unsharded sweep wrote
	// without --report: compare what both wrote.
	os.Remove(filepath.Join(work, "out", "report.md"))
	compareTrees(t, single, filepath.Join(work, "out"))
	if _, err := os.Stat(filepath.Join(work, "out", "results.json")); errors.Is(err, os.ErrNotExist) {
		t.Fatal("no merged results.json")
	}
}
