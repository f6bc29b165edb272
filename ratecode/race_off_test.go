//go:build !race

package ratecode_test

const raceEnabled = false
