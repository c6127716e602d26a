#!/usr/bin/python3
"""Median training-step time of nnaccel's resnet-s rebuilt in PyTorch (Debian's python3-torch).

The same network as src/train/model_zoo.cpp (3x3 stem 1->16 + BN + ReLU; one residual block at
16, 32 and 64 channels, the last two with stride 2 and a 1x1 stride-2 projection + BN on the
shortcut; global average pooling; a 64->10 linear layer), the same batch, optimizer (SGD with
Nesterov momentum 0.9, weight decay 5e-4 on weights of rank >= 2 only, like nnaccel), loss (mean
cross entropy), BatchNorm settings (eps 1e-5, running-stat momentum 0.1 = ONNX's 0.9) and input
scaling (u8 / 255) on Fashion-MNIST, with torch.set_num_threads(THREADS).

--precision bf16 runs the forward under torch.autocast("cpu", dtype=torch.bfloat16) (convolutions
and matmuls in bf16, weights kept in f32), the usual PyTorch mixed precision on CPU.

Prints one JSON line: {"median_step_ms": ..., "steps": ..., ...}. Times only whole steps
(forward, backward, optimizer), after WARMUP untimed ones.
"""
import argparse
import gzip
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def load_fashion_mnist(limit):
    with gzip.open(f"{DATA}/train-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/train-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = bn(cout)
        self.project = None
        if stride != 1 or cin != cout:
            self.project = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), bn(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.project is None else self.project(x)))


class ResNetS(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = bn(16)
        self.blocks = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
        self.fc = nn.Linear(64, classes)
        for m in self.modules():  # nnaccel's initialization: Kaiming normal (fan in), Xavier fc
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        h = F.relu(self.bn(self.stem(x)))
        h = self.blocks(h)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    total = a.warmup + a.steps
    x, y = load_fashion_mnist(total * a.batch)
    if x.shape[0] < total * a.batch:
        sys.exit(f"need {total * a.batch} images, have {x.shape[0]}")
    model = ResNetS()
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=a.lr, momentum=0.9, nesterov=True)
    order = torch.randperm(x.shape[0])
    times, losses = [], []
    for step in range(total):
        idx = order[step * a.batch:(step + 1) * a.batch]
        xb, yb = x[idx], y[idx]  # batch assembly is not timed (nnaccel's loader is not either)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if a.precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
        else:
            loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        losses.append(loss.item())
        if step >= a.warmup:
            times.append(t1 - t0)
    print(json.dumps({
        "framework": f"torch {torch.__version__}",
        "precision": a.precision,
        "threads": a.threads,
        "batch": a.batch,
        "steps": len(times),
        "median_step_ms": 1000.0 * statistics.median(times),
        "first_loss": losses[0],
        "last_loss": statistics.mean(losses[-10:]),
    }))


if __name__ == "__main__":
    main()
