package cli

import (
	"context"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"path/filepath"

	"github.com/quartz-snn/quartz/nir"
	"github.com/quartz-snn/quartz/snn"
)

func init() {
	register(&command{
		name:    "export",
		summary: "write a converted SNN as a NIR graph (HDF5, Neuromorphic Intermediate Representation) with the Quartz profile",
		run:     runExport,
	})
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "export", "--format nir (--snn snn.json | --model FILE.onnx --data mnist) -o net.nir [flags]")
	format := fs.String("format", "nir", "output format: nir")
	snnPath := fs.String("snn", "", "converted SNN `FILE.json` written by quartz convert")
	model := fs.String("model", "", "model `FILE.onnx` to convert first (instead of --snn)")
	out := fs.String("o", "", "output `FILE.nir` (required)")
	var d dataFlags
	d.registerSpec(fs, "mnist")
	var c convFlags
	c.register(fs)
	workers := workersFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" || (*snnPath == "") == (*model == "") {
		fmt.Fprintln(e.stderr, "quartz export: -o and exactly one of --snn and --model are required")
		fs.Usage()
		return errUsage
	}
	if *format != "nir" {
		fmt.Fprintf(e.stderr, "quartz export: --format %q: only nir is supported\n", *format)
		return errUsage
	}
	var n *snn.Network
	if *snnPath != "" {
		conv, err := readSNN(*snnPath, "", nil, *workers)
		if err != nil {
			return err
		}
		n = conv.SNN
	} else {
		cfg, err := c.config(*workers)
		if err != nil {
			return err
		}
		cfg.Progress = e.stderr
		conv, err := convertModel(ctx, *model, d, &c, cfg)
		if err != nil {
			return err
		}
		conv.SNN.Name = filepath.Base(*model)
		n = conv.SNN
	}
	data, warnings, err := nir.Marshal(n)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(*out, data); err != nil {
		return err
	}
	sp, relay := n.Neurons()
	fmt.Fprintf(e.stdout, "wrote %s: NIR %s, profile %s, %d layers, %d neurons (+%d relay), %d bytes\n",
		*out, nir.Version, nir.Profile, len(n.Layers), sp, relay, len(data))
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return nil
}
