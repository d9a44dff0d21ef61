#!/usr/bin/env python3
"""An independent BiT ResNet-v2 forward pass in PyTorch, written from docs/bit-recipe.md.

It reads a checkpoint in the published .npz layout (keys resnet/..., kernels HWIO), infers the architecture from
the keys, runs a float32 NCHW input through the network and writes the logits as .npy. The C# tests compare their
own forward pass against it.

    bit_reference.py WEIGHTS.npz INPUT.npy OUTPUT.npy [--threads N]
"""
import argparse
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F


def standardize(kernel):
    # Per output channel over (in, kh, kw); biased variance; eps 1e-10.
    mean = kernel.mean(dim=(1, 2, 3), keepdim=True)
    var = ((kernel - mean) ** 2).mean(dim=(1, 2, 3), keepdim=True)
    return (kernel - mean) / torch.sqrt(var + 1e-10)


def std_conv(x, kernel, stride=1, padding=0):
    return F.conv2d(x, standardize(kernel), None, stride, padding)


def group_norm(x, gamma, beta):
    return F.group_norm(x, 32, gamma, beta, 1e-5)


class Checkpoint:
    def __init__(self, path):
        with np.load(path) as npz:
            self.arrays = {key: npz[key] for key in npz.files}
        self.used = set()

    def take(self, key):
        self.used.add(key)
        value = self.arrays[key]
        if value.dtype != np.float32:
            raise SystemExit(f"{key}: dtype {value.dtype}, expected float32")
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        # HWIO -> OIHW for kernels; vectors as they are.
        return tensor.permute(3, 2, 0, 1).contiguous() if tensor.dim() == 4 else tensor

    def units(self, block):
        pattern = re.compile(rf"^resnet/block{block}/unit(\d+)/")
        return sorted({int(m.group(1)) for k in self.arrays if (m := pattern.match(k))})


def unit(ckpt, x, prefix, stride):
    preact = F.relu(group_norm(x, ckpt.take(f"{prefix}/a/group_norm/gamma"), ckpt.take(f"{prefix}/a/group_norm/beta")))
    proj_key = f"{prefix}/a/proj/standardized_conv2d/kernel"
    shortcut = std_conv(preact, ckpt.take(proj_key), stride) if proj_key in ckpt.arrays else x
    y = std_conv(preact, ckpt.take(f"{prefix}/a/standardized_conv2d/kernel"))
    y = F.relu(group_norm(y, ckpt.take(f"{prefix}/b/group_norm/gamma"), ckpt.take(f"{prefix}/b/group_norm/beta")))
    y = std_conv(y, ckpt.take(f"{prefix}/b/standardized_conv2d/kernel"), stride, 1)  # the stride sits on the 3x3
    y = F.relu(group_norm(y, ckpt.take(f"{prefix}/c/group_norm/gamma"), ckpt.take(f"{prefix}/c/group_norm/beta")))
    y = std_conv(y, ckpt.take(f"{prefix}/c/standardized_conv2d/kernel"))
    return y + shortcut


def forward(ckpt, x):
    x = std_conv(x, ckpt.take("resnet/root_block/standardized_conv2d/kernel"), 2, 3)
    x = F.pad(x, (1, 1, 1, 1), mode="constant", value=0.0)
    x = F.max_pool2d(x, 3, 2)
    for block in range(1, 5):
        for index, u in enumerate(ckpt.units(block)):
            stride = 2 if block > 1 and index == 0 else 1
            x = unit(ckpt, x, f"resnet/block{block}/unit{u:02d}", stride)
    x = F.relu(group_norm(x, ckpt.take("resnet/group_norm/gamma"), ckpt.take("resnet/group_norm/beta")))
    x = x.mean(dim=(2, 3), keepdim=True)
    x = F.conv2d(x, ckpt.take("resnet/head/conv2d/kernel"), ckpt.take("resnet/head/conv2d/bias"))
    return x[:, :, 0, 0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ckpt = Checkpoint(args.weights)
    images = np.load(args.input)
    if images.dtype != np.float32 or images.ndim != 4:
        raise SystemExit(f"{args.input}: expected float32 NCHW, got {images.dtype} {images.shape}")
    with torch.no_grad():
        logits = forward(ckpt, torch.from_numpy(images))
    unused = set(ckpt.arrays) - ckpt.used
    if unused:
        raise SystemExit(f"keys not used by the reference: {sorted(unused)}")
    np.save(args.output, logits.numpy().astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
