package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

func init() {
	register(&command{
		name:    "inspect",
		summary: "print a model's layers, shapes, parameters, MACs and whether each layer converts to Quartz",
		run:     runInspect,
	})
}

func runInspect(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "inspect", "[flags] MODEL.onnx")
	model := fs.String("model", "", "model file (`FILE.onnx`); may also be given as the argument")
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
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	om, err := onnx.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	m, notes, err := onnx.Convert(om)
	if err != nil {
		printNodes(e, path, om, err)
		return fmt.Errorf("%s: %w", path, err)
	}
	ok := printModel(e, path, m)
	for _, n := range notes {
		fmt.Fprintf(e.stdout, "note        %s\n", n)
	}
	if !ok {
		return fmt.Errorf("%s: some layers do not convert to Quartz (see the table)", path)
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

// printModel prints the layer table and reports whether every layer
// converts.
func printModel(e *env, path string, m *graph.Model) bool {
	w := e.stdout
	fmt.Fprintf(w, "model     %s\n", path)
	if m.Producer != "" || m.Opset != 0 {
		fmt.Fprintf(w, "producer  %s (opset %d)\n", m.Producer, m.Opset)
	}
	fmt.Fprintf(w, "input     %s %s\n\n", m.InputName, shapeString(m.InputShape))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tname\top\toutput\tparams\tMACs\tquartz\t")
	all := true
	for i, l := range m.Nodes {
		verdict := quartzVerdict(m, i)
		if verdict != "converts" && !strings.HasPrefix(verdict, "folded") && verdict != "structure" {
			all = false
		}
		fmt.Fprintf(tw, "%d\t%s\t%v\t%s\t%d\t%d\t%s\t\n", i, l.Name, l.Op, shapeString(l.OutShape), l.Params(), l.MACs(), verdict)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nparameters  %d\nANN MACs    %d per sample\n", m.Params(), m.MACs())
	if all {
		fmt.Fprintln(w, "quartz      every layer converts")
	}
	return all
}

// quartzVerdict says how layer i takes part in a Quartz conversion.
func quartzVerdict(m *graph.Model, i int) string {
	l := m.Nodes[i]
	switch l.Op {
	case graph.Conv, graph.Linear, graph.ReLU, graph.MaxPool, graph.AvgPool, graph.GlobalAvgPool:
		return "converts"
	case graph.BatchNorm:
		if i > 0 && (m.Nodes[i-1].Op == graph.Conv || m.Nodes[i-1].Op == graph.Linear) {
			return "folded into " + m.Nodes[i-1].Name
		}
		return "unsupported: BatchNorm not after Conv/Linear"
	case graph.Dropout, graph.Flatten:
		return "structure"
	case graph.Clip:
		if l.Min == 0 {
			return "converts"
		}
		return "ANN only: Clip with min ≠ 0"
	case graph.LeakyReLU:
		return "ANN only: LeakyReLU (negative slope) has no Quartz equivalent"
	case graph.Affine:
		// Not in ONNX files (quartz reads none and writes none); it comes
		// from --input-mean on a padded first conv.
		return "input transform: converts only with --analog-first, before the first layer"
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
