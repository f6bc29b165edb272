package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/quartz-snn/quartz/internal/atomicfile"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
	"github.com/quartz-snn/quartz/pipeline"
	"github.com/quartz-snn/quartz/snn"
)

func init() {
	register(&command{
		name:    "inspect",
		summary: "print a model's nodes, shapes, parameters, MACs and whether it converts to Quartz",
		run:     runInspect,
	})
}

func runInspect(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "inspect", "[flags] MODEL.onnx")
	model := fs.String("model", "", "model file (`FILE.onnx`); may also be given as the argument")
	output := fs.String("output", "", "the model's graph output `NAME` to use when it has several (default: the class scores)")
	var analog analogFlag
	fs.Var(&analog, "analog-first", "judge the conversion as convert does with this --analog-first (default auto)")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	path := *model
	switch {
	case path == "" && fs.NArg() == 1:
		path = fs.Arg(0)
	case path != "" && fs.NArg() == 0:
	default:
		fmt.Fprintln(e.stderr, "quartz inspect: give one model, as --model FILE.onnx or as the argument")
		fs.Usage()
		return errUsage
	}
	b, err := atomicfile.ReadFile(path, atomicfile.MaxModelSize)
	if err != nil {
		return err
	}
	om, err := onnx.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	m, notes, err := onnx.ConvertWith(om, onnx.Options{Dir: filepath.Dir(path), Output: *output})
	if err != nil {
		printNodes(e, path, om, err)
		return fmt.Errorf("%s: %w", path, err)
	}
	on, note := analog.resolve(m)
	if note != "" {
		notes = append(notes, note)
	}
	return inspectGraph(e, path, m, notes, on)
}

// inspectGraph prints the node table of m, read from path with the
// importer's notes, and returns the verdict of the conversion check: the
// check of convert itself (pipeline.CheckConvertible, with convert's
// defaults), so that inspect and convert always agree.
func inspectGraph(e *env, path string, m *graph.Model, notes []string, analogFirst bool) error {
	cerr := pipeline.CheckConvertible(m, pipeline.Config{AnalogFirst: analogFirst})
	printModel(e, path, m, cerr)
	for _, n := range notes {
		fmt.Fprintf(e.stdout, "note        %s\n", n)
	}
	if in := m.InputShape; len(in) == 3 && in[1] == 1 && in[2] == 1 && in[0] > 1 {
		fmt.Fprintf(e.stdout, "note        the model takes flat vectors of %d values: eval, convert, sweep and map feed it the images of a data set with C·H·W = %d, flattened\n", in[0], in[0])
	}
	if cerr != nil {
		return fmt.Errorf("%s: does not convert to Quartz: %w", path, cerr)
	}
	return nil
}

// printNodes lists the file's nodes when the import fails, marking the node
// the error names as unsupported with the reason.
func printNodes(e *env, path string, om *onnx.Model, cerr error) {
	w := e.stdout
	fmt.Fprintf(w, "model     %s\n", path)
	var opset int64
	for _, o := range om.OpsetImport {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			opset = o.Version
		}
	}
	fmt.Fprintf(w, "producer  %s (opset %d)\n\n", strings.TrimSpace(om.ProducerName+" "+om.ProducerVersion), opset)
	if om.Graph == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tnode\top\tquartz\t")
	msg := cerr.Error()
	for i, n := range om.Graph.Node {
		name := n.Name
		if name == "" && len(n.Output) > 0 {
			name = n.Output[0]
		}
		verdict := ""
		if name != "" && strings.Contains(msg, fmt.Sprintf("node %q (%s)", name, n.OpType)) {
			verdict = "unsupported: " + msg[strings.Index(msg, fmt.Sprintf("node %q", name)):]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", i, name, n.OpType, verdict)
	}
	tw.Flush()
}

// printModel prints the node table and the verdict of the conversion
// check, cerr (nil: the model converts). A model that is not a chain gets
// an inputs column.
func printModel(e *env, path string, m *graph.Model, cerr error) {
	w := e.stdout
	fmt.Fprintf(w, "model     %s\n", path)
	if m.Producer != "" || m.Opset != 0 {
		fmt.Fprintf(w, "producer  %s (opset %d)\n", m.Producer, m.Opset)
	}
	fmt.Fprintf(w, "input     %s %s\n\n", m.InputName, shapeString(m.InputShape))
	chain := m.IsChain()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if chain {
		fmt.Fprintln(tw, "#\tname\top\toutput\tparams\tMACs\tquartz\t")
	} else {
		fmt.Fprintln(tw, "#\tname\top\tinputs\toutput\tparams\tMACs\tquartz\t")
	}
	var ce *snn.ConvertError
	errors.As(cerr, &ce)
	for i, l := range m.Nodes {
		verdict := quartzVerdict(m, i)
		if ce != nil && ce.Name != "" && ce.Name == l.Name && l.Op.AnnOnly() == "" {
			verdict = "unsupported: " + ce.Msg
		}
		if chain {
			fmt.Fprintf(tw, "%d\t%s\t%v\t%s\t%d\t%d\t%s\t\n", i, l.Name, l.Op, shapeString(l.OutShape), l.Params(), l.MACs(), verdict)
		} else {
			fmt.Fprintf(tw, "%d\t%s\t%v\t%s\t%s\t%d\t%d\t%s\t\n", i, l.Name, l.Op, inputsString(m, i), shapeString(l.OutShape), l.Params(), l.MACs(), verdict)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nparameters  %d\nANN MACs    %d per sample\n", m.Params(), m.MACs())
	if cerr == nil {
		fmt.Fprintln(w, "quartz      every layer converts")
	} else {
		fmt.Fprintf(w, "quartz      does not convert: %v\n", cerr)
	}
}

// inputsString lists the inputs of node i by index ("in" for the model
// input).
func inputsString(m *graph.Model, i int) string {
	var parts []string
	for _, j := range m.InputsOf(i) {
		if j == graph.ModelInput {
			parts = append(parts, "in")
		} else {
			parts = append(parts, fmt.Sprint(j))
		}
	}
	return strings.Join(parts, ",")
}

// quartzVerdict says how node i takes part in a Quartz conversion, by its
// op and place alone; the conversion check (pipeline.CheckConvertible)
// decides, and the node it names is marked instead.
func quartzVerdict(m *graph.Model, i int) string {
	l := m.Nodes[i]
	if why := l.Op.AnnOnly(); why != "" {
		return "ANN only: " + why
	}
	ins := m.InputsOf(i)
	switch l.Op {
	case graph.Conv, graph.Linear, graph.ReLU, graph.MaxPool, graph.AvgPool, graph.GlobalAvgPool:
		return "converts"
	case graph.Add:
		return "converts: one spiking node, an input group per input"
	case graph.Concat:
		return "structure: its readers get an input group per input"
	case graph.BatchNorm:
		if j := ins[0]; j >= 0 && (m.Nodes[j].Op == graph.Conv || m.Nodes[j].Op == graph.Linear) {
			return "folded into " + m.Nodes[j].Name
		}
		return "unsupported: BatchNorm not after Conv/Linear (an Affine, not folded)"
	case graph.Dropout, graph.Flatten, graph.Reshape:
		return "structure"
	case graph.Clip:
		if l.Min == 0 {
			return "converts"
		}
		return "unsupported: Clip with min ≠ 0"
	case graph.Affine:
		if i == 0 && !l.PerElement() {
			return "input transform: converts only with --analog-first, before the first layer"
		}
		return "unsupported: Affine (x·scale + shift) other than a per-channel input transform"
	}
	return "unsupported"
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, "×") + "]"
}
