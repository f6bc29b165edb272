//go:build !amd64 || purego

package gemm

// Without assembly (other architectures, or built with -tags purego) the
// pure-Go micro-kernel in kernel_go.go is the only one; nothing to select.
