//go:build purego

package vec_test

const puregoBuild = true
