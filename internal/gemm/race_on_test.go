//go:build race

package gemm_test

const raceEnabled = true
