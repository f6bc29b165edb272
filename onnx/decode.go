package onnx

import (
	"fmt"
)

// Field numbers of the ONNX protobuf messages (onnx.proto).
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDomain          = 4
	modelModelVersion    = 5
	modelDocString       = 6
	modelGraph           = 7
	modelOpsetImport     = 8

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphDocString   = 10
	graphInput       = 11
	graphOutput      = 12
	graphValueInfo   = 13

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDocString = 6
	nodeDomain    = 7

	attrName      = 1
	attrF         = 2
	attrI         = 3
	attrS         = 4
	attrT         = 5
	attrFloats    = 7
	attrInts      = 8
	attrStrings   = 9
	attrDocString = 13
	attrType      = 20

	tensorDims         = 1
	tensorDataType     = 2
	tensorFloatData    = 4
	tensorInt32Data    = 5
	tensorInt64Data    = 7
	tensorName         = 8
	tensorRawData      = 9
	tensorDoubleData   = 10
	tensorDocString    = 12
	tensorExternalData = 13
	tensorDataLocation = 14

	kvKey   = 1
	kvValue = 2

	valueInfoName      = 1
	valueInfoType      = 2
	valueInfoDocString = 3

	typeTensorType = 1
	tensorTypeElem = 1
	tensorTypeShp  = 2
	shapeDim       = 1
	dimValue       = 1
	dimParam       = 2
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
		case modelIRVersion:
			m.IRVersion, err = f.int64()
		case modelProducerName:
			m.ProducerName, err = f.str()
		case modelProducerVersion:
			m.ProducerVersion, err = f.str()
		case modelDomain:
			m.Domain, err = f.str()
		case modelModelVersion:
			m.ModelVersion, err = f.int64()
		case modelDocString:
			m.DocString, err = f.str()
		case modelGraph:
			if err = f.want(bytesType); err == nil {
				m.Graph, err = decodeGraph(f.sub())
				if err != nil {
					err = fmt.Errorf("graph%s: %w", quoteName(m.Graph.Name), err)
				}
			}
		case modelOpsetImport:
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
		case opsetDomain:
			o.Domain, err = f.str()
		case opsetVersion:
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
		case graphNode:
			if err = f.want(bytesType); err == nil {
				var n *Node
				n, err = decodeNode(f.sub())
				if err != nil {
					err = fmt.Errorf("node[%d]%s: %w", len(g.Node), quoteName(n.Name), err)
				}
				g.Node = append(g.Node, n)
			}
		case graphName:
			g.Name, err = f.str()
		case graphInitializer:
			if err = f.want(bytesType); err == nil {
				var t *Tensor
				t, err = decodeTensor(f.sub())
				if err != nil {
					err = fmt.Errorf("initializer[%d]%s: %w", len(g.Initializer), quoteName(t.Name), err)
				}
				g.Initializer = append(g.Initializer, t)
			}
		case graphDocString:
			g.DocString, err = f.str()
		case graphInput, graphOutput, graphValueInfo:
			if err = f.want(bytesType); err == nil {
				var v *ValueInfo
				v, err = decodeValueInfo(f.sub())
				list := &g.Input
				what := "input"
				if f.num == graphOutput {
					list, what = &g.Output, "output"
				} else if f.num == graphValueInfo {
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
		case nodeInput:
			s, err = f.str()
			n.Input = append(n.Input, s)
		case nodeOutput:
			s, err = f.str()
			n.Output = append(n.Output, s)
		case nodeName:
			n.Name, err = f.str()
		case nodeOpType:
			n.OpType, err = f.str()
		case nodeDomain:
			n.Domain, err = f.str()
		case nodeDocString:
			n.DocString, err = f.str()
		case nodeAttribute:
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
		case attrName:
			a.Name, err = f.str()
		case attrType:
			var t int32
			t, err = f.int32()
			a.Type = AttrType(t)
		case attrF:
			a.F, err = f.float32()
		case attrI:
			a.I, err = f.int64()
		case attrS:
			var b []byte
			b, err = f.bytes()
			a.S = append([]byte(nil), b...)
		case attrT:
			if err = f.want(bytesType); err == nil {
				a.T, err = decodeTensor(f.sub())
				if err != nil {
					err = fmt.Errorf("tensor%s: %w", quoteName(a.T.Name), err)
				}
			}
		case attrFloats:
			a.Floats, err = appendFloats(a.Floats, f)
		case attrInts:
			a.Ints, err = appendVarints(a.Ints, f)
		case attrStrings:
			var b []byte
			b, err = f.bytes()
			a.Strings = append(a.Strings, append([]byte(nil), b...))
		case attrDocString:
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
		case tensorDims:
			t.Dims, err = appendVarints(t.Dims, f)
		case tensorDataType:
			var v int32
			v, err = f.int32()
			t.DataType = DataType(v)
		case tensorFloatData:
			t.FloatData, err = appendFloats(t.FloatData, f)
		case tensorInt32Data:
			t.Int32Data, err = appendVarints(t.Int32Data, f)
		case tensorInt64Data:
			t.Int64Data, err = appendVarints(t.Int64Data, f)
		case tensorDoubleData:
			t.DoubleData, err = appendDoubles(t.DoubleData, f)
		case tensorName:
			t.Name, err = f.str()
		case tensorRawData:
			t.RawData, err = f.bytes()
		case tensorDocString:
			t.DocString, err = f.str()
		case tensorDataLocation:
			t.DataLocation, err = f.int32()
		case tensorExternalData:
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
		case kvKey:
			kv.Key, err = f.str()
		case kvValue:
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
		case valueInfoName:
			v.Name, err = f.str()
		case valueInfoDocString:
			v.DocString, err = f.str()
		case valueInfoType:
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
		if f.num != typeTensorType {
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
		case tensorTypeElem:
			var v int32
			v, err = f.int32()
			tt.ElemType = DataType(v)
		case tensorTypeShp:
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
		if f.num != shapeDim {
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
		case dimValue:
			d.Value, err = f.int64()
			d.HasValue = true
		case dimParam:
			d.Param, err = f.str()
		}
		if err != nil {
			return d, err
		}
	}
}
