package onnx_test

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/nn"
	"github.com/quartz-snn/quartz/onnx"
)

const backendTarball = "../../shared/data/onnx-backend-test-data/onnx-backend-test-data-v1.22.0.tar.gz"

// Conformance tolerance: |got − want| ≤ confAbs + confRel·|want|. The
// reference outputs are numpy's (node tests) or PyTorch's
// (pytorch-converted), computed in float32 or float64 and stored as
// float32; nn sums in float32 in another order (im2col + GEMM with FMA).
// Inputs are O(1) and the longest dot product is a few hundred terms, so
// rounding differences are ≲ K·2⁻²⁴·Σ|terms| ≈ 1e-5 relative: rel 1e-4 is
// ten times that, abs 1e-5 covers outputs that cancel to near zero. ONNX's
// own runner uses rtol 1e-3, atol 1e-7.
const (
	confAbs = 1e-5
	confRel = 1e-4
)

// looseAbs overrides confAbs for tests whose expected output is written as
// decimal literals in the ONNX test generator: test_averagepool_2d_ceil_
// last_window_starts_on_pad expects 0.1511 for 0.15105554 (4 decimals, so
// up to 5e-5 off).
var looseAbs = map[string]float64{
	"test_averagepool_2d_ceil_last_window_starts_on_pad": 5e-5,
}

// claimedOps are the operators the importer claims (package doc) with
// their own backend tests. A test is claimed when every node is one of
// these; a final Softmax or LogSoftmax is recorded in the model's
// OutputActivation, and this test applies it to the engine's output.
// Shape, Gather, Slice, ConstantOfShape, Cast, Expand and the like are
// folded when they compute on constants (shapes included); on an
// activation the importer refuses them as unsupported.
var claimedOps = map[string]bool{
	"Conv": true, "Gemm": true, "MatMul": true, "Relu": true, "Clip": true, "LeakyRelu": true,
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "BatchNormalization": true,
	"Dropout": true, "Identity": true, "Flatten": true, "Reshape": true, "Constant": true,
	"Softmax": true, "LogSoftmax": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Sum": true, "Concat": true,
	"ReduceMean": true, "Transpose": true, "Squeeze": true, "Unsqueeze": true, "Pad": true,
	"Shape": true, "Gather": true, "Slice": true, "ConstantOfShape": true, "Cast": true,
	"Tanh": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true,
	"LRN": true, "MeanVarianceNormalization": true, "LayerNormalization": true,
	"Pow": true, "PRelu": true, "Max": true, "Min": true, "Mean": true,
	"ReduceSum": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true, "ReduceL1": true,
	"ReduceL2": true, "ReduceSumSquare": true, "ReduceLogSumExp": true, "ReduceLogSum": true,
}

// unaryClaimed are the elementwise functions of one input (graph.Unary):
// claimed, and read at any rank as [N,F] in a graph of such ops only.
var unaryClaimed = []string{"Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
	"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Erf",
	"Softplus", "Softsign", "Elu", "Selu", "Celu", "ThresholdedRelu", "Mish", "Gelu"}

func init() {
	for _, op := range unaryClaimed {
		claimedOps[op] = true
	}
}

// Skip rules, applied before a claimed test runs. A test is skipped, not
// failed, when
//   - its data input (the first graph input with test data) is not a
//     float32 tensor of rank 2 to 4 ([N,F], [N,A,B] or [N,C,H,W]; any rank
//     ≥ 1 of a graph of unary elementwise ops only, read as [N,F]);
//   - its expected output is not a float32 tensor (Shape, ArgMax …); or
//   - the importer refuses it with ErrUnsupported (an attribute, layout or
//     operator use quartz does not convert), grouped by operator below.
//
// A refusal that is not ErrUnsupported fails the test unless notClaimed
// lists it with a reason; every test that converts must match.
var notClaimed = map[string]string{}

