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
from torch_step import BiT  # noqa: E402  (the same network as the R50x1 peer)


class TinyBiT(BiT):
    """The R50x1 peer's network at another depth and width, with BiT's zero head."""

    def __init__(self, blocks, width, classes):
        super().__init__(blocks, width, classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)


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
