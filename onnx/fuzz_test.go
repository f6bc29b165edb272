package onnx

import "testing"

func fuzzSeeds(f *testing.F) {
	for _, m := range []*Model{
		convNet(13, intsAttr("pads", 1, 1, 1, 1)).done(),
		newBuilder(13, 3).init("w", []int64{3, 2}, 1, 2, 3, 4, 5, 6).node("MatMul", "mm", []string{"x", "w"}).
			init("b", []int64{2}, 1, 2).node("Add", "a", []string{"mm", "b"}).node("Softmax", "s", []string{"a"}).done(),
		newBuilder(11, 1, 4, 4).init("lo", nil, 0).init("hi", nil, 6).node("Clip", "c", []string{"x", "lo", "hi"}).
			node("MaxPool", "p", []string{"c"}, intsAttr("kernel_shape", 2, 2), sAttr("auto_pad", "SAME_UPPER")).
			initInt("s", 0, -1).node("Reshape", "r", []string{"p", "s"}).done(),
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

// FuzzToGraph checks that conversion never panics and that every model it
// accepts can be written back and converted again.
func FuzzToGraph(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		g, err := ToGraph(m)
		if err != nil {
			return
		}
		om, err := FromGraph(g)
		if err != nil {
			t.Fatalf("FromGraph of a converted model: %v", err)
		}
		if _, err := ToGraph(om); err != nil {
			t.Fatalf("converting a written model: %v", err)
		}
	})
}
