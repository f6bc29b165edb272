#!/usr/bin/python3
"""Train the tiny Normalize-trained MNIST model of testdata/normalized_mnist.

Run from the repository root with Debian's PyTorch and NumPy
(python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_normalized_fixture.py [MNIST_DIR]

MNIST_DIR holds the gzipped IDX files (default: the GoMNIST module in the
Go module cache, found with `go env GOMODCACHE`). It trains a small CNN
(conv 3x3 pad 1, ReLU, max-pool, twice, then a linear layer) for two
epochs on the first 12,000 training images standardized as
transforms.Normalize((0.1307,), (0.3081,)) does, and writes

    testdata/normalized_mnist/model.onnx   opset 13, batch axis "N"
    testdata/normalized_mnist/test.npz     x: the first 100 test images as
                                           PyTorch standardized them
                                           (float32 N×1×28×28), y: labels
                                           (int64)
    testdata/normalized_mnist/reference.json
                                           PyTorch's outputs on x: logits,
                                           predicted classes, accuracy

The Go tests (internal/cli/userdata_test.go) check that quartz warns when
the model runs on raw pixels without --input-* flags, and that on test.npz
its ANN gives exactly PyTorch's classes and accuracy.
"""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = "testdata/normalized_mnist"
MEAN, STD = 0.1307, 0.3081


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def mnist_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    cache = subprocess.check_output(["go", "env", "GOMODCACHE"], text=True).strip()
    root = os.path.join(cache, "github.com", "petar")
    mod = sorted(d for d in os.listdir(root) if d.startswith("!go!m!n!i!s!t@"))[-1]
    return os.path.join(root, mod, "data")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 12, 3, padding=1)
        self.fc = nn.Linear(12 * 7 * 7, 10)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def standardize(u8):
    # transforms.ToTensor then transforms.Normalize((MEAN,), (STD,)).
    x = torch.from_numpy(u8.astype(np.float32)).div(255).unsqueeze(1)
    return (x - MEAN) / STD


def main():
    torch.manual_seed(1)
    torch.set_num_threads(1)
    d = mnist_dir()
    xtr = standardize(idx(os.path.join(d, "train-images-idx3-ubyte.gz"))[:12000])
    ytr = torch.from_numpy(idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))[:12000].astype(np.int64))
    xte_u8 = idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))[:100]
    yte = idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))[:100].astype(np.int64)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(2):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xtr[b]), ytr[b])
            loss.backward()
            opt.step()
    net.eval()

    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), os.path.join(OUT, "model.onnx"),
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, opset_version=13)
    xte = standardize(xte_u8)
    np.savez_compressed(os.path.join(OUT, "test.npz"), x=xte.numpy(), y=yte)
    with torch.no_grad():
        logits = net(xte)
    pred = logits.argmax(1).numpy()
    acc = float((pred == yte).mean() * 100)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"accuracy": acc, "predictions": pred.tolist(),
                   "logits": [[float(v) for v in row] for row in logits.numpy()]}, f)
        f.write("\n")
    print(f"accuracy on the 100 test images: {acc:.1f} %")


if __name__ == "__main__":
    main()
