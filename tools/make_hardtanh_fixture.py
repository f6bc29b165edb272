#!/usr/bin/python3
"""Train the tiny Hardtanh(0, 1) MNIST model of testdata/hardtanh_mnist.

Run from the repository root with Debian's PyTorch and NumPy:

    /usr/bin/python3 tools/make_hardtanh_fixture.py [MNIST_DIR]

A LeNet-like CNN whose activations are nn.Hardtanh(0, 1) (ONNX Clip(0, 1))
instead of ReLU, trained for two epochs on the first 12,000 MNIST training
pixels in [0, 1], written as testdata/hardtanh_mnist/model.onnx (opset 13).
Many of its pre-activations lie above the clip, so in the SNN a tenth of
the second conv's neurons fire early: internal/cli/userdata_test.go checks
that the per-layer "> 1 %" column counts them (measured before the clip)
and that eval warns.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_normalized_fixture import idx, mnist_dir  # noqa: E402

OUT = "testdata/hardtanh_mnist"


def main():
    torch.manual_seed(1)
    torch.set_num_threads(1)
    d = mnist_dir()
    x = torch.from_numpy(idx(os.path.join(d, "train-images-idx3-ubyte.gz"))[:12000].astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))[:12000].astype(np.int64))
    net = nn.Sequential(nn.Conv2d(1, 8, 5), nn.Hardtanh(0, 1), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 5), nn.Hardtanh(0, 1), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    for _ in range(2):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[b]), y[b]).backward()
            opt.step()
    net.eval()
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), os.path.join(OUT, "model.onnx"),
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, opset_version=13)


if __name__ == "__main__":
    main()
