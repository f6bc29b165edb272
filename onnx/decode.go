package onnx

import (
	"fmt"
)

// Field numbers of the ONNX protobuf messages (onnx.proto).
const (
	fModelIRVersion       = 1
	fModelProducerName    = 2
	fModelProducerVersion = 3
	fModelDomain          = 4
	fModelModelVersion    = 5
	fModelDocString       = 6
	fModelGraph           = 7
	fModelOpsetImport     = 8
	fModelMetadataProps   = 14

	fOpsetDomain  = 1
	fOpsetVersion = 2

	fGraphNode        = 1
	fGraphName        = 2
	fGraphInitializer = 5
	fGraphDocString   = 10
	fGraphInput       = 11
	fGraphOutput      = 12
	fGraphValueInfo   = 13

	fNodeInput     = 1
	fNodeOutput    = 2
	fNodeName      = 3
	fNodeOpType    = 4
	fNodeAttribute = 5
	fNodeDocString = 6
	fNodeDomain    = 7

	fAttrName      = 1
	fAttrF         = 2
	fAttrI         = 3
	fAttrS         = 4
	fAttrT         = 5
	fAttrFloats    = 7
	fAttrInts      = 8
	fAttrStrings   = 9
	fAttrDocString = 13
	fAttrType      = 20

	fTensorDims         = 1
	fTensorDataType     = 2
	fTensorFloatData    = 4
	fTensorInt32Data    = 5
	fTensorInt64Data    = 7
	fTensorName         = 8
	fTensorRawData      = 9
	fTensorDoubleData   = 10
	fTensorDocString    = 12
	fTensorExternalData = 13
	fTensorDataLocation = 14

	fKvKey   = 1
	fKvValue = 2

	fValueInfoName      = 1
	fValueInfoType      = 2
	fValueInfoDocString = 3

	fTypeTensorType = 1
	fTensorTypeElem = 1
	fTensorTypeShp  = 2
	fShapeDim       = 1
	fDimValue       = 1
	fDimParam       = 2
)

// Decode parses a serialized ModelProto. Fields outside the subset described
// by Model are skipped. Tensor RawData slices alias b, so b must not be
// modified while the Model is in use. Errors name the message path and the
// byte offset where decoding failed.
func Decode(b []byte) (*Model, error) {
	m, err := decodeModel(&reader{b: b})
	if err != nil {
		return nil, fmt.Errorf("onnx: decode model: %w", err)
	}
	return m, nil
}

// DecodeTensor parses a serialized TensorProto, such as the input_N.pb and
// output_N.pb files of the ONNX backend tests. RawData aliases b.
func DecodeTensor(b []byte) (*Tensor, error) {
	t, err := decodeTensor(&reader{b: b})
	if err != nil {
		return nil, fmt.Errorf("onnx: decode tensor%s: %w", quoteName(t.Name), err)
	}
	return t, nil
}

func quoteName(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

func decodeModel(r *reader) (*Model, error) {
	m := &Model{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return m, err
		}
		switch f.num {
		case fModelIRVersion:
			m.IRVersion, err = f.int64()
		case fModelProducerName:
			m.ProducerName, err = f.str()
		case fModelProducerVersion:
			m.ProducerVersion, err = f.str()
		case fModelDomain:
			m.Domain, err = f.str()
		case fModelModelVersion:
			m.ModelVersion, err = f.int64()
		case fModelDocString:
			m.DocString, err = f.str()
		case fModelGraph:
			if err = f.want(bytesType); err == nil {
				m.Graph, err = decodeGraph(f.sub())
				if err != nil {
					err = fmt.Errorf("graph%s: %w", quoteName(m.Graph.Name), err)
				}
			}
		case fModelMetadataProps:
			if err = f.want(bytesType); err == nil {
				var kv KeyValue
				kv, err = decodeKeyValue(f.sub())
				if err != nil {
					err = fmt.Errorf("metadata_props[%d]: %w", len(m.MetadataProps), err)
				}
				m.MetadataProps = append(m.MetadataProps, kv)
			}
		case fModelOpsetImport:
			if err = f.want(bytesType); err == nil {
				var o OpsetID
				o, err = decodeOpset(f.sub())
				if err != nil {
					err = fmt.Errorf("opset_import[%d]: %w", len(m.OpsetImport), err)
				}
				m.OpsetImport = append(m.OpsetImport, o)
			}
		}
		if err != nil {
			return m, err
		}
	}
}

