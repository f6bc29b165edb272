package cli_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The wall times are the only values a merged run does not reproduce (it
// reports the sum of the shards' times): every comparison below blanks
// them, and nothing else, before comparing bytes.
var (
	jsonSeconds = regexp.MustCompile(`("seconds[a-z_]*": )[-+0-9.eE]+`)
	wallTime    = regexp.MustCompile(`(?m)^(wall time|.*\bin [0-9.]+ s\b).*$`)
)

// maskTimes blanks the wall times of a file of the given name.
func maskTimes(t *testing.T, name string, data []byte) string {
	t.Helper()
	s := string(data)
	switch filepath.Ext(name) {
	case ".json":
		return jsonSeconds.ReplaceAllString(s, "${1}0")
	case ".csv":
		recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for c, h := range recs[0] {
			if strings.HasPrefix(h, "seconds") {
				for _, r := range recs[1:] {
					r[c] = "0"
				}
			}
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.WriteAll(recs)
		return b.String()
	}
	return wallTime.ReplaceAllString(s, "")
}

// treeFiles lists the files under dir, relative to it.
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// sameBytes compares two files byte for byte after maskTimes.
func sameBytes(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if ma, mb := maskTimes(t, want, a), maskTimes(t, got, b); ma != mb {
		t.Errorf("%s and %s differ (-unsharded +merged):\n%s", want, got, lineDiff(ma, mb))
	}
}

// sweepArgs is a small sweep of the shipped LeNet-5: 2 Tmax × 2
// percentiles on 120 test images.
func sweepArgs() []string {
	return []string{"sweep", "--model", lenetPath, "--data", "mnist", "--limit", "120", "--tmax", "2,4",
		"--percentile", "99,99.9", "--calib", "200", "--workers", "2"}
}

func runShards(t *testing.T, args []string, n int, dir string) {
	t.Helper()
	for i := 0; i < n; i++ {
		r := run(t, append(append([]string(nil), args...), "--shard", fmt.Sprintf("%d/%d", i, n), "-o", dir)...)
		if r.code != 0 {
			t.Fatalf("shard %d/%d: %v", i, n, r)
		}
	}
}

// TestShardSweepMergeExact: a sweep run in n shards and merged writes the
// files of the unsharded sweep, byte for byte but for the wall times, for
// n = 1, 2, 3 and 7 (7 shards split the 4 points' samples), and quartz
// plot draws the same figures from it.
func TestShardSweepMergeExact(t *testing.T) {
	needMNIST(t)
	tmp := t.TempDir()
	single := filepath.Join(tmp, "single")
	if r := run(t, append(sweepArgs(), "-o", single, "--report")...); r.code != 0 {
		t.Fatal(r)
	}
	want := treeFiles(t, single)
	for _, n := range []int{1, 2, 3, 7} {
		parts, merged := filepath.Join(tmp, fmt.Sprint("parts", n)), filepath.Join(tmp, fmt.Sprint("merged", n))
		runShards(t, sweepArgs(), n, parts)
		r := run(t, "merge", parts, "-o", merged)
		if r.code != 0 {
			t.Fatalf("merge of %d: %v", n, r)
		}
		got := treeFiles(t, merged)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("n=%d: merged files %v, unsharded %v", n, got, want)
		}
		for _, f := range want {
			sameBytes(t, filepath.Join(single, f), filepath.Join(merged, f))
		}
	}
	// quartz plot draws the same figures from both, byte for byte (no
	// wall time in them).
	for _, d := range []string{single, filepath.Join(tmp, "merged3")} {
		if r := run(t, "plot", d); r.code != 0 {
			t.Fatal(r)
		}
	}
	figs := treeFiles(t, filepath.Join(single, "plots"))
	if len(figs) == 0 {
		t.Fatal("quartz plot wrote no figure")
	}
	for _, f := range figs {
		a, _ := os.ReadFile(filepath.Join(single, "plots", f))
		b, err := os.ReadFile(filepath.Join(tmp, "merged3", "plots", f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("plots/%s differs between the unsharded and the merged sweep (%v)", f, err)
		}
	}
}

func evalArgs() []string {
	return []string{"eval", "--model", lenetPath, "--data", "mnist", "--limit", "150", "--calib", "200",
		"--auto-samples", "100", "--workers", "2"}
}

// TestShardEvalMergeExact: eval in n shards, merged, gives eval --json's
// object, its summary and its --report, byte for byte but for the wall
// times, for n = 1, 2, 3 and 7; with --percentile auto, whose choice the
// shards read from the shared calibration cache.
func TestShardEvalMergeExact(t *testing.T) {
	needMNIST(t)
	tmp := t.TempDir()
	// Warm the cache, so that the unsharded run, like the shards, reads the
	// calibration and the auto choice back ("cached": true).
	if r := run(t, append(evalArgs(), "--json")...); r.code != 0 {
		t.Fatal(r)
	}
	md := filepath.Join(tmp, "single.md")
	js := run(t, append(evalArgs(), "--json", "--report", md)...)
	txt := run(t, evalArgs()...)
	if js.code != 0 || txt.code != 0 {
		t.Fatal(js, txt)
	}
	if !strings.Contains(js.stdout, `"cached": true`) {
		t.Fatalf("the unsharded run did not read the auto choice from the cache:\n%s", js.stdout)
	}
	os.WriteFile(filepath.Join(tmp, "single.json"), []byte(js.stdout), 0o644)
	os.WriteFile(filepath.Join(tmp, "single.txt"), []byte(txt.stdout), 0o644)
	for _, n := range []int{1, 2, 3, 7} {
		parts, merged := filepath.Join(tmp, fmt.Sprint("parts", n)), filepath.Join(tmp, fmt.Sprint("merged", n))
		runShards(t, evalArgs(), n, parts)
		names, _ := filepath.Glob(filepath.Join(parts, "*.json"))
		r := run(t, append(append([]string{"merge"}, names...), "-o", merged)...)
		if r.code != 0 {
			t.Fatalf("merge of %d: %v", n, r)
		}
		sameBytes(t, filepath.Join(tmp, "single.json"), filepath.Join(merged, "result.json"))
		sameBytes(t, filepath.Join(tmp, "single.txt"), filepath.Join(merged, "report.txt"))
		sameBytes(t, md, filepath.Join(merged, "report.md"))
	}
}

// TestMergeRefuses: merge names a missing, duplicate or foreign part and
// writes nothing; a killed shard is rerun alone and the merge then
// succeeds.
func TestMergeRefuses(t *testing.T) {
	needMNIST(t)
	tmp := t.TempDir()
	parts := filepath.Join(tmp, "parts")
	args := []string{"eval", "--model", lenetPath, "--data", "mnist", "--limit", "60", "--calib", "200", "--percentile", "99.9", "--workers", "2"}
	runShards(t, args, 3, parts)
	p := func(i, n int) string { return filepath.Join(parts, fmt.Sprintf("part-%d-of-%d.json", i, n)) }
	other := filepath.Join(tmp, "other")
	runShards(t, append(append([]string(nil), args...), "--tmax", "4"), 3, other)
	two := filepath.Join(tmp, "two")
	runShards(t, args, 2, two)
	dup := filepath.Join(tmp, "copy.json")
	data, _ := os.ReadFile(p(1, 3))
	os.WriteFile(dup, data, 0o644)
	bad := filepath.Join(tmp, "bad.json")
	os.WriteFile(bad, data[:len(data)/2], 0o644)
	full := filepath.Join(tmp, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644)

	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"missing", []string{p(0, 3), p(2, 3)}, "shard 1/3 missing"},
		{"duplicate", []string{parts, dup}, "shard 1/3 given twice"},
		{"foreign", []string{p(0, 3), filepath.Join(other, "part-1-of-3.json"), p(2, 3)}, "is a part of another run than"},
		{"mixed counts", []string{p(0, 3), p(1, 3), filepath.Join(two, "part-1-of-2.json")}, "do not mix"},
		{"truncated", []string{p(0, 3), bad}, "bad.json: not a quartz part file"},
		{"not empty", []string{parts, "-o", full}, "exists and is not empty"},
		{"no parts", []string{tmp}, "no part files"},
	} {
		out := filepath.Join(tmp, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
		a := append([]string{"merge"}, tc.args...)
		if tc.name != "not empty" {
			a = append(a, "-o", out)
		}
		r := run(t, a...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("%s: want exit 1 and %q:\n%v", tc.name, tc.err, r)
		}
		mustNotExist(t, out)
	}

	// A shard killed before it wrote its part: the merge refuses until the
	// shard, rerun alone, has written it.
	os.Remove(p(1, 3))
	if r := run(t, "merge", parts, "-o", filepath.Join(tmp, "m")); r.code != 1 || !strings.Contains(r.stderr, "shard 1/3 missing") {
		t.Fatalf("merge without shard 1: %v", r)
	}
	if r := run(t, append(append([]string(nil), args...), "--shard", "1/3", "-o", parts)...); r.code != 0 {
		t.Fatal(r)
	}
	if r := run(t, "merge", parts, "-o", filepath.Join(tmp, "m")); r.code != 0 {
		t.Fatalf("merge after the rerun: %v", r)
	}
}

// TestShardFlags: --shard's syntax and the outputs a shard does not write.
func TestShardFlags(t *testing.T) {
	base := []string{"eval", "--model", lenetPath, "--data", "mnist"}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--shard", "3/3", "-o", "x"}, 2, "index must be in 0..2"},
		{[]string{"--shard", "1"}, 2, "want i/n"},
		{[]string{"--shard", "0/2"}, 1, "needs -o DIR"},
		{[]string{"-o", "x"}, 1, "only with --shard"},
		{[]string{"--shard", "0/2", "-o", "x", "--json"}, 1, "--json is written by quartz merge"},
		{[]string{"--shard", "0/2", "-o", "x", "--coding", "both"}, 1, "--coding both is not sharded"},
		{[]string{"--shard", "0/2", "-o", "x", "--predictions", "p.csv"}, 1, "--predictions is not sharded"},
	} {
		r := run(t, append(append([]string(nil), base...), tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("%v: want exit %d and %q:\n%v", tc.args, tc.code, tc.err, r)
		}
	}
	r := run(t, "sweep", "--model", lenetPath, "--data", "mnist", "-o", t.TempDir(), "--shard", "0/2", "--rate-steps", "10")
	if r.code != 1 || !strings.Contains(r.stderr, "--rate-steps) is not sharded") {
		t.Errorf("sweep --shard --rate-steps: %v", r)
	}
}

// TestSlurmRefuses: quartz slurm checks its own flags and, through the
// command in plan mode, the command's flags, model and data, before it
// prints anything.
func TestSlurmRefuses(t *testing.T) {
	needMNIST(t)
	tmp := t.TempDir()
	sw := []string{"slurm", "sweep", "--model", lenetPath, "--data", "mnist", "--limit", "10", "--tmax", "2", "--percentile", "99"}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{append(sw[:len(sw):len(sw)], "-o", "out"), `--shards "": want a number of shards`},
		{append(sw[:len(sw):len(sw)], "--shards", "0", "-o", "out"), `--shards "0"`},
		{append(sw[:len(sw):len(sw)], "--shards", "4"), "-o DIR: the folder of the merged result is required"},
		{append(sw[:len(sw):len(sw)], "--shards", "4", "-o", "out", "--shard", "1/4"), "--shard: quartz slurm adds it"},
		{append(sw[:len(sw):len(sw)], "--shards", "11", "-o", "out"), "the sweep has 10 work units"},
		{append(sw[:len(sw):len(sw)], "--shards", "2", "-o", "out", "--parts", "out"), "want two folders"},
		{append(sw[:len(sw):len(sw)], "--shards", "2", "-o", "out", "--time", "1:00; rm -rf /"), "no spaces or shell characters"},
		{[]string{"slurm", "sweep", "--model", filepath.Join(tmp, "none.onnx"), "--data", "mnist", "--shards", "2", "-o", "out"}, "none.onnx"},
		{[]string{"slurm", "eval", "--model", lenetPath, "--data", "mnist", "--tmax", "0", "--shards", "2", "-o", "out"}, "--tmax 0: must be ≥ 1"},
		{[]string{"slurm", "eval", "--model", lenetPath, "--data", "mnist", "--json", "--shards", "2", "-o", "out"}, "--json is written by quartz merge"},
		{append(sw[:len(sw):len(sw)], "--shards", "2", "-o", "out", "--rate-steps", "10"), "--rate-steps) is not sharded"},
	} {
		r := run(t, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.err) || r.stdout != "" {
			t.Errorf("%v: want a failure with %q and no script:\n%v", tc.args, tc.err, r)
		}
	}
	mustNotExist(t, "out")
	mustNotExist(t, "out.parts")
}

