package plot

import (
	"regexp"
	"strings"
)

// MaxLabel is the longest short layer name, in characters.
const MaxLabel = 14

// opSuffix matches the operator part that exporters append to node names:
// "Conv", "Gemm", "Conv_3", "MatMul".
var opSuffix = regexp.MustCompile(`^[A-Z][A-Za-z]*(_[0-9]+)?$`)

// ShortNames returns readable labels for layer names, in order, unique
// when the names are. A name of up to MaxLabel characters without "/" is
// kept. Another, such as PyTorch's "/features/features.10/Conv", is split at
// "/"; the trailing operator ("Conv") and segments repeated as the prefix
// of the next ("features" before "features.10") are dropped, and the label
// is the last segment ("features.10"), or as many last segments as it
// takes to tell two layers apart. A label still too long keeps its first
// and last characters around "…".
func ShortNames(names []string) []string {
	segs := make([][]string, len(names))
	out := make([]string, len(names))
	depth := make([]int, len(names))
	for i, n := range names {
		if len([]rune(n)) <= MaxLabel && !strings.Contains(n, "/") {
			out[i] = n
			continue
		}
		segs[i] = segments(n)
		depth[i] = 1
	}
	for range 8 {
		for i := range names {
			if segs[i] != nil {
				k := min(depth[i], len(segs[i]))
				out[i] = strings.Join(segs[i][len(segs[i])-k:], "/")
			}
		}
		clash := false
		seen := map[string][]int{}
		for i, s := range out {
			seen[s] = append(seen[s], i)
		}
		for _, idx := range seen {
			if len(idx) < 2 {
				continue
			}
			for _, i := range idx {
				if segs[i] != nil && depth[i] < len(segs[i]) {
					depth[i]++
					clash = true
				}
			}
		}
		if !clash {
			break
		}
	}
	for i := range out {
		if segs[i] != nil {
			out[i] = ellipsize(out[i], MaxLabel)
		}
	}
	// Names still equal (a layer named like another's label): number them.
	count := map[string]int{}
	for _, s := range out {
		count[s]++
	}
	nth := map[string]int{}
	for i, s := range out {
		if count[s] > 1 && segs[i] != nil {
			nth[s]++
			out[i] = ellipsize(s, MaxLabel-3) + "#" + itoa(nth[s])
		}
	}
	return out
}

// segments splits a node name at "/" and drops the operator suffix and the
// module prefixes that the next segment repeats.
func segments(name string) []string {
	var s []string
	for _, p := range strings.Split(name, "/") {
		if p != "" {
			s = append(s, p)
		}
	}
	if len(s) > 1 && opSuffix.MatchString(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	var out []string
	for i, p := range s {
		if i+1 < len(s) && strings.HasPrefix(s[i+1], p+".") {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return []string{name}
	}
	return out
}

// ellipsize shortens s to n characters, keeping its start and end.
func ellipsize(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	tail := (n - 1) / 2
	head := n - 1 - tail
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}
