//go:build !purego

package gemm_test

const puregoBuild = false
