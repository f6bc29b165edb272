package gemm

// Test hooks: the suite in gemm_test.go runs once per kernel and packing
// policy, so `go test` covers the pure-Go kernel even on AVX2 machines.

// DefaultKernelName is the kernel Sgemm uses by default: "avx512",
// "avx2" or "go".
func DefaultKernelName() string { return defaultKernelName }

// Kernels lists the kernels that can run here, default first.
func Kernels() []string {
	var names []string
	for _, k := range kernels {
		names = append(names, k.name)
	}
	return names
}

// UseKernel switches Sgemm to the named kernel ("go" also selects the Go
// packing loops over the assembly transposes) and returns a restore func.
func UseKernel(name string) (restore func()) {
	old, oldPair, oldTr := kern, pair, transpose8
	for _, k := range kernels {
		if k.name == name {
			kern, pair, transpose8 = k.kernel, k.pair, k.transpose8
			return func() { kern, pair, transpose8 = old, oldPair, oldTr }
		}
	}
	panic("unknown kernel " + name)
}

// Packing policies for SetPackPolicy.
const (
	PackAuto   = packAuto
	PackAlways = packAlways
	PackNever  = packNever
)

// SetPackPolicy forces packing of both operands (PackAlways), in-place
// operands wherever possible (PackNever) or the heuristic (PackAuto).
func SetPackPolicy(p int) (restore func()) {
	old := packPolicy
	packPolicy = p
	return func() { packPolicy = old }
}
