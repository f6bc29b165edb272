package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// readmeExample is how the test runs one command line that README.md shows.
type readmeExample struct {
	args []string // what runs: the README's command, made fast; CIFAR stands for the CIFAR-10 JPEG tarball of ../shared/data (skipped where absent)
	want []string // in stdout
}

// readmeExamples holds every quartz command line of README.md (in code
// blocks and in `backticks`), keyed by the exact text, so that the
// documented examples keep working. The test runs them in README order in
// one temporary directory, with MODEL standing for the shipped
// models/lenet5.onnx; a command that README.md shows and this table lacks
// fails the test.
var readmeExamples = map[string]readmeExample{
	"quartz help": {[]string{"help"}, []string{"Commands:", "Run 'quartz help <command>'"}},
	"quartz demo": {[]string{"demo", "--limit", "300", "--calib", "300"},
		[]string{"model models/lenet5.onnx (embedded) on mnist/test: 300 samples", "Table 1 layout", "paper, LeNet-5 26k"}},
	"go run ./cmd/quartz demo": {[]string{"demo", "--limit", "300", "--calib", "300"}, []string{"Table 1 layout"}},
	"quartz inspect models/lenet5.onnx": {[]string{"inspect", "MODEL"},
		[]string{"parameters  26338\n", "ANN MACs    225840 per sample\n", "quartz      every layer converts\n"}},
	"quartz inspect model.onnx": {[]string{"inspect", "MODEL"}, []string{"every layer converts"}},
	"quartz inspect FILE.onnx":  {[]string{"inspect", "trained.onnx"}, []string{"parameters  26338\n", "every layer converts"}},
	"quartz train --model lenet5 --data mnist --epochs 20 --lr 0.001 --crop-pad 2 --seed 1 --workers 2 -o lenet5.onnx": {
		[]string{"train", "--model", "lenet5", "--data", "mnist", "--epochs", "1", "--limit", "512", "--lr", "0.001", "--crop-pad", "2", "--seed", "1", "--workers", "2", "-o", "lenet5.onnx"},
		[]string{"wrote lenet5.onnx (26338 parameters): test accuracy", "log lenet5.train.json"}},
	"quartz train --model lenet5 --data mnist --epochs 20 --lr 0.001 --crop-pad 2 --seed 1 --workers 2 -o lenet5.onnx --resume": {
		[]string{"train", "--model", "lenet5", "--data", "mnist", "--epochs", "2", "--limit", "512", "--lr", "0.001", "--crop-pad", "2", "--seed", "1", "--workers", "2", "-o", "lenet5.onnx", "--resume"},
		[]string{"wrote lenet5.onnx (26338 parameters)"}},
	"quartz train --model lenet5 --data mnist -o FILE.onnx": {
		[]string{"train", "--model", "lenet5", "--data", "mnist", "--epochs", "1", "--limit", "256", "--workers", "2", "-o", "trained.onnx"},
		[]string{"wrote trained.onnx"}},
	"quartz eval --model FILE.onnx --data mnist": {
		[]string{"eval", "--model", "MODEL", "--data", "mnist", "--limit", "300", "--calib", "300", "--workers", "2"},
		[]string{"on mnist/test: 300 samples", "SNN (Quartz)", "per layer"}},
	"quartz convert --model FILE.onnx -o snn.json": {
		[]string{"convert", "--model", "MODEL", "-o", "snn.json", "--calib", "300", "--workers", "2"},
		[]string{"wrote snn.json: 6 layers, 4354 neurons (+1056 relay), Tmax 16"}},
	"quartz sweep --model FILE.onnx --data mnist -o DIR": {
		[]string{"sweep", "--model", "MODEL", "--data", "mnist", "-o", "DIR", "--tmax", "4,16", "--percentile", "99,99.9", "--limit", "200", "--calib", "300", "--workers", "2"},
		[]string{"4 points (4 computed now)", "wrote DIR/results.csv"}},
	"quartz plot DIR":      {[]string{"plot", "DIR"}, []string{"DIR/plots/"}},
	"quartz plot FILE.csv": {[]string{"plot", "DIR/results.csv", "--format", "svg"}, []string{"DIR/results-plots/fig2_error_vs_tmax.{svg,csv}"}},
	"quartz map --hw loihi1 --model FILE.onnx": {
		[]string{"map", "--hw", "loihi1", "--model", "MODEL", "--calib", "300", "--workers", "2"},
		[]string{"8 cores on 1 chip(s)"}},
	"quartz export --format nir --snn snn.json -o net.nir": {
		[]string{"export", "--format", "nir", "--snn", "snn.json", "-o", "net.nir"}, []string{"wrote net.nir: NIR"}},
	"quartz export --format onnx --model in.onnx --float16 -o out.onnx": {
		[]string{"export", "--format", "onnx", "--model", "MODEL", "--float16", "-o", "out.onnx"},
		[]string{"wrote out.onnx: ONNX opset 13, 10 layers, 26338 parameters (float16 weights), 54459 bytes"}},
	"quartz finetune --model FILE.onnx --data mnist --tmax 4 -o FILE-t4.onnx": {
		[]string{"finetune", "--model", "MODEL", "--data", "mnist", "--tmax", "4", "--limit", "256", "--epochs", "1", "--calib", "300",
			"--percentile", "99", "--probe", "100", "--workers", "2", "-o", "FILE-t4.onnx"},
		[]string{"wrote FILE-t4.onnx: fine-tuned for Tmax 4 in 1 epochs"}},
	"quartz import --format nir -i net.nir -o snn.json": {
		[]string{"import", "--format", "nir", "-i", "net.nir", "-o", "snn.json"}, []string{"wrote snn.json"}},
	"quartz eval --model lenet5.onnx --data mnist --coding both --json": {
		[]string{"eval", "--model", "lenet5.onnx", "--data", "mnist", "--coding", "both", "--json", "--limit", "100", "--calib", "300", "--steps", "50", "--workers", "2"},
		[]string{`"rate": {`, `"snn_accuracy"`}},
	"quartz sweep --model lenet5.onnx --data mnist -o sweep": {
		[]string{"sweep", "--model", "lenet5.onnx", "--data", "mnist", "-o", "sweep", "--tmax", "8,16", "--percentile", "99", "--limit", "100", "--calib", "300", "--workers", "2"},
		[]string{"wrote sweep/results.csv"}},
	"quartz plot sweep --model lenet5.onnx --data mnist": {
		[]string{"plot", "sweep", "--model", "lenet5.onnx", "--data", "mnist", "--calib", "300"}, []string{"sweep/plots/raster."}},
	"quartz sweep --model lenet5.onnx --data mnist --shard 0/2 -o parts": {
		[]string{"sweep", "--model", "lenet5.onnx", "--data", "mnist", "--shard", "0/2", "-o", "parts", "--tmax", "8,16", "--percentile", "99", "--limit", "100", "--calib", "300", "--workers", "2"},
		[]string{"shard 0/2: 1 of 2 grid points", "wrote parts/part-0-of-2.json"}},
	"quartz sweep --model lenet5.onnx --data mnist --shard 1/2 -o parts": {
		[]string{"sweep", "--model", "lenet5.onnx", "--data", "mnist", "--shard", "1/2", "-o", "parts", "--tmax", "8,16", "--percentile", "99", "--limit", "100", "--calib", "300", "--workers", "2"},
		[]string{"wrote parts/part-1-of-2.json"}},
	"quartz merge parts -o merged": {[]string{"merge", "parts", "-o", "merged"}, []string{"merged 2 parts: 2 points; wrote merged/results.csv"}},
	"quartz slurm sweep --model lenet5.onnx --data mnist --shards 4 -o merged4 --script run.sh": {
		[]string{"slurm", "sweep", "--model", "lenet5.onnx", "--data", "mnist", "--shards", "4", "-o", "merged4", "--script", "run.sh", "--tmax", "8,16", "--percentile", "99", "--limit", "100", "--calib", "300"},
		[]string{"wrote run.sh: 4 shards of 1 CPUs"}},
	"quartz map --hw loihi1 --model lenet5.onnx --cost": {
		[]string{"map", "--hw", "loihi1", "--model", "lenet5.onnx", "--cost", "--calib", "300", "--limit", "50", "--workers", "2"},
		[]string{"EDP"}},
	"quartz convert --model lenet5.onnx -o snn.json": {
		[]string{"convert", "--model", "lenet5.onnx", "-o", "snn.json", "--calib", "300", "--workers", "2"}, []string{"wrote snn.json"}},
	"quartz inspect models/vgg11-swa.onnx": {[]string{"inspect", "VGG"}, []string{"every layer converts"}},
	"quartz eval --model models/vgg11-swa.onnx --data cifar10:../shared/data/cifar10-jpeg/cifar10-jpeg-q75.tar.gz --tmax 32 --percentile 99.95 --predictions cifar.csv": {
		[]string{"eval", "--model", "VGG", "--data", "cifar10:CIFAR", "--tmax", "32", "--percentile", "99.95", "--predictions", "cifar.csv", "--limit", "20", "--calib", "50", "--workers", "2"},
		[]string{"on cifar10/test: 20 samples", "SNN (Quartz)", "McNemar"}},
	"quartz sweep --model models/vgg11-swa.onnx --data cifar10:../shared/data/cifar10-jpeg/cifar10-jpeg-q75.tar.gz --tmax 16,32,64 --percentile 99.9,99.95,99.99 -o cifar-sweep": {
		[]string{"sweep", "--model", "VGG", "--data", "cifar10:CIFAR", "--tmax", "16,32", "--percentile", "99.95", "-o", "cifar-sweep", "--limit", "10", "--calib", "50", "--workers", "2"},
		[]string{"2 points (2 computed now)", "wrote cifar-sweep/results.csv"}},
	"quartz eval --snn snn.json": {
		[]string{"eval", "--snn", "snn.json", "--limit", "300", "--workers", "2"},
		[]string{"model snn.json on mnist/test: 300 samples", "SNN (Quartz)"}},
}

