package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// msg builds a message from already-encoded fields.
func msg(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

func fBytes(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func fVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func TestDecodeSkipsUnknownFields(t *testing.T) {
	group := protowire.AppendTag(nil, 99, protowire.StartGroupType)
	group = append(group, fVarint(1, 5)...)
	group = protowire.AppendTag(group, 99, protowire.EndGroupType)
	fixed := protowire.AppendFixed64(protowire.AppendTag(nil, 50, protowire.Fixed64Type), 1)
	node := msg(fBytes(fNodeOpType, []byte("Relu")), fVarint(40, 1), fBytes(41, []byte("junk")), group, fixed)
	b := msg(fVarint(fModelIRVersion, 7), fBytes(fModelGraph, msg(fBytes(fGraphNode, node), fBytes(77, nil))), fBytes(15, []byte("meta")))
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.IRVersion != 7 || len(m.Graph.Node) != 1 || m.Graph.Node[0].OpType != "Relu" {
		t.Errorf("%+v", m)
	}
}

func TestDecodeUnpackedAndPacked(t *testing.T) {
	packed := protowire.AppendVarint(protowire.AppendVarint(nil, 2), 3)
	tensor := msg(fVarint(fTensorDims, 1), fBytes(fTensorDims, packed), fVarint(fTensorDataType, uint64(Float)),
		protowire.AppendFixed32(protowire.AppendTag(nil, fTensorFloatData, protowire.Fixed32Type), 0x3f800000))
	tt, err := DecodeTensor(tensor)
	if err != nil {
		t.Fatal(err)
	}
	if len(tt.Dims) != 3 || tt.Dims[2] != 3 || len(tt.FloatData) != 1 || tt.FloatData[0] != 1 {
		t.Errorf("%+v", tt)
	}
}

func TestDecodeErrors(t *testing.T) {
	relu := msg(fBytes(fNodeName, []byte("relu7")), fBytes(fNodeOpType, []byte("Relu")))
	graphOf := func(fields ...[]byte) []byte { return fBytes(fModelGraph, msg(fields...)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated varint", []byte{0x08, 0xff, 0xff}, "byte 0: field 1: unexpected EOF"},
		{"overlong varint", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...), "variable length integer overflow"},
		{"bad tag", []byte{0x00}, "bad field tag"},
		{"truncated bytes", []byte{0x3a, 0x10, 0x01}, "unexpected EOF"},
		{"wrong wire type", fBytes(fModelIRVersion, []byte("x")), "wrong wire type"},
		{"huge length", append([]byte{0x3a}, protowire.AppendVarint(nil, 1<<62)...), "unexpected EOF"},
		{"node error names node and offset", graphOf(fBytes(fGraphNode, msg(relu, []byte{0x28}))),
			`graph: node[0] "relu7": byte 17: field 5: unexpected EOF`},
		{"bad packed floats", graphOf(fBytes(fGraphInitializer, msg(fBytes(fTensorName, []byte("w")), fBytes(fTensorFloatData, []byte{1, 2, 3})))),
			`initializer[0] "w": byte 7: packed float field 4: length 3 is not a multiple of 4`},
		{"bad packed doubles", graphOf(fBytes(fGraphInitializer, fBytes(fTensorDoubleData, []byte{1}))), "not a multiple of 8"},
		{"bad packed varints", graphOf(fBytes(fGraphInitializer, fBytes(fTensorDims, []byte{0x80}))), "packed field 1"},
		{"bad dim", graphOf(fBytes(fGraphInput, msg(fBytes(fValueInfoName, []byte("x")),
			fBytes(fValueInfoType, fBytes(fTypeTensorType, fBytes(fTensorTypeShp, fBytes(fShapeDim, fBytes(fDimValue, nil)))))))),
			`input[0] "x": type: tensor_type: shape: dim[0]`},
		{"bad attribute", graphOf(fBytes(fGraphNode, fBytes(fNodeAttribute, msg(fBytes(fAttrName, []byte("pads")), fVarint(fAttrF, 1))))),
			`attribute[0] "pads"`},
		{"bad group", []byte{0x0b}, "unexpected EOF"},
		{"end group", []byte{0x0c}, "end group"},
	}
	for _, tt := range tests {
		_, err := Decode(tt.b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestReadTensorFile(t *testing.T) {
	b, err := EncodeTensor(&Tensor{Name: "t", DataType: Float16, Dims: []int64{2}, Int32Data: []int32{0x3c00, 0x4200}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "input_0.pb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dims, v, err := ReadTensor(path)
	if err != nil || len(dims) != 1 || dims[0] != 2 || len(v) != 2 || v[0] != 1 || v[1] != 3 {
		t.Errorf("%v %v %v", dims, v, err)
	}
	os.WriteFile(path, []byte{0x08}, 0o644)
	if _, _, err := ReadTensor(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name the file", err)
	}
}