func init() {
	add := func(reason string, names ...string) {
		for _, n := range names {
			notClaimed[n] = reason
		}
	}
	add("1-D or 3-D operator (quartz is 2-D: [N,C,H,W])",
		"test_averagepool_1d_default", "test_averagepool_3d_default", "test_maxpool_1d_default", "test_maxpool_3d_default",
		"test_maxpool_3d_dilations", "test_maxpool_3d_dilations_use_ref_impl", "test_maxpool_3d_dilations_use_ref_impl_large",
		"test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
		"test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
		"test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
		"test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
		"test_averagepool_3d_dilations_small", "test_operator_maxpool", "test_AvgPool3d", "test_AvgPool3d_stride", "test_AvgPool3d_stride1_pad0_gpu_input", "test_BatchNorm3d_eval", "test_BatchNorm3d_momentum_eval",
		"test_Conv1d", "test_Conv1d_dilated", "test_Conv1d_groups", "test_Conv1d_pad1", "test_Conv1d_pad1size1",
		"test_Conv1d_pad2", "test_Conv1d_pad2size1", "test_Conv1d_stride",
		"test_Conv3d", "test_Conv3d_dilated", "test_Conv3d_dilated_strided", "test_Conv3d_groups", "test_Conv3d_no_bias",
		"test_Conv3d_stride", "test_Conv3d_stride_padding",
		"test_MaxPool1d", "test_MaxPool1d_stride", "test_MaxPool1d_stride_padding_dilation",
		"test_MaxPool3d", "test_MaxPool3d_stride", "test_MaxPool3d_stride_padding")
	add("pooling with dilations (not in the layer IR)",
		"test_averagepool_2d_dilations", "test_maxpool_2d_dilations", "test_MaxPool2d_stride_padding_dilation")
	add("second output (MaxPool Indices, Dropout mask, BatchNormalization training statistics)",
		"test_maxpool_with_argmax_2d_precomputed_pads", "test_maxpool_with_argmax_2d_precomputed_strides",
		"test_dropout_default_mask", "test_dropout_default_mask_ratio",
		"test_batchnorm_epsilon_training_mode", "test_batchnorm_example_training_mode")
	add("non-float tensor (quartz runs float32)",
		"test_maxpool_2d_uint8", "test_clip_default_int8_inbounds", "test_clip_default_int8_inbounds_expanded", "test_clip_default_int8_max", "test_clip_default_int8_min")
	add("Gemm transA=1: the batch would be the second axis of A",
		"test_gemm_all_attributes", "test_gemm_transposeA")
	add("Gemm bias C of shape [M,N] differs per sample",
		"test_gemm_default_matrix_bias")
	add("MatMul that is not [N,K]×[K,M] (1-D, batched or broadcast)",
		"test_matmul_1d_1d", "test_matmul_1d_3d", "test_matmul_3d", "test_matmul_4d", "test_matmul_4d_1d", "test_matmul_bcast")
	add("Clip with min > max (constant output, rejected as not an interval)",
		"test_clip_min_greater_than_max")
	add("Flatten or Reshape that merges or moves the batch axis",
		"test_flatten_axis0", "test_flatten_axis2", "test_flatten_axis3", "test_flatten_negative_axis1",
		"test_flatten_negative_axis2", "test_flatten_negative_axis4",
		"test_reshape_allowzero_reordered",
		"test_reshape_negative_extended_dims", "test_reshape_one_dim", "test_reshape_reordered_all_dims")
	add("Softmax across samples (axis 0), LogSoftmax inside the network, or opset < 13 Softmax over part of a sample",
		"test_softmax_axis_0",
		"test_logsoftmax_axis_0", "test_logsoftmax_axis_1", "test_logsoftmax_axis_2", "test_logsoftmax_default_axis",
		"test_logsoftmax_negative_axis",
		"test_softmax_functional_dim3", "test_log_softmax_dim3")
	add("training-mode Dropout (random)", "test_training_dropout", "test_training_dropout_default",
		"test_training_dropout_default_mask", "test_training_dropout_mask", "test_training_dropout_zero_ratio",
		"test_training_dropout_zero_ratio_mask")
	add("rank-1 input (no batch axis)", "test_operator_view")
	add("no data input (a Constant only)", "test_constant")
	add("two Gemms reading the same input (a branch)", "test_operator_addmm")
	add("empty tensor (a dimension of size 0)",
		"test_reduce_l1_empty_set", "test_reduce_l1_empty_set_expanded", "test_reduce_l2_empty_set",
		"test_reduce_log_sum_empty_set", "test_reduce_log_sum_empty_set_expanded", "test_reduce_log_sum_exp_empty_set",
		"test_reduce_max_empty_set", "test_reduce_min_empty_set", "test_reduce_prod_empty_set", "test_reduce_sum_empty_set",
		"test_reduce_sum_empty_set_non_reduced_axis_zero", "test_reduce_sum_square_empty_set",
		"test_reduce_sum_square_empty_set_expanded")
	add("optional or sequence type", "test_identity_opt", "test_identity_sequence")
}