var (
	codeBlock  = regexp.MustCompile("(?s)```(?:sh|bash|console)?\n(.*?)```")
	inlineCode = regexp.MustCompile("`((?:go run \\./cmd/)?quartz [^`]+)`")
)

// readmeCommands returns the quartz command lines of a README in order of
// appearance, without repeats.
func readmeCommands(readme string) []string {
	type hit struct {
		pos int
		cmd string
	}
	var hits []hit
	for _, m := range codeBlock.FindAllStringSubmatchIndex(readme, -1) {
		pos := m[2]
		for _, line := range strings.SplitAfter(readme[m[2]:m[3]], "\n") {
			cmd, _, _ := strings.Cut(line, "#")
			cmd = strings.Join(strings.Fields(cmd), " ")
			if strings.HasPrefix(cmd, "quartz ") || strings.HasPrefix(cmd, "go run ./cmd/quartz") {
				hits = append(hits, hit{pos, cmd})
			}
			pos += len(line)
		}
	}
	for _, m := range inlineCode.FindAllStringSubmatchIndex(readme, -1) {
		hits = append(hits, hit{m[2], readme[m[2]:m[3]]})
	}
	// Order by position; code blocks and inline spans do not overlap.
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].pos < hits[j-1].pos; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	var cmds []string
	seen := map[string]bool{}
	for _, h := range hits {
		if !seen[h.cmd] {
			seen[h.cmd] = true
			cmds = append(cmds, h.cmd)
		}
	}
	return cmds
}

