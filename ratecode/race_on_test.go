//go:build race

package ratecode_test

const raceEnabled = true
