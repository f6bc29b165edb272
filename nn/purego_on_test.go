//go:build purego

package nn

const puregoBuild = true
