package cli

import (
	"context"
	"flag"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nir"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/snn"
)

func init() {
	register(&command{
		name:    "export",
		summary: "write a converted SNN as a NIR graph (HDF5, Neuromorphic Intermediate Representation) with the Quartz profile, or a model as ONNX (--format onnx, e.g. with --float16 weights)",
		run:     runExport,
	})
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "export", "--format nir (--snn snn.json | --model FILE.onnx --data mnist) -o net.nir [flags]\n       quartz export --format onnx --model FILE.onnx [--float16] -o out.onnx")
	format := fs.String("format", "nir", "output format: nir (the converted SNN) or onnx (the model itself, BatchNorm folded)")
	half := fs.Bool("float16", false, "with --format onnx: store conv and linear weights as float16 (half the size)")
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
	if err := checkOutputs(*out); err != nil {
		return err
	}
	switch *format {
	case "onnx":
		return exportONNX(e, fs, *model, *out, *half)
	case "nir":
	default:
		fmt.Fprintf(e.stderr, "quartz export: --format %q: want nir or onnx\n", *format)
		return errUsage
	}
	if *half {
		fmt.Fprintln(e.stderr, "quartz export: --float16 applies to --format onnx only")
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
		conv, err := convertModel(ctx, e.stderr, *model, d, &c, cfg)
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

// exportONNX writes the model at in as ONNX in inference form (BatchNorm
// folded, dropout gone), with float16 weights if half is set. Conversion
// and data flags do not apply and are refused.
func exportONNX(e *env, fs *flag.FlagSet, in, out string, half bool) error {
	if in == "" {
		fmt.Fprintln(e.stderr, "quartz export: --format onnx needs --model (the SNN of --snn has no ONNX form)")
		return errUsage
	}
	var extra []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "format", "model", "o", "float16", "workers":
		default:
			extra = append(extra, "--"+f.Name)
		}
	})
	if len(extra) > 0 {
		fmt.Fprintf(e.stderr, "quartz export: %s: not used with --format onnx, which writes the model as it is\n", strings.Join(extra, ", "))
		return errUsage
	}
	if err := checkModel(in); err != nil {
		return err
	}
	m, err := onnx.ReadFile(in)
	if err != nil {
		return err
	}
	if m, err = graph.InferenceForm(m); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := onnx.WriteFileWith(out, m, onnx.WriteOptions{Float16: half}); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	prec := "float32"
	if half {
		prec = "float16"
	}
	fmt.Fprintf(e.stdout, "wrote %s: ONNX opset %d, %d layers, %d parameters (%s weights), %d bytes\n",
		out, onnx.WriteOpset, len(m.Nodes), m.Params(), prec, st.Size())
	return nil
}
