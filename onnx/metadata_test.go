package onnx

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
)

// linearModel is a one-node model: Linear 3 → 2.
func linearModel() *graph.Model {
	return &graph.Model{Name: "meta", InputShape: []int{3, 1, 1}, Nodes: []*graph.Node{
		{Name: "flat", Op: graph.Flatten},
		{Name: "fc", Op: graph.Linear, W: seq(6, 0.25), B: seq(2, 0.5), WShape: []int{2, 3}},
	}}
}

// TestMetadataRoundTrip: graph.Model.Metadata is written as ModelProto
// metadata_props (field 14, sorted by key) and read back unchanged; a
// model without metadata reads back with none.
func TestMetadataRoundTrip(t *testing.T) {
	for name, meta := range map[string]map[string]string{
		"none":    nil,
		"quartz":  {graph.MetaNormalized: "1", graph.MetaTmax: "4", "quartz.source_sha256": strings.Repeat("ab", 32)},
		"unicode": {"note": "Δt = ½ · T\nsecond line", "empty": ""},
	} {
		t.Run(name, func(t *testing.T) {
			m := linearModel()
			m.Metadata = meta
			om, err := FromGraph(m)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(om.MetadataProps); i++ {
				if om.MetadataProps[i-1].Key >= om.MetadataProps[i].Key {
					t.Errorf("metadata_props not sorted by key: %v", om.MetadataProps)
				}
			}
			b, err := Encode(om)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			g, _, err := Convert(back)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(g.Metadata, meta) || (meta == nil) != (g.Metadata == nil) {
				t.Errorf("metadata %v, want %v", g.Metadata, meta)
			}
			if g.Normalized() != (meta[graph.MetaNormalized] == "1") {
				t.Errorf("Normalized() = %v", g.Normalized())
			}
		})
	}
}

// TestMetadataBadEntry: a metadata entry that is not a
// StringStringEntryProto is an error naming it.
func TestMetadataBadEntry(t *testing.T) {
	b := msg(fVarint(fModelIRVersion, 7), fBytes(fModelMetadataProps, []byte{0x0a, 0x05, 'a'}))
	if _, err := Decode(b); err == nil || !strings.Contains(err.Error(), "metadata_props[0]") {
		t.Errorf("truncated entry: %v", err)
	}
}

// TestFromGraphRefusesQuant: the training-only fake quantization has no
// ONNX form; writing it is an error that says so.
func TestFromGraphRefusesQuant(t *testing.T) {
	m := linearModel()
	m.Nodes = append(m.Nodes, &graph.Node{Name: "q", Op: graph.Quant, Levels: 4, Min: 0, Max: 1})
	_, err := FromGraph(m)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "only while training") {
		t.Errorf("Quant: %v", err)
	}
}
