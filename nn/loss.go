package nn

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy returns the mean over n samples of the cross-entropy
// between softmax(logits) and the labels, its gradient with respect to the
// logits ((softmax − onehot)/n, written into dlogits when that has room for
// n·K values, else into a new slice), and how many samples' largest logit
// (the first on ties) is their label. logits is [n, K] with K =
// len(logits)/n. Sums run in float64. It panics on a label outside [0, K).
func SoftmaxCrossEntropy(logits []float32, labels []int32, n int, dlogits []float32) (loss float32, grad []float32, correct int) {
	if n < 1 || len(logits)%n != 0 || len(labels) < n {
		panic(fmt.Sprintf("nn: SoftmaxCrossEntropy: %d logits, %d labels, n = %d", len(logits), len(labels), n))
	}
	k := len(logits) / n
	if len(dlogits) < n*k {
		dlogits = make([]float32, n*k)
	}
	grad = dlogits[:n*k]
	var total float64
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		z := logits[i*k : (i+1)*k]
		g := grad[i*k : (i+1)*k]
		lab := int(labels[i])
		if lab < 0 || lab >= k {
			panic(fmt.Sprintf("nn: SoftmaxCrossEntropy: label %d of sample %d outside [0, %d)", lab, i, k))
		}
		best := 0
		for j, v := range z {
			if v > z[best] {
				best = j
			}
		}
		if best == lab {
			correct++
		}
		zmax := float64(z[best])
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v) - zmax)
		}
		lse := zmax + math.Log(sum)
		total += lse - float64(z[lab])
		for j, v := range z {
			p := math.Exp(float64(v) - lse)
			if j == lab {
				p--
			}
			g[j] = float32(p * inv)
		}
	}
	return float32(total * inv), grad, correct
}

// Argmax returns the index of the largest of each row of an [n, K] matrix
// (the first on ties) into dst (reallocated when short).
func Argmax(out []float32, n int, dst []int32) []int32 {
	k := len(out) / n
	if len(dst) < n {
		dst = make([]int32, n)
	}
	for i := 0; i < n; i++ {
		z := out[i*k : (i+1)*k]
		best := 0
		for j, v := range z {
			if v > z[best] {
				best = j
			}
		}
		dst[i] = int32(best)
	}
	return dst[:n]
}