func decodeOpset(r *reader) (OpsetID, error) {
	var o OpsetID
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return o, err
		}
		switch f.num {
		case fOpsetDomain:
			o.Domain, err = f.str()
		case fOpsetVersion:
			o.Version, err = f.int64()
		}
		if err != nil {
			return o, err
		}
	}
}

func decodeGraph(r *reader) (*Graph, error) {
	g := &Graph{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return g, err
		}
		switch f.num {
		case fGraphNode:
			if err = f.want(bytesType); err == nil {
				var n *Node
				n, err = decodeNode(f.sub())
				if err != nil {
					err = fmt.Errorf("node[%d]%s: %w", len(g.Node), quoteName(n.Name), err)
				}
				g.Node = append(g.Node, n)
			}
		case fGraphName:
			g.Name, err = f.str()
		case fGraphInitializer:
			if err = f.want(bytesType); err == nil {
				var t *Tensor
				t, err = decodeTensor(f.sub())
				if err != nil {
					err = fmt.Errorf("initializer[%d]%s: %w", len(g.Initializer), quoteName(t.Name), err)
				}
				g.Initializer = append(g.Initializer, t)
			}
		case fGraphDocString:
			g.DocString, err = f.str()
		case fGraphInput, fGraphOutput, fGraphValueInfo:
			if err = f.want(bytesType); err == nil {
				var v *ValueInfo
				v, err = decodeValueInfo(f.sub())
				list := &g.Input
				what := "input"
				if f.num == fGraphOutput {
					list, what = &g.Output, "output"
				} else if f.num == fGraphValueInfo {
					list, what = &g.ValueInfo, "value_info"
				}
				if err != nil {
					err = fmt.Errorf("%s[%d]%s: %w", what, len(*list), quoteName(v.Name), err)
				}
				*list = append(*list, v)
			}
		}
		if err != nil {
			return g, err
		}
	}
}

func decodeNode(r *reader) (*Node, error) {
	n := &Node{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return n, err
		}
		var s string
		switch f.num {
		case fNodeInput:
			s, err = f.str()
			n.Input = append(n.Input, s)
		case fNodeOutput:
			s, err = f.str()
			n.Output = append(n.Output, s)
		case fNodeName:
			n.Name, err = f.str()
		case fNodeOpType:
			n.OpType, err = f.str()
		case fNodeDomain:
			n.Domain, err = f.str()
		case fNodeDocString:
			n.DocString, err = f.str()
		case fNodeAttribute:
			if err = f.want(bytesType); err == nil {
				var a *Attribute
				a, err = decodeAttribute(f.sub())
				if err != nil {
					err = fmt.Errorf("attribute[%d]%s: %w", len(n.Attribute), quoteName(a.Name), err)
				}
				n.Attribute = append(n.Attribute, a)
			}
		}
		if err != nil {
			return n, err
		}
	}
}

func decodeAttribute(r *reader) (*Attribute, error) {
	a := &Attribute{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return a, err
		}
		switch f.num {
		case fAttrName:
			a.Name, err = f.str()
		case fAttrType:
			var t int32
			t, err = f.int32()
			a.Type = AttrType(t)
		case fAttrF:
			a.F, err = f.float32()
		case fAttrI:
			a.I, err = f.int64()
		case fAttrS:
			var b []byte
			b, err = f.bytes()
			a.S = append([]byte(nil), b...)
		case fAttrT:
			if err = f.want(bytesType); err == nil {
				a.T, err = decodeTensor(f.sub())
				if err != nil {
					err = fmt.Errorf("tensor%s: %w", quoteName(a.T.Name), err)
				}
			}
		case fAttrFloats:
			a.Floats, err = appendFloats(a.Floats, f)
		case fAttrInts:
			a.Ints, err = appendVarints(a.Ints, f)
		case fAttrStrings:
			var b []byte
			b, err = f.bytes()
			a.Strings = append(a.Strings, append([]byte(nil), b...))
		case fAttrDocString:
			a.DocString, err = f.str()
		}
		if err != nil {
			return a, err
		}
	}
}

