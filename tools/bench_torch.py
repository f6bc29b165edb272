#!/usr/bin/python3
"""Times Debian's PyTorch (python3-torch 1.13, CPU) on the same LeNet-5 and
batch sizes as quartz's benchmarks, for docs/benchmarks.md. Used only for
that comparison: nothing in quartz needs Python.

    /usr/bin/python3 tools/bench_torch.py [threads]

Random data of MNIST's shape (the timing does not depend on the values).
"""
import sys
import time

import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(1)

net = nn.Sequential(
    nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(12, 120, 4), nn.ReLU(), nn.Dropout(0.25), nn.Flatten(),
    nn.Linear(120, 10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

x = torch.rand(60000, 1, 28, 28)
y = torch.randint(0, 10, (60000,))

def epoch(batch=64):
    net.train()
    for i in range(0, 60000, batch):
        opt.zero_grad()
        loss = loss_fn(net(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()

def infer(batch=200):
    net.eval()
    with torch.no_grad():
        for i in range(0, 10000, batch):
            net(x[i:i + batch])

epoch()  # warm-up
times = []
for _ in range(2):
    t = time.perf_counter(); epoch(); times.append(time.perf_counter() - t)
infer()
itimes = []
for _ in range(5):
    t = time.perf_counter(); infer(); itimes.append(time.perf_counter() - t)
print(f"torch {torch.__version__} threads {threads}: train epoch (60k, batch 64) best {min(times):.2f} s; "
      f"inference 10k (batch 200) best {min(itimes):.3f} s")
