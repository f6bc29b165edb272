package onnx_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/onnx"
)

// fixtureOpsets are the opsets tools/export_fixtures.py exports every
// fixture at.
var fixtureOpsets = []string{"opset9", "opset13", "opset17"}

// TestFixturesDAG checks the structure of the imported branching fixtures
// (TestFixtures checks their outputs): resnet_block must keep its two
// residual Adds and concat_net its Concat of two branches, each reading two
// different nodes, with the graph forking where a branch starts. A
// regression that flattens them into a chain fails here even if it happened
// to compute the right numbers.
func TestFixturesDAG(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   graph.Op
		// nodes of op op with two distinct inputs, and nodes whose output
		// is read by two or more nodes (forks), at least.
		joins, forks int
		// channels out of the join nearest the output.
		channels int
	}{
		// Two basic blocks: the stem's output forks into block 1's conv
		// and its identity shortcut; block 1's output into block 2's conv
		// and its 1x1 projection.
		{name: "resnet_block", op: graph.Add, joins: 2, forks: 2, channels: 16},
		// One fork into the 1x1 branch and the 3x3→relu→3x3 branch:
		// 4 + 6 channels.
		{name: "concat_net", op: graph.Concat, joins: 1, forks: 1, channels: 10},
	} {
		for _, opset := range fixtureOpsets {
			t.Run(tc.name+"/"+opset, func(t *testing.T) {
				path := filepath.Join("..", "testdata", "onnx", tc.name, opset+".onnx")
				g, _, err := onnx.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				if g.IsChain() {
					t.Fatalf("imported as a chain:\n%s", describeNodes(g))
				}
				if err := g.CheckChain(); !errors.Is(err, graph.ErrBranching) {
					t.Fatalf("CheckChain = %v, want ErrBranching", err)
				}
				joins, last := 0, -1
				for i := range g.Nodes {
					l := g.Nodes[i]
					if l.Op != tc.op {
						continue
					}
					in := g.InputsOf(i)
					if len(in) != 2 || in[0] == in[1] {
						t.Errorf("node %d %q (%v) reads %v, want two different nodes", i, l.Name, l.Op, in)
						continue
					}
					joins++
					last = i
				}
				if joins < tc.joins {
					t.Fatalf("%d %v nodes with two inputs, want %d:\n%s", joins, tc.op, tc.joins, describeNodes(g))
				}
				if got := g.Nodes[last].OutShape; len(got) == 0 || got[0] != tc.channels {
					t.Errorf("last %v node: output shape %v, want %d channels", tc.op, got, tc.channels)
				}
				forks := 0
				for _, c := range g.Consumers() {
					if len(c) >= 2 {
						forks++
					}
				}
				if forks < tc.forks {
					t.Errorf("%d nodes read by two or more nodes, want %d:\n%s", forks, tc.forks, describeNodes(g))
				}
			})
		}
	}
}

func describeNodes(g *graph.Model) string {
	var b strings.Builder
	for i, l := range g.Nodes {
		b.WriteString("  ")
		b.WriteString(l.Op.String())
		b.WriteString(" ")
		b.WriteString(l.Name)
		b.WriteString(" <- ")
		for k, j := range g.InputsOf(i) {
			if k > 0 {
				b.WriteString(", ")
			}
			if j == graph.ModelInput {
				b.WriteString("input")
			} else {
				b.WriteString(g.Nodes[j].Name)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestFixturesExternalData checks that extdata_net really keeps its weights
// outside the model files: every initializer of opsetNN.onnx is external
// and names opsetNN.weights.bin, and the model does not import without
// that folder (TestFixtures checks it imports and matches with it).
func TestFixturesExternalData(t *testing.T) {
	dir := filepath.Join("..", "testdata", "onnx", "extdata_net")
	for _, opset := range fixtureOpsets {
		t.Run(opset, func(t *testing.T) {
			path := filepath.Join(dir, opset+".onnx")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnx.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Graph.Initializer) == 0 {
				t.Fatal("no initializers")
			}
			want := opset + ".weights.bin"
			for _, init := range m.Graph.Initializer {
				loc := ""
				for _, kv := range init.ExternalData {
					if kv.Key == "location" {
						loc = kv.Value
					}
				}
				if init.DataLocation != 1 || loc != want || len(init.RawData) != 0 {
					t.Errorf("initializer %q: data location %d, location %q, %d raw bytes; want external in %q",
						init.Name, init.DataLocation, loc, len(init.RawData), want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
				t.Fatal(err)
			}
			// Read from an empty folder, the weights are missing.
			_, _, err = onnx.LoadWith(path, onnx.Options{Dir: t.TempDir()})
			if !errors.Is(err, onnx.ErrExternalData) && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("loaded without its weights file: err = %v", err)
			}
		})
	}
}
