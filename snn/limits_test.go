package snn

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// craftedNets are networks read from hostile files: each passed Validate
// before the size limits and then overflowed an int, made a slice of an
// impossible length or looped ~2^61 times.
func craftedNets() []struct {
	name string
	net  func() *Network
	want string
} {
	spikingConv := func(in []int, kernel, stride [2]int, pad [4]int) *Layer {
		l := &Layer{Name: "c", Kind: Conv, InShape: in, Kernel: kernel, Stride: stride, Pad: pad, Dilation: [2]int{1, 1}, Group: 1,
			WShape: []int{1, in[0], kernel[0], kernel[1]}, B: []float32{0.5}, T: 4, TOut: 4, Theta: 3.5, Output: true}
		h, _ := outSize(in[1], kernel[0], stride[0], pad[0], pad[2], 1, false)
		w, _ := outSize(in[2], kernel[1], stride[1], pad[1], pad[3], 1, false)
		l.OutShape = []int{1, h, w}
		return l
	}
	finish := func(l *Layer) *Layer {
		l.W = make([]float32, size(l.WShape))
		l.Counter = counterweights(l)
		return l
	}
	return []struct {
		name string
		net  func() *Network
		want string
	}{
		{"input of 2^62 values (makeslice)", func() *Network {
			in := []int{1, 1 << 31, 1 << 31}
			relay := &Layer{Name: "p", Kind: MaxPool, InShape: in, OutShape: in, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}}
			return &Network{InShape: in, Layers: []*Layer{relay, finish(spikingConv(in, [2]int{1, 1}, [2]int{1 << 31, 1 << 31}, [4]int{}))}}
		}, "input shape"},
		{"relay of 2^61 positions (loop)", func() *Network {
			in := []int{1, 1, 1 << 61}
			relay := &Layer{Name: "p", Kind: MaxPool, InShape: in, OutShape: in, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}}
			return &Network{InShape: in, Layers: []*Layer{relay, finish(spikingConv(in, [2]int{1, 1}, [2]int{1, 1 << 61}, [4]int{}))}}
		}, "input shape"},
		{"padding 2^60", func() *Network {
			in := []int{1, 2, 2}
			l := spikingConv(in, [2]int{1, 1}, [2]int{1 << 61, 1 << 61}, [4]int{1 << 60, 0, 1 << 60, 0})
			l.OutShape = []int{1, 2, 2}
			l.W = []float32{0}
			l.Counter = []float32{0.5, 0.5, 0.5, 0.5}
			return &Network{InShape: in, Layers: []*Layer{l}}
		}, "padding"},
		{"weight shape overflowing to 0 values (2^64 loop)", func() *Network {
			in := []int{1, 1, 1}
			l := spikingConv(in, [2]int{1 << 32, 1 << 32}, [2]int{1 << 33, 1 << 33}, [4]int{1 << 32, 1 << 32, 1 << 32, 1 << 32})
			l.Counter = []float32{0.5}
			return &Network{InShape: in, Layers: []*Layer{l}}
		}, "weight shape"},
		{"im2col of 2^40 entries", func() *Network {
			in := []int{1, 1 << 20, 1}
			l := spikingConv(in, [2]int{1 << 20, 1}, [2]int{1, 1}, [4]int{1 << 20, 0, 1 << 20, 0})
			l.W = make([]float32, 1<<20)
			l.Counter = make([]float32, size(l.OutShape))
			return &Network{InShape: in, Layers: []*Layer{l}}
		}, "im2col"},
	}
}

func TestValidateLimits(t *testing.T) {
	for _, c := range craftedNets() {
		t.Run(c.name, func(t *testing.T) {
			n := c.net()
			done := make(chan error, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- fmt.Errorf("panic: %v", r)
					}
				}()
				done <- n.Validate()
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) || strings.HasPrefix(err.Error(), "panic") {
					t.Fatalf("Validate: %v, want an error about the %s", err, c.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Validate still running after 10 s")
			}
		})
	}
}
