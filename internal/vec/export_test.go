package vec

import "unsafe"

// Test hooks: the tests check Add, Add without AVX and the pure-Go loop
// against the same scalar reference, so `go test` covers the fallback (and
// the assembly's jump to it) even on AVX machines.

// AddGo is the pure-Go fallback behind Add.
func AddGo(dst, src []float32) {
	addGo(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
}

// UsesAVX reports whether Add runs the AVX assembly in this build and on
// this CPU.
func UsesAVX() bool { return hasAVX }

// DisableAVX makes Add take the fallback as on a CPU without AVX, and
// returns a restore func.
func DisableAVX() (restore func()) {
	old := hasAVX
	hasAVX = false
	return func() { hasAVX = old }
}