func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trains and evaluates")
	}
	needMNIST(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	model, err := filepath.Abs(lenetPath)
	if err != nil {
		t.Fatal(err)
	}
	vgg, err := filepath.Abs(filepath.Join("..", "..", "models", "vgg11-swa.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	cifar, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "cifar10-jpeg", "cifar10-jpeg-q75.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	_, cifarErr := os.Stat(cifar)
	cmds := readmeCommands(string(readme))
	if len(cmds) < 5 {
		t.Fatalf("found only %d quartz commands in README.md: %q", len(cmds), cmds)
	}
	t.Chdir(t.TempDir())
	for _, cmd := range cmds {
		ex, ok := readmeExamples[cmd]
		if !ok {
			t.Errorf("README.md shows `%s`: add it to readmeExamples in %s", cmd, "internal/cli/readme_test.go")
			continue
		}
		if slices.Contains(ex.args, "cifar10:CIFAR") && cifarErr != nil {
			t.Logf("`%s`: skipped, CIFAR-10 not available: %v", cmd, cifarErr)
			continue
		}
		args := make([]string, len(ex.args))
		for i, a := range ex.args {
			args[i] = strings.NewReplacer("MODEL", model, "VGG", vgg, "CIFAR", cifar).Replace(a)
		}
		r := run(t, args...)
		if r.code != 0 {
			t.Errorf("`%s` (run as quartz %s): %v", cmd, strings.Join(args, " "), r)
			continue
		}
		for _, w := range ex.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("`%s`: stdout lacks %q:\n%s", cmd, w, r.stdout)
			}
		}
	}
}

func TestReadmeCommands(t *testing.T) {
	got := readmeCommands("Run `quartz help` then\n\n```sh\n# comment\nquartz  inspect x.onnx   # trailing\ngo test ./...\n```\n\nand `quartz eval --snn s.json`, `quartz help` again.")
	want := []string{"quartz help", "quartz inspect x.onnx", "quartz eval --snn s.json"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("readmeCommands = %q, want %q", got, want)
	}
}

// TestReadmeSupportTable keeps README's "What converts" table in step with
// graph.Op.AnnOnly: every op that runs in the ANN only is named in an
// "ANN only" row, and every other op in the "converts" row.
func TestReadmeSupportTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "## What converts")
	if !ok {
		t.Fatal(`README.md has no "## What converts" section`)
	}
	table, _, _ = strings.Cut(table, "\n## ")
	var converts, annOnly string
	for _, line := range strings.Split(table, "\n") {
		switch {
		case strings.HasPrefix(line, "| **converts**"):
			converts = line
		case strings.HasPrefix(line, "| runs **ANN only**"), strings.HasPrefix(line, "| | "):
			annOnly += line
		}
	}
	// The README's word for ops whose name is not what users know.
	word := map[graph.Op]string{graph.Linear: "Linear", graph.Affine: "input normalization", graph.Add: "residual Add",
		graph.Reshape: "Reshape", graph.Unary: "elementwise functions", graph.Reduce: "Reduce*", graph.Binary: "Sub/Div"}
	for op := graph.Conv; op <= graph.Binary; op++ {
		w, ok := word[op]
		if !ok {
			w = op.String()
		}
		row, where := converts, "converts"
		if op.AnnOnly() != "" {
			row, where = annOnly, "ANN only"
		}
		if !strings.Contains(row, w) {
			t.Errorf("README's %q row lacks %v (as %q)", where, op, w)
		}
	}
}
