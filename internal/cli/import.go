package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"

	"github.com/quartz-snn/quartz/nir"
)

func init() {
	register(&command{
		name:    "import",
		summary: "read a NIR graph written by quartz export and write it as a converted SNN (JSON, for eval --snn)",
		run:     runImport,
	})
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "import", "--format nir -i net.nir -o snn.json")
	format := fs.String("format", "nir", "input format: nir")
	in := fs.String("i", "", "input `FILE.nir` (required)")
	out := fs.String("o", "", "output `FILE.json` (required)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		fmt.Fprintln(e.stderr, "quartz import: -i and -o are required")
		fs.Usage()
		return errUsage
	}
	if err := checkOutputs(*out); err != nil {
		return err
	}
	if *format != "nir" {
		fmt.Fprintf(e.stderr, "quartz import: --format %q: only nir is supported\n", *format)
		return errUsage
	}
	data, err := atomicfile.ReadFile(*in, atomicfile.MaxModelSize)
	if err != nil {
		return err
	}
	n, warnings, err := nir.Unmarshal(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "warning: %s: %s\n", *in, w)
	}
	cfg := snnFileConfig{Tmax: n.InputT()}
	var ts []int
	uniform := true
	for _, l := range n.Layers {
		if l.Spiking() {
			ts = append(ts, l.T)
			uniform = uniform && l.T == cfg.Tmax
		}
	}
	if !uniform {
		cfg.TmaxLayers = ts
	}
	cfg.AnalogFirst = n.Layers[0].Analog
	js, err := json.Marshal(snnFile{Format: snnFormat, Version: 1, SourceModel: *in, Config: cfg, Network: n})
	if err != nil {
		return fmt.Errorf("encode %s: %w", *out, err)
	}
	if err := atomicfile.Write(*out, append(js, '\n')); err != nil {
		return err
	}
	sp, relay := n.Neurons()
	fmt.Fprintf(e.stdout, "wrote %s: %d layers, %d neurons (+%d relay) from %s\n", *out, len(n.Layers), sp, relay, *in)
	return nil
}
