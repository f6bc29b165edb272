package onnx

import (
	"errors"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Encode serializes m as a ModelProto. Repeated numeric tensor fields are
// written packed; dims and attribute lists unpacked, as the reference ONNX
// implementation does. Zero-valued scalar fields are omitted.
func Encode(m *Model) ([]byte, error) {
	if m == nil {
		return nil, errors.New("onnx: encode: nil model")
	}
	var b []byte
	b = appendInt(b, fModelIRVersion, m.IRVersion)
	b = appendStr(b, fModelProducerName, m.ProducerName)
	b = appendStr(b, fModelProducerVersion, m.ProducerVersion)
	b = appendStr(b, fModelDomain, m.Domain)
	b = appendInt(b, fModelModelVersion, m.ModelVersion)
	b = appendStr(b, fModelDocString, m.DocString)
	if m.Graph != nil {
		b = appendMsg(b, fModelGraph, encodeGraph(nil, m.Graph))
	}
	for _, o := range m.OpsetImport {
		var ob []byte
		ob = appendStr(ob, fOpsetDomain, o.Domain)
		// The version is always written: 0 is not a meaningful default.
		ob = protowire.AppendTag(ob, fOpsetVersion, protowire.VarintType)
		ob = protowire.AppendVarint(ob, uint64(o.Version))
		b = appendMsg(b, fModelOpsetImport, ob)
	}
	for _, kv := range m.MetadataProps {
		var kb []byte
		kb = appendStr(kb, fKvKey, kv.Key)
		kb = appendStr(kb, fKvValue, kv.Value)
		b = appendMsg(b, fModelMetadataProps, kb)
	}
	return b, nil
}

// EncodeTensor serializes t as a TensorProto.
func EncodeTensor(t *Tensor) ([]byte, error) {
	if t == nil {
		return nil, errors.New("onnx: encode: nil tensor")
	}
	return encodeTensor(nil, t), nil
}

func appendStr(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendMsg(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func encodeGraph(b []byte, g *Graph) []byte {
	for _, n := range g.Node {
		if n != nil {
			b = appendMsg(b, fGraphNode, encodeNode(nil, n))
		}
	}
	b = appendStr(b, fGraphName, g.Name)
	for _, t := range g.Initializer {
		if t != nil {
			b = appendMsg(b, fGraphInitializer, encodeTensor(nil, t))
		}
	}
	b = appendStr(b, fGraphDocString, g.DocString)
	for _, l := range []struct {
		num  protowire.Number
		list []*ValueInfo
	}{{fGraphInput, g.Input}, {fGraphOutput, g.Output}, {fGraphValueInfo, g.ValueInfo}} {
		for _, v := range l.list {
			if v != nil {
				b = appendMsg(b, l.num, encodeValueInfo(nil, v))
			}
		}
	}
	return b
}

func encodeNode(b []byte, n *Node) []byte {
	for _, s := range n.Input {
		b = protowire.AppendTag(b, fNodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Output {
		b = protowire.AppendTag(b, fNodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendStr(b, fNodeName, n.Name)
	b = appendStr(b, fNodeOpType, n.OpType)
	for _, a := range n.Attribute {
		if a != nil {
			b = appendMsg(b, fNodeAttribute, encodeAttribute(nil, a))
		}
	}
	b = appendStr(b, fNodeDocString, n.DocString)
	b = appendStr(b, fNodeDomain, n.Domain)
	return b
}

func encodeAttribute(b []byte, a *Attribute) []byte {
	b = appendStr(b, fAttrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, fAttrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, fAttrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, fAttrS, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMsg(b, fAttrT, encodeTensor(nil, a.T))
		}
	case AttrFloats:
		for _, v := range a.Floats {
			b = protowire.AppendTag(b, fAttrFloats, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(v))
		}
	case AttrInts:
		for _, v := range a.Ints {
			b = protowire.AppendTag(b, fAttrInts, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, fAttrStrings, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = appendStr(b, fAttrDocString, a.DocString)
	b = appendInt(b, fAttrType, int64(a.Type))
	return b
}

func encodeTensor(b []byte, t *Tensor) []byte {
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, fTensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = appendInt(b, fTensorDataType, int64(t.DataType))
	if len(t.FloatData) > 0 {
		p := make([]byte, 0, 4*len(t.FloatData))
		for _, v := range t.FloatData {
			p = protowire.AppendFixed32(p, math.Float32bits(v))
		}
		b = appendMsg(b, fTensorFloatData, p)
	}
	if len(t.Int32Data) > 0 {
		var p []byte
		for _, v := range t.Int32Data {
			p = protowire.AppendVarint(p, uint64(int64(v)))
		}
		b = appendMsg(b, fTensorInt32Data, p)
	}
	if len(t.Int64Data) > 0 {
		var p []byte
		for _, v := range t.Int64Data {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMsg(b, fTensorInt64Data, p)
	}
	b = appendStr(b, fTensorName, t.Name)
	if len(t.RawData) > 0 {
		b = protowire.AppendTag(b, fTensorRawData, protowire.BytesType)
		b = protowire.AppendBytes(b, t.RawData)
	}
	if len(t.DoubleData) > 0 {
		p := make([]byte, 0, 8*len(t.DoubleData))
		for _, v := range t.DoubleData {
			p = protowire.AppendFixed64(p, math.Float64bits(v))
		}
		b = appendMsg(b, fTensorDoubleData, p)
	}
	b = appendStr(b, fTensorDocString, t.DocString)
	for _, kv := range t.ExternalData {
		var kb []byte
		kb = appendStr(kb, fKvKey, kv.Key)
		kb = appendStr(kb, fKvValue, kv.Value)
		b = appendMsg(b, fTensorExternalData, kb)
	}
	b = appendInt(b, fTensorDataLocation, int64(t.DataLocation))
	return b
}

func encodeValueInfo(b []byte, v *ValueInfo) []byte {
	b = appendStr(b, fValueInfoName, v.Name)
	if v.Type != nil {
		var tt []byte
		tt = appendInt(tt, fTensorTypeElem, int64(v.Type.ElemType))
		if v.Type.HasShape || len(v.Type.Shape) > 0 {
			var sb []byte
			for _, d := range v.Type.Shape {
				var db []byte
				if d.HasValue || d.Value != 0 {
					db = protowire.AppendTag(db, fDimValue, protowire.VarintType)
					db = protowire.AppendVarint(db, uint64(d.Value))
				}
				db = appendStr(db, fDimParam, d.Param)
				sb = appendMsg(sb, fShapeDim, db)
			}
			tt = appendMsg(tt, fTensorTypeShp, sb)
		}
		b = appendMsg(b, fValueInfoType, appendMsg(nil, fTypeTensorType, tt))
	}
	b = appendStr(b, fValueInfoDocString, v.DocString)
	return b
}
