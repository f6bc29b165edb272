package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// withMeta returns m with metadata_props kv.
func withMeta(m *Model, kv ...KeyValue) *Model {
	m.MetadataProps = kv
	return m
}

func fuzzSeeds(f *testing.F) {
	for _, m := range []*Model{
		convNet(13, intsAttr("pads", 1, 1, 1, 1)).done(),
		newBuilder(13, 3).init("w", []int64{3, 2}, 1, 2, 3, 4, 5, 6).node("MatMul", "mm", []string{"x", "w"}).
			init("b", []int64{2}, 1, 2).node("Add", "a", []string{"mm", "b"}).node("Softmax", "s", []string{"a"}).done(),
		newBuilder(11, 1, 4, 4).init("lo", nil, 0).init("hi", nil, 6).node("Clip", "c", []string{"x", "lo", "hi"}).
			node("MaxPool", "p", []string{"c"}, intsAttr("kernel_shape", 2, 2), sAttr("auto_pad", "SAME_UPPER")).
			initInt("s", 0, -1).node("Reshape", "r", []string{"p", "s"}).done(),
		// DAGs: a residual Add, a Concat of two branches, a Mul of
		// activations.
		newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).node("Add", "a", []string{"r", "x"}).done(),
		newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).node("Sigmoid", "s", []string{"x"}).
			node("Concat", "cat", []string{"s", "r"}, intAttr("axis", 1)).node("Mul", "m", []string{"cat", "cat"}).done(),
		// Folding: a flatten whose shape is computed from Shape/Gather.
		newBuilder(13, 2, 2, 2).node("Shape", "sh", []string{"x"}).initInt("i0", 0).
			node("Gather", "n", []string{"sh", "i0"}, intAttr("axis", 0)).node("Unsqueeze", "u", []string{"n", "i0"}).
			initInt("m1", -1).node("Concat", "s", []string{"u", "m1"}, intAttr("axis", 0)).
			node("Reshape", "r", []string{"x", "s"}).node("Softmax", "sm", []string{"r"}).done(),
		// NHWC input, LayerNormalization, a constant Affine.
		newBuilder(13, 4, 4, 2).node("Transpose", "t", []string{"x"}, intsAttr("perm", 0, 3, 1, 2)).
			init("k", []int64{2, 1, 1}, 2, 3).node("Mul", "m", []string{"t", "k"}).node("Tanh", "th", []string{"m"}).done(),
		newBuilder(17, 4).init("g", []int64{4}, 1, 2, 3, 4).node("LayerNormalization", "ln", []string{"x", "g"}).done(),
		// Metadata (quartz finetune's marks).
		withMeta(newBuilder(13, 1, 2, 2).node("Relu", "r", []string{"x"}).done(), KeyValue{"quartz.normalized", "1"}, KeyValue{"quartz.tmax", "4"}),
	} {
		b, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, opt := range []WriteOptions{{}, {Float16: true}} {
		if om, err := FromGraphWith(testNet(), opt); err == nil {
			b, _ := Encode(om)
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	// The real-world corpus, where present: the smaller files only, so
	// that mutation stays fast (the structure is the same in the others).
	paths, _ := filepath.Glob("../../shared/data/onnx-realworld/*/model.onnx")
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Size() <= 64<<10 {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// survives an Encode/Decode round trip.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(enc); err != nil {
			t.Fatalf("re-decoding encoded model: %v", err)
		}
		if m.Graph != nil {
			for _, tn := range m.Graph.Initializer {
				tn.Float32s()
				tn.Int64s()
			}
		}
	})
}

// FuzzConvert checks that conversion never panics, that every model it
// accepts has consistent shapes, and that the graph can be written back
// (or is refused as unsupported) and converted again.
func FuzzConvert(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// No input may take long: a hang or a huge fold is a defect too.
		tm := time.AfterFunc(10*time.Second, func() { panic("FuzzConvert: one input ran over 10 s") })
		defer tm.Stop()
		m, err := Decode(b)
		if err != nil {
			return
		}
		t0 := time.Now()
		g, _, err := ConvertWith(m, Options{Dir: t.TempDir()})
		if d := time.Since(t0); d > 3*time.Second {
			t.Fatalf("slow convert: %v", d)
		}
		if err != nil {
			return
		}
		if len(g.Nodes) == 0 {
			t.Fatal("converted model has no nodes")
		}
		if err := g.Clone().InferShapes(); err != nil {
			t.Fatalf("converted model: %v", err)
		}
		om, err := FromGraph(g)
		if errors.Is(err, ErrUnsupported) {
			return
		}
		if err != nil {
			t.Fatalf("FromGraph of a converted model: %v", err)
		}
		if _, err := ToGraph(om); err != nil {
			t.Fatalf("converting a written model: %v", err)
		}
	})
}