// backendTest is one test directory: the model and its data sets.
type backendTest struct {
	suite, name string
	model       []byte
	sets        map[string]map[string][]byte // set → file → bytes
}

// TestONNXBackendConformance runs the ONNX backend tests (node/,
// pytorch-converted/, pytorch-operator/, simple/) of the operators the
// importer claims through onnx.Convert and nn, and compares with the
// reference outputs. Node tests feed weights as graph inputs; the adapter
// below turns every graph input after the first into an initializer
// holding the test's value, and reads a rank-1/3/5 input of an
// elementwise-only graph as [N, F]. Every test whose model converts must
// match, claimed or not: the importer may refuse, never compute wrongly.
func TestONNXBackendConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	f, err := os.Open(backendTarball)
	if err != nil {
		t.Skipf("ONNX backend test data not available (%v): it lives in ../shared/data, beside the repository", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var (
		cur                      *backendTest
		passed, failed           int
		skipped                  = map[string]int{}
		otherOps, otherConverted int
		seenNotClaimed           = map[string]bool{}
	)
	flush := func() {
		if cur == nil || cur.model == nil {
			return
		}
		bt := cur
		status, reason := classify(t, bt)
		switch status {
		case "pass":
			passed++
		case "fail":
			failed++
		case "other":
			otherOps++
			return
		case "otherConverted":
			otherConverted++
			passed++
		default:
			skipped[reason]++
		}
		if _, ok := notClaimed[bt.name]; ok {
			seenNotClaimed[bt.name] = true
		}
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		parts := strings.Split(h.Name, "/")
		if len(parts) < 4 || !slices.Contains([]string{"node", "pytorch-converted", "pytorch-operator", "simple"}, parts[1]) {
			continue
		}
		if cur == nil || cur.suite != parts[1] || cur.name != parts[2] {
			flush()
			cur = &backendTest{suite: parts[1], name: parts[2], sets: map[string]map[string][]byte{}}
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(parts) == 4 && parts[3] == "model.onnx":
			cur.model = b
		case len(parts) == 5 && strings.HasPrefix(parts[3], "test_data_set_") && strings.HasSuffix(parts[4], ".pb"):
			if cur.sets[parts[3]] == nil {
				cur.sets[parts[3]] = map[string][]byte{}
			}
			cur.sets[parts[3]][parts[4]] = b
		}
	}
	flush()
	for name := range notClaimed {
		if !seenNotClaimed[name] {
			t.Errorf("%s is listed as not claimed but is not in the test data", name)
		}
	}
	var reasons []string
	total := 0
	for r, n := range skipped {
		reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
		total += n
	}
	sort.Strings(reasons)
	t.Logf("ONNX backend conformance: %d passed (%d of them outside the claimed ops), %d failed, %d not claimed; %d other tests use operators quartz does not claim",
		passed, otherConverted, failed, total, otherOps)
	for _, r := range reasons {
		t.Logf("  not claimed: %s", r)
	}
}

// classify runs one backend test and returns "pass", "fail", "skip" (with
// the reason), "other" (unclaimed operators, rejected by the importer) or
// "otherConverted" (unclaimed operators, yet converted and matching).
func classify(t *testing.T, bt *backendTest) (status, reason string) {
	t.Helper()
	m, err := onnx.Decode(bt.model)
	if err != nil {
		t.Errorf("%s/%s: decode: %v", bt.suite, bt.name, err)
		return "fail", ""
	}
	var unclaimed []string
	for _, n := range m.Graph.Node {
		if !claimedOps[n.OpType] || (n.Domain != "" && n.Domain != "ai.onnx") {
			unclaimed = append(unclaimed, n.OpType)
		}
	}
	why, listed := notClaimed[bt.name]
	if len(unclaimed) == 0 {
		if r := skipRule(m, firstSet(bt)); r != "" {
			return "skip", r
		}
	}
	if len(unclaimed) > 0 {
		// Not claimed: the importer should refuse it, but if it converts,
		// it must be right.
		if _, _, err := adaptAndConvert(m, firstSet(bt)); err != nil {
			return "other", ""
		}
		why, listed = fmt.Sprintf("operators %v not claimed, yet the model converts", unclaimed), false
	}
	status = "pass"
	t.Run(bt.suite+"/"+bt.name, func(t *testing.T) {
		if len(bt.sets) == 0 {
			status, reason = "skip", "no test data"
			t.Skip(reason)
		}
		names := make([]string, 0, len(bt.sets))
		for s := range bt.sets {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			err := runSet(t, m, bt.sets[s], max(confAbs, looseAbs[bt.name]))
			var rej *rejected
			switch {
			case err == nil:
			case errors.As(err, &rej) && listed:
				status, reason = "skip", why
				t.Skipf("not claimed: %s (importer: %v)", why, rej.err)
			case errors.As(err, &rej) && errors.Is(rej.err, onnx.ErrUnsupported) && len(unclaimed) == 0:
				status, reason = "skip", "refused as unsupported: "+opsOf(m)
				t.Skipf("%s (importer: %v)", reason, rej.err)
			default:
				status = "fail"
				t.Fatalf("%s: %v", s, err)
			}
		}
		if listed {
			status = "fail"
			t.Errorf("listed as not claimed (%s) but converts and matches: remove it from the list", why)
		}
		if len(unclaimed) > 0 && status == "pass" {
			status = "otherConverted"
			t.Logf("%s", why)
		}
	})
	return status, reason
}

// skipRule returns why a claimed test is skipped before it runs (see the
// skip rules above), or "".
func skipRule(m *onnx.Model, set map[string][]byte) string {
	inits := map[string]bool{}
	for _, t := range m.Graph.Initializer {
		inits[t.Name] = true
	}
	for _, in := range m.Graph.Input {
		if inits[in.Name] {
			continue
		}
		b, ok := set["input_0.pb"]
		if !ok {
			return "no input data"
		}
		tn, err := onnx.DecodeTensor(b)
		if err != nil {
			return ""
		}
		if tn.DataType != onnx.Float {
			return "data input is not float32"
		}
		r := len(tn.Dims)
		if (r < 2 || r > 4) && !(r >= 1 && elementwiseOnly(m.Graph)) {
			return "data input of rank other than 2–4"
		}
		break
	}
	if b, ok := set["output_0.pb"]; ok {
		if tn, err := onnx.DecodeTensor(b); err == nil && tn.DataType != onnx.Float {
			return "output is not float32"
		}
	}
	return ""
}

// opsOf lists a model's operators, sorted and without repeats.
func opsOf(m *onnx.Model) string {
	var ops []string
	for _, n := range m.Graph.Node {
		if !slices.Contains(ops, n.OpType) {
			ops = append(ops, n.OpType)
		}
	}
	sort.Strings(ops)
	return strings.Join(ops, "+")
}

func firstSet(bt *backendTest) map[string][]byte {
	for _, s := range bt.sets {
		return s
	}
	return nil
}

// rejected wraps the importer's refusal of a model.
type rejected struct{ err error }

func (r *rejected) Error() string { return "importer: " + r.err.Error() }

// adaptAndConvert decodes the data set's inputs, substitutes every graph
// input after the first with its test value as an initializer, reshapes
// the data input where needed, and converts. It returns the model, the data
// input's dims and values.
func adaptAndConvert(m *onnx.Model, set map[string][]byte) (*graph.Model, *onnx.Tensor, error) {
	c := *m
	g := *m.Graph
	c.Graph = &g
	g.Initializer = slices.Clone(g.Initializer)
	g.Input = slices.Clone(g.Input)
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		inits[t.Name] = true
	}
	var data *onnx.Tensor
	k := 0
	for i, in := range g.Input {
		if inits[in.Name] {
			continue
		}
		b, ok := set[fmt.Sprintf("input_%d.pb", k)]
		k++
		if !ok {
			continue
		}
		tn, err := onnx.DecodeTensor(b)
		if err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		if data == nil {
			data = tn
			// Elementwise-only graphs do not care about the layout:
			// read any rank as [N, F].
			if r := len(tn.Dims); r != 2 && r != 4 && r >= 1 && elementwiseOnly(m.Graph) && in.Type != nil {
				v := *in
				tt := *in.Type
				tt.Shape = []onnx.Dim{{Value: tn.Dims[0], HasValue: true}, {Value: product(tn.Dims[1:]), HasValue: true}}
				v.Type = &tt
				g.Input[i] = &v
			}
			continue
		}
		cp := *tn
		cp.Name = in.Name
		g.Initializer = append(g.Initializer, &cp)
	}
	if data == nil {
		return nil, nil, &rejected{errors.New("test has no input data")}
	}
	// The test's output_0 is the first graph output; the others (a
	// LayerNormalization's Mean and InvStdDev …) are not compared.
	gm, _, err := onnx.ConvertWith(&c, onnx.Options{Output: g.Output[0].Name})
	if err != nil {
		return nil, nil, &rejected{err}
	}
	return gm, data, nil
}

