package nn

import (
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// ZooNames lists the architectures Zoo builds.
var ZooNames = []string{"lenet5", "vgg11", "mobilenet-v1", "resnet20", "mobilenet-v2", "resnet18"}

// Zoo builds a named architecture for inputs of shape inShape [C, H, W] and
// the given number of classes, with channel counts scaled by width (1 is the
// reference; each count is rounded and at least 1). Parameters are set by
// Init(m, 1); call Init again to choose the seed.
//
//	lenet5       LeCun et al. 1998 with ReLU and max pooling, as used for
//	             ANN-to-SNN conversion: conv1 C→6 k5, relu1, pool1 2×2,
//	             conv2 6→12 k5, relu2, pool2 2×2, conv3 12→120 with a kernel
//	             covering the remaining map (k4 on 28×28, giving 1×1), relu3,
//	             drop3 (p = 0.25), flatten, fc1 120→classes. On 1×28×28 with
//	             10 classes: 26,338 parameters, 225,840 MACs.
//	vgg11        VGG-11 for 32×32 inputs (CIFAR): 3×3 pad-1 convolutions
//	             64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M, each
//	             followed by BatchNorm and ReLU; flatten; fc1 512·(H/32)·(W/32)→classes.
//	mobilenet-v1 MobileNet v1 for 32×32 inputs: conv 3×3 32 stride 1, then 13
//	             depthwise-separable blocks (dw 3×3 + BN + ReLU, pw 1×1 + BN
//	             + ReLU) with strides 1,2,1,2,1,2,1,1,1,1,1,2,1, global
//	             average pooling, flatten, fc.
//	resnet20     He et al. 2016's CIFAR ResNet-20: conv 3×3 16 + BN + ReLU,
//	             three stages of three basic blocks (16, 32, 64 channels;
//	             the first block of stages 2 and 3 has stride 2), global
//	             average pooling, flatten, fc. A basic block is conv 3×3 +
//	             BN + ReLU + conv 3×3 + BN, added to the shortcut, then ReLU.
//	             Shortcuts are the identity, or a 1×1 conv with stride 2 +
//	             BN where the shape changes (option B: a linear map that
//	             converts as one more input group; option A's zero-padded
//	             subsampling has no op here). 0.27 M parameters at width 1.
//	resnet18     torchvision's ResNet-18 for ImageNet-size inputs (He et
//	             al. 2016): conv 7×7 64 stride 2 pad 3 + BN + ReLU, max
//	             pool 3×3 stride 2 pad 1, four stages of two basic blocks
//	             (64, 128, 256, 512 channels; the first block of stages 2–4
//	             has stride 2 and a 1×1 stride-2 conv + BN shortcut, as
//	             torchvision's downsample), global average pooling,
//	             flatten, fc. 11.7 M parameters on 3×224×224 with 1000
//	             classes (torchvision's 11,689,512 plus conv biases and
//	             BatchNorm running statistics, which it does not count).
//	mobilenet-v2 Sandler et al. 2018 for 32×32 inputs: conv 3×3 32 stride 1,
//	             17 inverted-residual blocks (expand 1×1 ×t + BN + ReLU,
//	             dw 3×3 + BN + ReLU, project 1×1 + BN with no activation:
//	             the linear bottleneck) with (t, c, n, s) = (1,16,1,1),
//	             (6,24,2,1), (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2),
//	             (6,320,1,1), the input added where stride is 1 and the
//	             channels match; conv 1×1 1280 + BN + ReLU, global average
//	             pooling, flatten, fc. ReLU replaces ReLU6 (a Quartz neuron
//	             saturates anyway; see docs/quartz.md), and the second stage
//	             keeps stride 1 for 32×32 inputs, as CIFAR versions do.
//
// Drop3's ratio 0.25 is a choice: the 120-wide layer before the classifier
// is narrow, and p = 0.5 there slows convergence without a clear gain.
// Change Nodes[i].Ratio to taste.
func Zoo(name string, inShape []int, classes int, width float64) (*graph.Model, error) {
	if len(inShape) != 3 || classes < 1 || !(width > 0) {
		return nil, fmt.Errorf("nn: Zoo(%q, %v, %d, %v): bad arguments", name, inShape, classes, width)
	}
	b := &builder{m: &graph.Model{Name: name, InputShape: append([]int(nil), inShape...)}, c: inShape[0], h: inShape[1], w: inShape[2]}
	ch := func(c int) int { return max(1, int(math.Round(float64(c)*width))) }
	switch name {
	case "lenet5":
		b.conv("conv1", ch(6), 5, 1, 0, 1)
		b.act("relu1")
		b.maxpool("pool1", 2)
		b.conv("conv2", ch(12), 5, 1, 0, 1)
		b.act("relu2")
		b.maxpool("pool2", 2)
		if b.h < 1 || b.w < 1 {
			return nil, fmt.Errorf("nn: lenet5: input %v too small", inShape)
		}
		b.convK("conv3", ch(120), [2]int{b.h, b.w}, 1, 0, 1)
		b.act("relu3")
		b.add(&graph.Node{Name: "drop3", Op: graph.Dropout, Ratio: 0.25})
		b.add(&graph.Node{Name: "flatten", Op: graph.Flatten})
		b.linear("fc1", classes)
	case "vgg11":
		cfg := []int{64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}
		ci, pi := 0, 0
		for _, c := range cfg {
			if c == 0 {
				pi++
				b.maxpool(fmt.Sprintf("pool%d", pi), 2)
				continue
			}
			ci++
			b.conv(fmt.Sprintf("conv%d", ci), ch(c), 3, 1, 1, 1)
			b.bn(fmt.Sprintf("bn%d", ci))
			b.act(fmt.Sprintf("relu%d", ci))
		}
		b.add(&graph.Node{Name: "flatten", Op: graph.Flatten})
		b.linear("fc1", classes)
	case "mobilenet-v1":
		b.conv("conv1", ch(32), 3, 1, 1, 1)
		b.bn("bn1")
		b.act("relu1")
		blocks := []struct{ out, stride int }{
			{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
			{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
		}
		for i, bl := range blocks {
			k := i + 1
			b.conv(fmt.Sprintf("dw%d", k), b.c, 3, bl.stride, 1, b.c)
			b.bn(fmt.Sprintf("dw%d_bn", k))
			b.act(fmt.Sprintf("dw%d_relu", k))
			b.conv(fmt.Sprintf("pw%d", k), ch(bl.out), 1, 1, 0, 1)
			b.bn(fmt.Sprintf("pw%d_bn", k))
			b.act(fmt.Sprintf("pw%d_relu", k))
		}
		b.add(&graph.Node{Name: "gap", Op: graph.GlobalAvgPool})
		b.add(&graph.Node{Name: "flatten", Op: graph.Flatten})
		b.linear("fc", classes)
	case "resnet20":
		b.conv("conv1", ch(16), 3, 1, 1, 1)
		b.bn("bn1")
		b.act("relu1")
		for st, c := range []int{16, 32, 64} {
			for k := range 3 {
				stride := 1
				if st > 0 && k == 0 {
					stride = 2
				}
				b.basicBlock(fmt.Sprintf("s%db%d", st+1, k+1), ch(c), stride)
			}
		}
		b.add(&graph.Node{Name: "gap", Op: graph.GlobalAvgPool})
		b.add(&graph.Node{Name: "flatten", Op: graph.Flatten})
		b.linear("fc", classes)
	case "resnet18":
		b.conv("conv1", ch(64), 7, 2, 3, 1)
		b.bn("bn1")
		b.act("relu1")
		b.maxpoolPad("pool1", 3, 2, 1)
		for st, c := range []int{64, 128, 256, 512} {
			for k := range 2 {
				stride := 1
				if st > 0 && k == 0 {
					stride = 2
				}
				b.basicBlock(fmt.Sprintf("layer%d_%d", st+1, k), ch(c), stride)
			}
		}
		if b.h < 1 || b.w < 1 {
			return nil, fmt.Errorf("nn: resnet18: input %v too small", inShape)
		}
		b.add(&graph.Node{Name: "gap", Op: graph.GlobalAvgPool})
		b.add(&graph.Node{Name: "flatten", Op: graph.Flatten})
		b.linear("fc", classes)
	case "mobilenet-v2":
		b.conv("conv1", ch(32), 3, 1, 1, 1)
		b.bn("bn1")
		b.act("relu1")
		k := 0
		for _, st := range []struct{ t, c, n, s int }{
			{1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
		} {
			for i := range st.n {
				k++
				stride := st.s
				if i > 0 {
					stride = 1
				}
				b.invertedResidual(fmt.Sprintf("b%d", k), st.t, ch(st.c), stride)
			}
		}
		b.conv("conv2", ch(1280), 1, 1, 0, 1)
		b.bn("bn2")
		b.act("relu2")
		b.add(&graph.Node{Name: "gap", Op: graph.GlobalAvgPool})
		b.add(&graph.Node{Name: "flatten", Op: graph.Flatten})
		b.linear("fc", classes)
	default:
		return nil, fmt.Errorf("nn: unknown model %q (have %v)", name, ZooNames)
	}
	Init(b.m, 1)
	if err := b.m.InferShapes(); err != nil {
		return nil, fmt.Errorf("nn: %s on %v: %w", name, inShape, err)
	}
	return b.m, nil
}

type builder struct {
	m       *graph.Model
	c, h, w int // current shape
	feat    int // features after flatten, 0 before
}

func (b *builder) add(l *graph.Node) {
	b.m.Nodes = append(b.m.Nodes, l)
	switch l.Op {
	case graph.Flatten:
		b.feat = b.c * b.h * b.w
	case graph.GlobalAvgPool:
		b.h, b.w = 1, 1
	}
}

func (b *builder) conv(name string, cout, k, stride, pad, group int) {
	b.convK(name, cout, [2]int{k, k}, stride, pad, group)
}

func (b *builder) convK(name string, cout int, k [2]int, stride, pad, group int) {
	b.add(&graph.Node{
		Name: name, Op: graph.Conv,
		WShape: []int{cout, b.c / group, k[0], k[1]},
		Kernel: k, Stride: [2]int{stride, stride}, Pad: [4]int{pad, pad, pad, pad},
		Dilation: [2]int{1, 1}, Group: group,
	})
	b.c = cout
	b.h = (b.h+2*pad-k[0])/stride + 1
	b.w = (b.w+2*pad-k[1])/stride + 1
}

func (b *builder) bn(name string) {
	b.add(&graph.Node{Name: name, Op: graph.BatchNorm, Eps: 1e-5,
		Gamma: make([]float32, b.c), Beta: make([]float32, b.c), Mean: make([]float32, b.c), Var: make([]float32, b.c)})
}

func (b *builder) act(name string) { b.add(&graph.Node{Name: name, Op: graph.ReLU}) }

func (b *builder) maxpool(name string, k int) {
	b.add(&graph.Node{Name: name, Op: graph.MaxPool, Kernel: [2]int{k, k}, Stride: [2]int{k, k}})
	b.h, b.w = b.h/k, b.w/k
}

// maxpoolPad adds a k×k max pooling with the given stride and padding
// (floor mode).
func (b *builder) maxpoolPad(name string, k, stride, pad int) {
	b.add(&graph.Node{Name: name, Op: graph.MaxPool, Kernel: [2]int{k, k}, Stride: [2]int{stride, stride}, Pad: [4]int{pad, pad, pad, pad}})
	b.h = (b.h+2*pad-k)/stride + 1
	b.w = (b.w+2*pad-k)/stride + 1
}

func (b *builder) linear(name string, out int) {
	b.add(&graph.Node{Name: name, Op: graph.Linear, WShape: []int{out, b.feat}})
}

// last returns the index of the last node added (graph.ModelInput before
// any).
func (b *builder) last() int { return len(b.m.Nodes) - 1 }

// basicBlock adds a ResNet basic block reading the last node: two 3×3
// convs with BatchNorm, the shortcut (identity, or a 1×1 conv + BN where
// the stride or channel count changes) added, then ReLU.
func (b *builder) basicBlock(name string, cout, stride int) {
	x, c, h, w := b.last(), b.c, b.h, b.w
	b.conv(name+"_conv1", cout, 3, stride, 1, 1)
	b.bn(name + "_bn1")
	b.act(name + "_relu1")
	b.conv(name+"_conv2", cout, 3, 1, 1, 1)
	b.bn(name + "_bn2")
	main := b.last()
	short := x
	if stride != 1 || c != cout {
		oc, oh, ow := b.c, b.h, b.w
		b.c, b.h, b.w = c, h, w
		b.conv(name+"_short", cout, 1, stride, 0, 1)
		b.m.Nodes[b.last()].Inputs = []int{x}
		b.bn(name + "_short_bn")
		short = b.last()
		b.c, b.h, b.w = oc, oh, ow
	}
	b.add(&graph.Node{Name: name + "_add", Op: graph.Add, Inputs: []int{main, short}})
	b.act(name + "_relu")
}

// invertedResidual adds a MobileNet-V2 block reading the last node:
// expand (t > 1), depthwise, linear projection, and the input added where
// the shapes match.
func (b *builder) invertedResidual(name string, t, cout, stride int) {
	x, c := b.last(), b.c
	if t != 1 {
		b.conv(name+"_expand", c*t, 1, 1, 0, 1)
		b.bn(name + "_expand_bn")
		b.act(name + "_expand_relu")
	}
	b.conv(name+"_dw", b.c, 3, stride, 1, b.c)
	b.bn(name + "_dw_bn")
	b.act(name + "_dw_relu")
	b.conv(name+"_project", cout, 1, 1, 0, 1)
	b.bn(name + "_project_bn")
	if stride == 1 && c == cout {
		b.add(&graph.Node{Name: name + "_add", Op: graph.Add, Inputs: []int{b.last(), x}})
	}
}
