#!/usr/bin/python3
"""Export the small PyTorch models under testdata/onnx/ and their outputs.

Run from the repository root with Debian's PyTorch (python3-torch):

    /usr/bin/python3 tools/export_fixtures.py [--out testdata/onnx]

For every model NAME it writes

    testdata/onnx/NAME/opset9.onnx, opset13.onnx, opset17.onnx
    testdata/onnx/NAME/input_0.pb    fixed input, float32, as the model takes it
    testdata/onnx/NAME/output_0.pb   PyTorch's output on that input (eval mode)

as ONNX TensorProto files (dims, data_type FLOAT, raw little-endian data),
the layout of the ONNX backend test data. Every model takes one 1x28x28
image (MNIST-shaped; the Keras-style model takes it as 28x28x1) and returns
10 scores, with a dynamic batch axis "N". Weights are PyTorch's default
initialization from a fixed seed; BatchNorm statistics are set to fixed
random values so that they matter. The Go test onnx/fixtures_test.go reads
everything back; nothing in the Go tests needs Python.
"""

import argparse
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

OPSETS = (9, 13, 17)
BATCH = 3


class LeNetFlatten(nn.Module):
    """LeNet-style, torch.flatten(x, 1): exports a Flatten node."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 5)
        self.conv2 = nn.Conv2d(4, 8, 5)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return F.max_pool2d(F.relu(self.conv2(x)), 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class LeNetView(LeNetFlatten):
    """x.view(x.size(0), -1): exports Shape, Gather, Unsqueeze, Concat, Reshape."""

    def forward(self, x):
        x = self.features(x)
        return self.fc(x.view(x.size(0), -1))


class LeNetReshape(LeNetFlatten):
    """x.reshape(-1, 128): exports a Reshape with a constant shape [-1, 128]."""

    def forward(self, x):
        return self.fc(self.features(x).reshape(-1, 8 * 4 * 4))


class BNNet(nn.Module):
    """Conv+BatchNorm2d (fused by the exporter in eval mode), Linear+
    BatchNorm1d (kept as a BatchNormalization node, folded by quartz),
    Dropout (dropped in eval) and a final LogSoftmax (dropped by quartz
    with a note)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(8 * 7 * 7, 16)
        self.bn3 = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = torch.flatten(F.relu(self.conv2(x)), 1)
        x = self.drop(F.relu(self.bn3(self.fc1(x))))
        return F.log_softmax(self.fc2(x), dim=1)


class Depthwise(nn.Module):
    """MobileNet-style: depthwise (groups = channels) and pointwise convs,
    ReLU6 (Clip), dilation, global average pooling."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.dw2 = nn.Conv2d(16, 32, 3, padding=2, dilation=2, groups=16)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu6(self.conv1(x))
        x = F.relu6(self.pw(F.relu6(self.dw(x))))
        x = F.relu(self.dw2(x))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class Pools(nn.Module):
    """AvgPool2d (plain and with padding, ceil_mode, count_include_pad=False),
    MaxPool2d with ceil_mode and padding, global average pooling via mean."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 12, 3, padding=1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)  # 26 -> 13
        x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)  # 13 -> 7
        x = F.relu(self.conv2(x))
        x = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)  # 7 -> 4
        x = nn.AdaptiveAvgPool2d((1, 1))(x)
        return self.fc(x.flatten(1))


class KerasNHWC(nn.Module):
    """A Keras-style model: the input is N,H,W,C and the graph starts with
    a Transpose to N,C,H,W."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 13 * 13, 10)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        return self.fc(torch.flatten(F.relu(self.conv(x)), 1))


MODELS = {
    "lenet_flatten": (LeNetFlatten, (1, 28, 28)),
    "lenet_view": (LeNetView, (1, 28, 28)),
    "lenet_reshape": (LeNetReshape, (1, 28, 28)),
    "bn_net": (BNNet, (1, 28, 28)),
    "depthwise": (Depthwise, (1, 28, 28)),
    "pools": (Pools, (1, 28, 28)),
    "keras_nhwc": (KerasNHWC, (28, 28, 1)),
}


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tensor_proto(name, t):
    """A TensorProto with dims (1), data_type FLOAT (2), name (8), raw_data (9)."""
    t = t.detach().contiguous().to(torch.float32)
    out = bytearray()
    for d in t.shape:
        out += varint(1 << 3 | 0) + varint(d)
    out += varint(2 << 3 | 0) + varint(1)
    nb = name.encode()
    out += varint(8 << 3 | 2) + varint(len(nb)) + nb
    raw = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
    out += varint(9 << 3 | 2) + varint(len(raw)) + raw
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/onnx")
    args = ap.parse_args()
    for i, (name, (cls, shape)) in enumerate(sorted(MODELS.items())):
        torch.manual_seed(1000 + i)
        m = cls()
        for mod in m.modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n) * 0.1)
                mod.running_var.copy_(torch.rand(n) * 0.5 + 0.5)
                mod.weight.data.copy_(torch.rand(n) + 0.5)
                mod.bias.data.copy_(torch.randn(n) * 0.1)
        m.eval()
        x = torch.rand(BATCH, *shape)
        with torch.no_grad():
            y = m(x)
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "input_0.pb"), "wb") as f:
            f.write(tensor_proto("input", x))
        with open(os.path.join(d, "output_0.pb"), "wb") as f:
            f.write(tensor_proto("output", y))
        for opset in OPSETS:
            path = os.path.join(d, "opset%d.onnx" % opset)
            torch.onnx.export(
                m, x, path,
                input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                opset_version=opset,
            )
            print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
