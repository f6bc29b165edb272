package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quartz-snn/quartz/internal/atomicfile"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/report"
	"github.com/quartz-snn/quartz/shard"
	"github.com/quartz-snn/quartz/sweep"
)

func init() {
	register(&command{
		name:    "merge",
		summary: "merge the parts of a sharded eval or sweep (--shard i/n) into the files of the unsharded run",
		run:     runMerge,
	})
}

func runMerge(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "merge", "PART.json|DIR … -o DIR")
	out := fs.String("o", "", "output `DIR` (required; new or empty)")
	// Flags may come after the parts: parse, take a part, parse the rest.
	var args0 []string
	for {
		if err := parse(fs, args, 1<<30); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		args0 = append(args0, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(args0) == 0 || *out == "" {
		fmt.Fprintln(e.stderr, "quartz merge: part files (or folders of them) and -o are required")
		fs.Usage()
		return errUsage
	}
	names, err := partNames(args0)
	if err != nil {
		return err
	}
	parts := make([]*partFile, len(names))
	hs := make([]shard.Header, len(names))
	for i, n := range names {
		if parts[i], err = readPart(n); err != nil {
			return err
		}
		hs[i] = parts[i].Header
	}
	order, err := shard.Check(names, hs)
	if err != nil {
		return err
	}
	if err := checkMergeDir(*out); err != nil {
		return err
	}
	id := hs[0].Identity
	switch id.Kind {
	case "eval":
		ps := make([]*pipeline.Part, len(order))
		for k, i := range order {
			ps[k] = parts[i].Eval
		}
		res, err := pipeline.MergeParts(ps, true)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Dir(names[0]), err)
		}
		return writeMergedEval(e, *out, res, len(order))
	case "sweep":
		ps := make([]*sweep.Partial, len(order))
		for k, i := range order {
			ps[k] = parts[i].Sweep
		}
		res, err := sweep.MergeShards(*out, ps)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Dir(names[0]), err)
		}
		if err := report.SweepText(e.stdout, res); err != nil {
			return err
		}
		md, err := writeSweepMarkdown(*out, res)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nmerged %d parts: %d points; wrote %s, %s and %s\n", len(order), len(res.Points),
			filepath.Join(*out, "results.csv"), filepath.Join(*out, "results.json"), md)
		return nil
	}
	return errors.New("unknown part kind") // Valid refused it
}

// writeMergedEval writes a merged evaluation: DIR/result.json (what eval
// --json prints), DIR/report.txt (eval's summary) and DIR/report.md (eval
// --report), and prints the summary.
func writeMergedEval(e *env, dir string, res *pipeline.Result, n int) error {
	var js, txt bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	if err := report.Text(&txt, res); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-o %s: %v", dir, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "result.json"), js.Bytes()); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "report.txt"), txt.Bytes()); err != nil {
		return err
	}
	md := filepath.Join(dir, "report.md")
	if err := writeMarkdown(md, res); err != nil {
		return err
	}
	if _, err := e.stdout.Write(txt.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nmerged %d parts; wrote %s, %s and %s\n", n,
		filepath.Join(dir, "result.json"), filepath.Join(dir, "report.txt"), md)
	return nil
}
