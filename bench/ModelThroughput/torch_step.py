#!/usr/bin/env python3
"""The PyTorch side of bench/ModelThroughput: the same BiT R50x1 training step (forward, cross-entropy, backward,
SGD momentum 0.9) as the TorchSharp program, timed the same way. Prints "RESULT pytorch <mode> <images/s> <s/step>".

Written for Debian's python3-torch (1.13) at /usr/bin/python3.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class StdConv2d(nn.Conv2d):
    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = ((w - mean) ** 2).mean(dim=(1, 2, 3), keepdim=True)
        return F.conv2d(x, (w - mean) / torch.sqrt(var + 1e-10), None, self.stride, self.padding)


class GroupNorm(nn.GroupNorm):
    # Under CPU autocast, torch 1.13 runs GroupNorm in the input's precision but refuses float32 affine parameters
    # with bf16 input; cast them, as the TorchSharp model does.
    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight.to(x.dtype), self.bias.to(x.dtype), self.eps)


class Unit(nn.Module):
    def __init__(self, cin, mid, cout, stride, proj):
        super().__init__()
        self.gn1 = GroupNorm(32, cin, 1e-5)
        self.conv1 = StdConv2d(cin, mid, 1, bias=False)
        self.gn2 = GroupNorm(32, mid, 1e-5)
        self.conv2 = StdConv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.gn3 = GroupNorm(32, mid, 1e-5)
        self.conv3 = StdConv2d(mid, cout, 1, bias=False)
        self.downsample = StdConv2d(cin, cout, 1, stride=stride, bias=False) if proj else None

    def forward(self, x):
        a = F.relu(self.gn1(x))
        shortcut = self.downsample(a) if self.downsample is not None else x
        y = self.conv1(a)
        y = self.conv2(F.relu(self.gn2(y)))
        y = self.conv3(F.relu(self.gn3(y)))
        return y + shortcut


class BiT(nn.Module):
    def __init__(self, blocks, width, classes):
        super().__init__()
        self.root = StdConv2d(3, int(64 * width), 7, stride=2, padding=3, bias=False)
        units, cin = [], int(64 * width)
        for stage, count in enumerate(blocks):
            cout = int(256 * width * 2 ** stage)
            for u in range(count):
                units.append(Unit(cin, cout // 4, cout, 2 if (u == 0 and stage > 0) else 1, u == 0))
                cin = cout
        self.body = nn.Sequential(*units)
        self.gn = GroupNorm(32, cin, 1e-5)
        self.head = nn.Conv2d(cin, classes, 1)

    def forward(self, x):
        x = F.max_pool2d(F.pad(self.root(x), (1, 1, 1, 1)), 3, 2)
        x = F.relu(self.gn(self.body(x)))
        return self.head(x.mean(dim=(2, 3), keepdim=True)).flatten(1).float()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="fp32,channels-last,bf16,bf16-channels-last")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"pytorch {torch.__version__}: R50x1 batch {args.batch} at {args.size}px, {args.warmup} warm-up + "
          f"{args.steps} timed steps, {torch.get_num_threads()} threads, device {args.device}", flush=True)
    for mode in args.modes.split(","):
        try:
            run(mode, args)
        except RuntimeError as e:  # a mode this torch build cannot run is reported, not fatal
            print(f"RESULT pytorch {mode} n/a n/a n/a ({str(e).splitlines()[0]})", flush=True)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def run(mode, args):
    torch.manual_seed(0)
    model = BiT([3, 4, 6, 3], 1, 1000)
    nn.init.normal_(model.head.weight, 0, 0.01)
    images = (torch.rand(args.batch, 3, args.size, args.size) * 2 - 1).to(args.device)
    labels = torch.randint(0, 1000, (args.batch,)).to(args.device)
    model = model.to(args.device)
    if "channels-last" in mode:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    model.train()
    start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            sync(args.device)
            start = time.perf_counter()
            cpu_start = time.process_time()
        if mode.endswith("forward"):
            with torch.no_grad():
                model(images).sum().item()
            continue
        optimizer.zero_grad()
        with torch.autocast(args.device, dtype=torch.bfloat16, enabled=mode.startswith("bf16")):
            logits = model(images)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()
        if not torch.isfinite(loss):
            raise SystemExit(f"{mode}: loss is not finite")
    sync(args.device)
    seconds = (time.perf_counter() - start) / args.steps
    # CPU seconds per step as well: on a shared machine the wall clock also counts other people's work.
    cpu = (time.process_time() - cpu_start) / args.steps
    print(f"RESULT pytorch {mode} {args.batch / seconds:.2f} {seconds:.3f} {cpu:.3f}", flush=True)


if __name__ == "__main__":
    main()