func decodeTensor(r *reader) (*Tensor, error) {
	t := &Tensor{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return t, err
		}
		switch f.num {
		case fTensorDims:
			t.Dims, err = appendVarints(t.Dims, f)
		case fTensorDataType:
			var v int32
			v, err = f.int32()
			t.DataType = DataType(v)
		case fTensorFloatData:
			t.FloatData, err = appendFloats(t.FloatData, f)
		case fTensorInt32Data:
			t.Int32Data, err = appendVarints(t.Int32Data, f)
		case fTensorInt64Data:
			t.Int64Data, err = appendVarints(t.Int64Data, f)
		case fTensorDoubleData:
			t.DoubleData, err = appendDoubles(t.DoubleData, f)
		case fTensorName:
			t.Name, err = f.str()
		case fTensorRawData:
			t.RawData, err = f.bytes()
		case fTensorDocString:
			t.DocString, err = f.str()
		case fTensorDataLocation:
			t.DataLocation, err = f.int32()
		case fTensorExternalData:
			if err = f.want(bytesType); err == nil {
				var kv KeyValue
				kv, err = decodeKeyValue(f.sub())
				t.ExternalData = append(t.ExternalData, kv)
			}
		}
		if err != nil {
			return t, err
		}
	}
}

func decodeKeyValue(r *reader) (KeyValue, error) {
	var kv KeyValue
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return kv, err
		}
		switch f.num {
		case fKvKey:
			kv.Key, err = f.str()
		case fKvValue:
			kv.Value, err = f.str()
		}
		if err != nil {
			return kv, err
		}
	}
}

func decodeValueInfo(r *reader) (*ValueInfo, error) {
	v := &ValueInfo{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return v, err
		}
		switch f.num {
		case fValueInfoName:
			v.Name, err = f.str()
		case fValueInfoDocString:
			v.DocString, err = f.str()
		case fValueInfoType:
			if err = f.want(bytesType); err == nil {
				v.Type, err = decodeType(f.sub())
				if err != nil {
					err = fmt.Errorf("type: %w", err)
				}
			}
		}
		if err != nil {
			return v, err
		}
	}
}

// decodeType reads a TypeProto and returns its tensor type, or nil when the
// value is not a tensor (sequence, map, optional).
func decodeType(r *reader) (*TensorType, error) {
	var tt *TensorType
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return tt, err
		}
		if f.num != fTypeTensorType {
			continue
		}
		if err := f.want(bytesType); err != nil {
			return tt, err
		}
		tt, err = decodeTensorType(f.sub())
		if err != nil {
			return tt, fmt.Errorf("tensor_type: %w", err)
		}
	}
}

func decodeTensorType(r *reader) (*TensorType, error) {
	tt := &TensorType{}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return tt, err
		}
		switch f.num {
		case fTensorTypeElem:
			var v int32
			v, err = f.int32()
			tt.ElemType = DataType(v)
		case fTensorTypeShp:
			if err = f.want(bytesType); err == nil {
				tt.HasShape = true
				tt.Shape, err = decodeShape(tt.Shape, f.sub())
				if err != nil {
					err = fmt.Errorf("shape: %w", err)
				}
			}
		}
		if err != nil {
			return tt, err
		}
	}
}

func decodeShape(dims []Dim, r *reader) ([]Dim, error) {
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return dims, err
		}
		if f.num != fShapeDim {
			continue
		}
		if err := f.want(bytesType); err != nil {
			return dims, err
		}
		d, err := decodeDim(f.sub())
		if err != nil {
			return dims, fmt.Errorf("dim[%d]: %w", len(dims), err)
		}
		dims = append(dims, d)
	}
}

func decodeDim(r *reader) (Dim, error) {
	var d Dim
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return d, err
		}
		switch f.num {
		case fDimValue:
			d.Value, err = f.int64()
			d.HasValue = true
		case fDimParam:
			d.Param, err = f.str()
		}
		if err != nil {
			return d, err
		}
	}
}
