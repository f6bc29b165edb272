// Package vec holds the float32 kernels of the simulator's inner loops:
// Add (a row of weights into a row of currents) and Integrate (one step of
// the membrane update over a row of channels).
//
// Every kernel is exact per element: element c of the result is computed
// from element c of the operands alone, one IEEE-754 single-precision
// operation at a time, with no reassociation, no fused multiply-add and no
// wider intermediates. A SIMD version therefore gives bit for bit the same
// results as the scalar loop, whatever the vector width, alignment or
// length. (The Go code rounds products explicitly, float32(x*y), so that
// builds with GOAMD64=v3, where the compiler may fuse x*y + z, agree too.)
//
// On amd64 CPUs with AVX the kernels run in assembly (kernel_amd64.s);
// other architectures, CPUs without AVX and builds with -tags purego use
// the pure-Go loops (kernel_go.go and Integrate's own loop). Slices are
// checked in Go before the assembly runs; the assembly does no bounds
// checks of its own.
package vec
