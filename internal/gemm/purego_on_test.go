//go:build purego

package gemm_test

const puregoBuild = true
