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

Branching models (resnet_block: residual Add; concat_net: Concat of two
branches) check the DAG importer; onnx/fixtures_dag_test.go checks that
their imported graphs stay DAGs. extdata_net is saved with its weights as
ONNX external data: every opsetNN.onnx refers to its own opsetNN.weights.bin
in the same folder (this needs Debian's python3-onnx, 1.12).

Each model has a fixed seed (SEEDS): the first seven keep the seeds they
had when they were numbered by sorted name, so adding models leaves their
files unchanged.

Only the TorchScript-based exporter (torch.onnx.export) is used: Debian's
PyTorch 1.13 has no dynamo exporter (torch.onnx.dynamo_export /
torch.export). The dynamo exporter's output is covered by the real-world
corpus model pt-mnist-dynamo-extdata in ../shared/data/onnx-realworld, read
by onnx/realworld_test.go.
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


class BasicBlock(nn.Module):
    """ResNet basic block: conv3x3-bn-relu-conv3x3-bn, plus the shortcut
    (identity, or a strided 1x1 conv + bn projection), then relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s)


class ResNetBlock(nn.Module):
    """conv-bn-relu stem, an identity residual block, a projection residual
    block (1x1 conv, stride 2), global average pooling via torch.mean over
    (2, 3) (ReduceMean), linear: residual Add nodes of two activations."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False)  # 28 -> 14
        self.bn = nn.BatchNorm2d(8)
        self.block1 = BasicBlock(8, 8, 1)
        self.block2 = BasicBlock(8, 16, 2)  # 14 -> 7
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        return self.fc(torch.mean(x, (2, 3)))


class ConcatNet(nn.Module):
    """Two parallel branches of different depth (1x1 conv; 3x3 conv, relu,
    3x3 conv) concatenated along channels, relu, maxpool, flatten, linear."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 4, 3, stride=2, padding=1)  # 28 -> 14
        self.a = nn.Conv2d(4, 4, 1)
        self.b1 = nn.Conv2d(4, 6, 3, padding=1)
        self.b2 = nn.Conv2d(6, 6, 3, padding=1)
        self.fc = nn.Linear(10 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.conv0(x))
        y = torch.cat([self.a(x), self.b2(F.relu(self.b1(x)))], dim=1)
        y = F.max_pool2d(F.relu(y), 2)  # 14 -> 7
        return self.fc(torch.flatten(y, 1))


class ExtDataNet(nn.Module):
    """A small conv net whose ONNX files keep every initializer in an
    external data file (opsetNN.weights.bin)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, stride=2, padding=1)  # 28 -> 14
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)  # 14 -> 7
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


MODELS = {
    "lenet_flatten": (LeNetFlatten, (1, 28, 28)),
    "lenet_view": (LeNetView, (1, 28, 28)),
    "lenet_reshape": (LeNetReshape, (1, 28, 28)),
    "bn_net": (BNNet, (1, 28, 28)),
    "depthwise": (Depthwise, (1, 28, 28)),
    "pools": (Pools, (1, 28, 28)),
    "keras_nhwc": (KerasNHWC, (28, 28, 1)),
    "resnet_block": (ResNetBlock, (1, 28, 28)),
    "concat_net": (ConcatNet, (1, 28, 28)),
    "extdata_net": (ExtDataNet, (1, 28, 28)),
}

# Seeds per model. The first seven are 1000 + their index in the sorted
# names of the original seven models, as before; new models take new ones.
SEEDS = {
    "bn_net": 1000,
    "depthwise": 1001,
    "keras_nhwc": 1002,
    "lenet_flatten": 1003,
    "lenet_reshape": 1004,
    "lenet_view": 1005,
    "pools": 1006,
    "resnet_block": 1007,
    "concat_net": 1008,
    "extdata_net": 1009,
}

# Models saved with their initializers as external data.
EXTERNAL_DATA = {"extdata_net"}


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
    ap.add_argument("models", nargs="*", help="models to export (default all)")
    args = ap.parse_args()
    for name, (cls, shape) in sorted(MODELS.items()):
        if args.models and name not in args.models:
            continue
        torch.manual_seed(SEEDS[name])
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
            if name in EXTERNAL_DATA:
                save_external(path, "opset%d.weights.bin" % opset)
            print("wrote", path, os.path.getsize(path), "bytes")


def save_external(path, location):
    """Rewrites the model at path with every initializer in the file
    location, relative to the model's folder."""
    import onnx  # python3-onnx; only needed for external data

    m = onnx.load(path)
    data = os.path.join(os.path.dirname(path), location)
    if os.path.exists(data):
        os.remove(data)  # onnx appends to an existing data file
    onnx.save_model(
        m, path, save_as_external_data=True, all_tensors_to_one_file=True,
        location=location, size_threshold=0,
    )
    print("wrote", data, os.path.getsize(data), "bytes")


if __name__ == "__main__":
    main()
