#!/usr/bin/env python3
"""The plain-PyTorch peer of the README example (examples/finetune-fashion-mnist.yaml): the same tiny BiT network
(ResNet-v2, blocks [1, 1, 1, 1], width 0.5, GroupNorm + weight standardisation, zero head), the same 1,000-image
Fashion-MNIST subset, augmentation (bilinear resize to 36, random crop 32, flip, [-1, 1], gray to three channels),
schedule (batch 64, 100 steps, lr 0.03, linear warm-up over 20 steps, /10 after 40, 60 and 80; SGD momentum 0.9,
no weight decay, no MixUp) and evaluation (resize to 32, top-1 over the 500 test images).

Prints "RESULT pytorch fashion-mnist <steady images/s> <median step s> <top-1>"; steady = batch / the median
step time over the steps after the first (as bench/run.sh reads the trainer's metrics.jsonl).
Written for Debian's python3-torch (1.13) and python3-pil at /usr/bin/python3.
"""
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ModelThroughput"))
from torch_step import GroupNorm, StdConv2d, Unit  # noqa: E402  (the same layers as the R50x1 peer)


class TinyBiT(nn.Module):
    def __init__(self, blocks, width, classes):
        super().__init__()
        root = int(64 * width)
        self.root = StdConv2d(3, root, 7, stride=2, padding=3, bias=False)
        units, cin = [], root
        for stage, count in enumerate(blocks):
            cout = int(256 * width * 2 ** stage)
            for u in range(count):
                units.append(Unit(cin, cout // 4, cout, 2 if (u == 0 and stage > 0) else 1, u == 0))
                cin = cout
        self.body = nn.Sequential(*units)
        self.gn = GroupNorm(32, cin, 1e-5)
        self.head = nn.Conv2d(cin, classes, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = F.max_pool2d(F.pad(self.root(x), (1, 1, 1, 1)), 3, 2)
        x = F.relu(self.gn(self.body(x)))
        return self.head(x.mean(dim=(2, 3), keepdim=True)).flatten(1)


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def resized(images, side):
    # PIL's bilinear resize (antialiased when shrinking), as the trainer's resampler; gray to [-1, 1], 3 channels.
    out = np.stack([np.asarray(Image.fromarray(i).resize((side, side), Image.BILINEAR), dtype=np.float32) for i in images])
    t = torch.from_numpy(out / 127.5 - 1.0).unsqueeze(1)
    return t.expand(-1, 3, -1, -1).contiguous()


def learning_rate(step, base, warmup, boundaries):
    if step < warmup:
        return base * step / warmup
    return base / 10 ** sum(1 for b in boundaries if b < step)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(here, "..", "..", "data", "fashion-mnist-subset"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train_x = resized(idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")), 36)
    train_y = torch.from_numpy(idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    test_x = resized(idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")), 32)
    test_y = torch.from_numpy(idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    net = TinyBiT([1, 1, 1, 1], 0.5, 10)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.0, momentum=0.9)
    warmup, boundaries = a.steps // 5, [2 * a.steps // 5, 3 * a.steps // 5, 4 * a.steps // 5]
    generator = torch.Generator().manual_seed(a.seed)
    order, position, times = torch.randperm(len(train_x), generator=generator), 0, []
    for step in range(a.steps):
        started = time.perf_counter()
        if position + a.batch > len(order):
            order, position = torch.randperm(len(train_x), generator=generator), 0
        index = order[position:position + a.batch]
        position += a.batch
        # Random crop 32 of the 36 square and a random flip, per image.
        offsets = torch.randint(0, 5, (a.batch, 2), generator=generator)
        flips = torch.rand(a.batch, generator=generator) < 0.5
        crops = [train_x[i, :, oy:oy + 32, ox:ox + 32] for i, (oy, ox) in zip(index.tolist(), offsets.tolist())]
        x = torch.stack([c.flip(-1) if f else c for c, f in zip(crops, flips.tolist())])
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, 0.03, warmup, boundaries)
        opt.zero_grad()
        loss = F.cross_entropy(net(x), train_y[index])
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter() - started)
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(test_x[i:i + 250]).argmax(1) == test_y[i:i + 250]).sum()) for i in range(0, len(test_x), 250))
    median = statistics.median(times[1:])
    print(f"RESULT pytorch fashion-mnist {a.batch / median:.1f} {median:.4f} {correct / len(test_x):.4f}")


if __name__ == "__main__":
    main()