// imageFolder writes an ImageNet-style folder of random 28×28 gray PNGs:
// DIR/train|test/<class>/<i>.png, 10 classes, n images per class and
// split.
func imageFolder(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	for _, split := range []string{"train", "test"} {
		for c := 0; c < 10; c++ {
			d := filepath.Join(dir, split, fmt.Sprint("class", c))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				img := image.NewGray(image.Rect(0, 0, 28, 28))
				for k := range img.Pix {
					img.Pix[k] = uint8(rng.IntN(256))
				}
				var b bytes.Buffer
				if err := png.Encode(&b, img); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%d.png", i)), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return dir
}

// TestShardLazyFolder: on an image folder the shards open the test set
// lazily and decode only their slices; the merge still equals the
// unsharded (eager) evaluation byte for byte, wall times blanked.
func TestShardLazyFolder(t *testing.T) {
	dir := imageFolder(t, 4)
	tmp := t.TempDir()
	args := []string{"eval", "--model", lenetPath, "--data", "folder:" + dir, "--calib", "40", "--percentile", "99.9", "--workers", "2"}
	js := run(t, append(args, "--json")...)
	if js.code != 0 {
		t.Fatal(js)
	}
	os.WriteFile(filepath.Join(tmp, "single.json"), []byte(js.stdout), 0o644)
	parts := filepath.Join(tmp, "parts")
	runShards(t, args, 3, parts)
	if r := run(t, "merge", parts, "-o", filepath.Join(tmp, "merged")); r.code != 0 {
		t.Fatal(r)
	}
	sameBytes(t, filepath.Join(tmp, "single.json"), filepath.Join(tmp, "merged", "result.json"))
}
