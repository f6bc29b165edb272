package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"io"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/normalize"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/snn"
)

func init() {
	register(&command{
		name:    "convert",
		summary: "normalize and convert a model to a Quartz SNN and write it as JSON (read back by eval --snn)",
		run:     runConvert,
	})
}

// snnFormat identifies converted-network files.
const snnFormat = "quartz-snn"

// snnFile is the file quartz convert writes: the network (snn.Network,
// documented field by field in package snn) and how it was made.
type snnFile struct {
	Format      string `json:"format"`  // "quartz-snn"
	Version     int    `json:"version"` // 1
	SourceModel string `json:"source_model"`
	// SourceSHA256 is the hex SHA-256 of the model file it was converted
	// from; eval --snn FILE --model M refuses an M with another digest.
	// Files written before it existed have none.
	SourceSHA256 string            `json:"source_sha256,omitempty"`
	Data         string            `json:"calibration_data"`
	Config       snnFileConfig     `json:"config"`
	Norm         *normalize.Report `json:"normalization"`
	Network      *snn.Network      `json:"network"`
	CalibSamples int               `json:"calibration_samples"`
	// PercentileAuto is how --percentile auto chose the percentile
	// (absent for a fixed one).
	PercentileAuto *pipeline.AutoChoice `json:"percentile_auto,omitempty"`
}

type snnFileConfig struct {
	Tmax             int       `json:"tmax"`
	TmaxLayers       []int     `json:"tmax_layers,omitempty"`
	Percentile       float64   `json:"percentile"`
	LayerPercentiles []float64 `json:"percentile_layers,omitempty"`
	CalibSeed        uint64    `json:"calibration_seed"`
	AnalogFirst      bool      `json:"analog_first"`
}

func runConvert(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "convert", "--model FILE.onnx --data mnist -o snn.json [flags]")
	model := fs.String("model", "", "model `FILE.onnx` (required)")
	out := fs.String("o", "", "output `FILE.json` (required)")
	var d dataFlags
	d.registerSpec(fs, "mnist") // calibration reads the training split; --split and --limit would do nothing
	var c convFlags
	c.register(fs)
	var prog progressFlags
	prog.register(fs)
	workers := workersFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(e.stderr, "quartz convert: --model and -o are required")
		fs.Usage()
		return errUsage
	}
	if err := checkOutputs(*out); err != nil {
		return err
	}
	cfg, err := c.config(*workers)
	if err != nil {
		return err
	}
	if cfg.Progress, err = prog.writer(e.stderr); err != nil {
		return err
	}
	conv, err := convertModel(ctx, e.stderr, *model, d, &c, cfg)
	if err != nil {
		return err
	}
	printNotes(e, conv.Notes...)
	conv.SNN.Name = filepath.Base(*model)
	sum, err := fileSHA256(*model)
	if err != nil {
		return err
	}
	f := snnFile{Format: snnFormat, Version: 1, SourceModel: *model, SourceSHA256: sum, Data: d.spec, Norm: conv.Norm, Network: conv.SNN,
		CalibSamples: conv.CalibSize, PercentileAuto: conv.Auto,
		Config: snnFileConfig{Tmax: conv.Config.Tmax, TmaxLayers: conv.Config.TmaxLayers, Percentile: conv.Config.Percentile,
			LayerPercentiles: conv.Config.LayerPercentiles, CalibSeed: conv.Config.CalibSeed, AnalogFirst: conv.Config.AnalogFirst}}
	js, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode %s: %w", *out, err)
	}
	if err := atomicfile.Write(*out, append(js, '\n')); err != nil {
		return err
	}
	sp, relay := conv.SNN.Neurons()
	fmt.Fprintf(e.stdout, "wrote %s: %d layers, %d neurons (+%d relay), Tmax %d, percentile %g\n",
		*out, len(conv.SNN.Layers), sp, relay, conv.Config.Tmax, conv.Config.Percentile)
	for _, w := range conv.Norm.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return nil
}

// readSNN reads a converted network; with model set, the ANN is read too so
// that its accuracy can be reported beside the SNN's.
func readSNN(path, model string, pre *preprocFlags, workers int) (*pipeline.Converted, error) {
	data, err := atomicfile.ReadFile(path, atomicfile.MaxModelSize)
	if err != nil {
		return nil, err
	}
	f, err := parseSNNFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if model != "" && f.SourceSHA256 != "" {
		sum, err := fileSHA256(model)
		if err != nil {
			return nil, err
		}
		if sum != f.SourceSHA256 {
			return nil, fmt.Errorf("%s: converted from a model with SHA-256 %.12s…, not %s (SHA-256 %.12s…): the ANN and SNN would be unrelated networks", path, f.SourceSHA256, model, sum)
		}
	}
	c := &pipeline.Converted{SNN: f.Network, Norm: f.Norm, CalibSize: f.CalibSamples, Auto: f.PercentileAuto,
		Config: pipeline.Config{Tmax: f.Config.Tmax, TmaxLayers: f.Config.TmaxLayers, Percentile: f.Config.Percentile,
			LayerPercentiles: f.Config.LayerPercentiles, CalibSeed: f.Config.CalibSeed, AnalogFirst: f.Config.AnalogFirst,
			Threshold: f.Network.Threshold, Workers: workers}}
	if model != "" {
		// The ANN is only run, never converted: package nn computes an
		// unfoldable input transform exactly as an explicit input step, so
		// the model may keep it whatever --analog-first says (an SNN made
		// from such a model holds the same transform in its analog layer).
		ann := preprocFlags{}
		if pre != nil {
			ann = *pre
		}
		ann.analogFirst = true
		if c.ANN, err = loadModel(model, &ann); err != nil {
			return nil, err
		}
		// The simplified model gives the per-layer MACs, as in eval --model.
		if c.Simplified, err = graph.Simplify(c.ANN); err != nil {
			return nil, fmt.Errorf("%s: %w", model, err)
		}
	}
	return c, nil
}

// fileSHA256 returns the hex SHA-256 of a regular file's contents.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return "", err
	} else if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseSNNFile decodes and validates a converted-network file.
func parseSNNFile(data []byte) (*snnFile, error) {
	var f snnFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a quartz SNN file (JSON written by quartz convert): %w", err)
	}
	if f.Format != snnFormat || f.Version != 1 {
		return nil, fmt.Errorf("not a quartz SNN file (format %q version %d, want %q version 1)", f.Format, f.Version, snnFormat)
	}
	if f.Network == nil {
		return nil, errors.New("no network")
	}
	if err := f.Network.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}
