package gemm

// Test hooks: the suite in gemm_test.go runs once per kernel and packing
// policy, so `go test` covers the pure-Go kernel even on AVX2 machines.

// DefaultKernelName is the kernel Sgemm uses by default: "avx2" or "go".
func DefaultKernelName() string { return defaultKernelName }

// Kernels lists the kernels that can run here, default first.
func Kernels() []string {
	if defaultKernelName == "go" {
		return []string{"go"}
	}
	return []string{defaultKernelName, "go"}
}

// UseKernel switches Sgemm to the named kernel ("go" also selects the Go
// packing loops over the assembly transposes) and returns a restore func.
func UseKernel(name string) (restore func()) {
	old, oldTr := kern, transpose8
	switch name {
	case "go":
		kern, transpose8 = kernelGo, nil
	case defaultKernelName:
		kern, transpose8 = defaultKernel, defaultTranspose8
	default:
		panic("unknown kernel " + name)
	}
	return func() { kern, transpose8 = old, oldTr }
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
