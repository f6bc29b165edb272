package onnx

import "strconv"

// DataType is the element type of a tensor (TensorProto.DataType).
type DataType int32

// Tensor element types. Only the floating-point and integer types listed in
// the package documentation can be converted to values.
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Uint16    DataType = 4
	Int16     DataType = 5
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
	Uint32    DataType = 12
	Uint64    DataType = 13
	BFloat16  DataType = 16
)

var dataTypeNames = map[DataType]string{
	Undefined: "undefined", Float: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Double: "float64",
	Uint32: "uint32", Uint64: "uint64", BFloat16: "bfloat16",
}

func (t DataType) String() string {
	if s, ok := dataTypeNames[t]; ok {
		return s
	}
	return "dtype(" + strconv.Itoa(int(t)) + ")"
}

// AttrType says which value field of an Attribute is in use
// (AttributeProto.AttributeType).
type AttrType int32

// Attribute types. Graph-valued and sparse attributes are recognised but
// their values are skipped by Decode.
const (
	AttrUndefined    AttrType = 0
	AttrFloat        AttrType = 1
	AttrInt          AttrType = 2
	AttrString       AttrType = 3
	AttrTensor       AttrType = 4
	AttrGraph        AttrType = 5
	AttrFloats       AttrType = 6
	AttrInts         AttrType = 7
	AttrStrings      AttrType = 8
	AttrTensors      AttrType = 9
	AttrGraphs       AttrType = 10
	AttrSparseTensor AttrType = 11
)

// Model is the subset of ModelProto that quartz reads and writes.
type Model struct {
	IRVersion       int64
	OpsetImport     []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	// MetadataProps are the model's key–value metadata_props, in file
	// order.
	MetadataProps []KeyValue
}

// OpsetID is one entry of ModelProto.opset_import. The empty domain (or
// "ai.onnx") is the default operator set.
type OpsetID struct {
	Domain  string
	Version int64
}

// Graph is the subset of GraphProto that quartz reads and writes. Nodes are
// in topological order.
type Graph struct {
	Name        string
	DocString   string
	Node        []*Node
	Initializer []*Tensor
	Input       []*ValueInfo
	Output      []*ValueInfo
	ValueInfo   []*ValueInfo
}

// Node is one operator invocation (NodeProto). An empty input name marks an
// omitted optional input.
type Node struct {
	Input     []string
	Output    []string
	Name      string
	OpType    string
	Domain    string
	DocString string
	Attribute []*Attribute
}

// Attribute is a named node attribute (AttributeProto). Type says which of
// the value fields is meaningful.
type Attribute struct {
	Name      string
	Type      AttrType
	F         float32
	I         int64
	S         []byte
	T         *Tensor
	Floats    []float32
	Ints      []int64
	Strings   [][]byte
	DocString string
}

// Tensor is the subset of TensorProto that quartz reads and writes. Values
// live in exactly one of RawData (little-endian) or the typed field that
// matches DataType: float32 in FloatData; int32, int16, int8, uint8, bool,
// float16 and bfloat16 in Int32Data; int64 in Int64Data; float64 in
// DoubleData. Use Float32s or Int64s to read them.
type Tensor struct {
	Dims       []int64
	DataType   DataType
	FloatData  []float32
	Int32Data  []int32
	Int64Data  []int64
	DoubleData []float64
	RawData    []byte
	Name       string
	DocString  string
	// DataLocation is 1 (EXTERNAL) and ExternalData non-empty when the
	// values live in a separate file; quartz does not read those.
	DataLocation int32
	ExternalData []KeyValue
}

// KeyValue is a StringStringEntryProto.
type KeyValue struct {
	Key, Value string
}

// ValueInfo names a graph input, output or intermediate value and its type
// (ValueInfoProto). Type is nil when the file gives no tensor type.
type ValueInfo struct {
	Name      string
	DocString string
	Type      *TensorType
}

// TensorType is TypeProto.Tensor: element type and, when HasShape is set,
// one Dim per axis.
type TensorType struct {
	ElemType DataType
	HasShape bool
	Shape    []Dim
}

// Dim is one axis of a shape: a fixed size Value, a symbolic name Param, or
// neither (unknown).
type Dim struct {
	Value    int64
	Param    string
	HasValue bool
}
