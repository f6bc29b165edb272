//go:build !amd64 || purego

package vec

// Without assembly (other architectures, or built with -tags purego) the
// pure-Go loops are the only implementation.

// hasAVX is false: no assembly in this build. (A variable, not a constant,
// only so that the tests' DisableAVX builds everywhere.)
var hasAVX = false

func add(dst, src *float32, n int) { addGo(dst, src, n) }

func integrateAVX(u, cur, row *float32, e *int32, n int, dt, theta float32) int {
	panic("vec: no assembly in this build")
}
