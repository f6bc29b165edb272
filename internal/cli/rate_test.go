package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/pipeline"
)

// TestEvalRateFlags: bad --coding, --steps and --steps-report values are
// usage errors named in one line, before any data is read.
func TestEvalRateFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--coding", "morse"}, `--coding "morse": want quartz, rate or both`},
		{[]string{"--coding", "rate", "--steps", "0"}, "--steps 0: want 1.."},
		{[]string{"--coding", "rate", "--steps", "-5"}, "--steps -5: want 1.."},
		{[]string{"--coding", "rate", "--steps", "100", "--steps-report", "50,200"}, "200 is more than --steps 100"},
		{[]string{"--coding", "rate", "--steps-report", "10,x"}, "--steps-report"},
		{[]string{"--coding", "rate", "--snn", "x.json"}, "--coding rate needs --model"},
	} {
		args := append([]string{"eval", "--model", lenetPath}, c.args...)
		r := run(t, args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("quartz %s: want an error containing %q, got %v", strings.Join(args, " "), c.want, r)
		}
	}
}

// TestEvalCodingBoth runs the shipped LeNet on 200 MNIST test images with
// both codings and checks the JSON: the rate baseline's checkpoints, its
// costs against Quartz's, and energy for both.
func TestEvalCodingBoth(t *testing.T) {
	needMNIST(t)
	args := append([]string{"eval", "--model", lenetPath, "--data", "mnist", "--coding", "both", "--steps", "60",
		"--steps-report", "20,40", "--json"}, light("eval")...)
	res := evalResult(t, args...)
	rr := res.Rate
	if rr == nil || rr.Steps != 60 || len(rr.Checkpoints) != 3 || rr.Checkpoints[2].Steps != 60 {
		t.Fatalf("rate result %+v: want 60 steps, checkpoints 20, 40, 60", rr)
	}
	for _, name := range []string{"bitwidth", "cmos45", "loihi"} {
		q, ok1 := res.Energy[name]
		e, ok2 := rr.Energy[name]
		if !ok1 || !ok2 || !(q.Dynamic > 0) || !(e.Dynamic > 0) {
			t.Errorf("energy %s: Quartz %+v, rate %+v", name, q, e)
		}
	}
	last := rr.Checkpoints[2]
	if !(last.Spikes > res.Spikes) || last.NeuronUpdates != float64(rr.Neurons*60) || last.OmegaEq != last.SynapticEvents+last.NeuronUpdates {
		t.Errorf("rate checkpoint %+v vs Quartz spikes %v", last, res.Spikes)
	}
	if rr.ANN == nil || *rr.ANN != *res.ANNAccuracy || last.Accuracy < 95 {
		t.Errorf("rate accuracy %v at 60 steps, ANN %v / %v", last.Accuracy, rr.ANN, res.ANNAccuracy)
	}

	// The text report of --coding rate alone.
	args = append([]string{"eval", "--model", lenetPath, "--data", "mnist", "--coding", "rate", "--steps", "20"}, light("eval")...)
	r := run(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "rate-coded baseline") || !strings.Contains(r.stdout, "Ω-eq") {
		t.Errorf("quartz %v: %v", args, r)
	}
}

// TestEvalOracle checks eval --oracle on the shipped LeNet: every spike
// time of 20 samples compared, the count in JSON and in the text report,
// and a negative count refused.
func TestEvalOracle(t *testing.T) {
	needMNIST(t)
	args := append([]string{"eval", "--model", lenetPath, "--data", "mnist", "--oracle", "20", "--json"}, light("eval")...)
	res := evalResult(t, args...)
	o := res.Oracle
	want := int64(20 * (res.Neurons + res.RelayNeurons))
	if o == nil || o.Samples != 20 || o.SpikeTimes != want || len(o.LayerDiff) != len(res.Layers) {
		t.Fatalf("oracle check %+v: want 20 samples, %d spike times, one count per layer", o, want)
	}
	// Float weights: differences are possible but must be rare (SPEC §6:
	// a prototype saw 6 in 34 million).
	if o.Differ > o.SpikeTimes/1000 {
		t.Errorf("%d of %d spike times differ from the oracle", o.Differ, o.SpikeTimes)
	}
	r := run(t, append([]string{"eval", "--model", lenetPath, "--data", "mnist", "--oracle", "5"}, light("eval")...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "oracle check (SPEC §6): 5 samples, ") {
		t.Errorf("text report: want the oracle line\n%v", r)
	}
	r = run(t, append([]string{"eval", "--model", lenetPath, "--data", "mnist", "--oracle", "-1"}, light("eval")...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "--oracle -1") {
		t.Errorf("--oracle -1: want exit 1\n%v", r)
	}
}

// evalResult runs quartz with args (an eval with --json), which must
// succeed, and decodes its result as a pipeline.Result (evalJSON in
// roundtrip_test.go decodes generically instead).
func evalResult(t *testing.T, args ...string) *pipeline.Result {
	t.Helper()
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("quartz %v: %v", args, r)
	}
	var res pipeline.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	return &res
}