func elementwiseOnly(g *onnx.Graph) bool {
	for _, n := range g.Node {
		switch n.OpType {
		case "Relu", "Clip", "LeakyRelu", "Dropout", "Identity", "Constant",
			"Tanh", "Sigmoid", "HardSigmoid", "HardSwish":
		default:
			if slices.Contains(unaryClaimed, n.OpType) {
				continue
			}
			return false
		}
	}
	return true
}

func product(d []int64) int64 {
	p := int64(1)
	for _, x := range d {
		p *= x
	}
	return p
}

// runSet converts the model with one data set's inputs, runs it and
// compares with output_0.pb.
func runSet(t *testing.T, m *onnx.Model, set map[string][]byte, abs float64) error {
	gm, data, err := adaptAndConvert(m, set)
	if err != nil {
		return err
	}
	x, err := data.Float32s()
	if err != nil {
		return &rejected{fmt.Errorf("input: %w", err)}
	}
	if set["output_1.pb"] != nil && len(m.Graph.Output) < 2 {
		return errors.New("test has a second output, yet the model has one")
	}
	ob, ok := set["output_0.pb"]
	if !ok {
		return errors.New("no output_0.pb")
	}
	ot, err := onnx.DecodeTensor(ob)
	if err != nil {
		return err
	}
	want, err := ot.Float32s()
	if err != nil {
		return fmt.Errorf("expected output: %w", err)
	}
	n := 1
	if len(data.Dims) > 0 {
		n = int(data.Dims[0])
	}
	net, err := nn.New(gm, 1)
	if err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	defer net.Close()
	if len(x) != n*net.InSize() {
		return fmt.Errorf("input has %d values, model wants %d×%d", len(x), n, net.InSize())
	}
	got := slices.Clone(net.Predict(x, n))
	// Dims: the batch must be the first axis and the rest must agree.
	wantDims := ot.Dims
	if len(wantDims) == 0 || wantDims[0] != int64(n) || product(wantDims[1:]) != int64(net.OutSize()) {
		return fmt.Errorf("output dims %v, model gives [%d %v]", wantDims, n, gm.OutputShape())
	}
	if len(wantDims) == len(gm.OutputShape())+1 {
		for i, d := range gm.OutputShape() {
			if int64(d) != wantDims[i+1] {
				return fmt.Errorf("output dims %v, model gives [%d %v]", wantDims, n, gm.OutputShape())
			}
		}
	}
	if a := gm.OutputActivation; a != "" {
		softmax(got, n, a == "LogSoftmax")
	}
	d, err := compare(got, want, abs, confRel)
	if err != nil {
		return err
	}
	t.Logf("max abs diff %.3g over %d values", d, len(got))
	return nil
}
