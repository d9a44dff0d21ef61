#!/usr/bin/env python3
"""The PyTorch twin of bench/LayerProfile: forward + backward ms of each distinct R50x1 layer shape."""
import argparse
import time

import torch
import torch.nn.functional as F


def shapes(size):
    out = [("root7x7", 3, 64, 7, 2, 3, size, 1)]
    hw, cin, units = size // 4, 64, [3, 4, 6, 3]
    for stage in range(4):
        cout = 256 << stage
        mid, stride = cout // 4, 1 if stage == 0 else 2
        ohw = hw // stride
        n = stage + 1
        out += [(f"s{n}.conv1.first", cin, mid, 1, 1, 0, hw, 1), (f"s{n}.conv2.first", mid, mid, 3, stride, 1, hw, 1),
                (f"s{n}.proj", cin, cout, 1, stride, 0, hw, 1), (f"s{n}.conv1", cout, mid, 1, 1, 0, ohw, units[stage] - 1),
                (f"s{n}.conv2", mid, mid, 3, 1, 1, ohw, units[stage] - 1), (f"s{n}.conv3", mid, cout, 1, 1, 0, ohw, units[stage])]
        cin, hw = cout, ohw
    return out


def norms(size):
    out, hw, cin, units = [], size // 4, 64, [3, 4, 6, 3]
    for stage in range(4):
        cout = 256 << stage
        mid, ohw = cout // 4, hw if stage == 0 else hw // 2
        out += [(cin, hw, 1), (cout, ohw, units[stage] - 1), (mid, hw, 1), (mid, ohw, 2 * units[stage] - 1)]
        cin, hw = cout, ohw
    return out + [(2048, hw, 1)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--paths", default="conv,conv-cl,gn,gn-cl,ws")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    paths = set(a.paths.split(","))
    print(f"pytorch {torch.__version__} layers: batch {a.batch} at {a.size}px, {torch.get_num_threads()} threads")

    walls = []

    def timed(fn):
        # Least process CPU ms over the repeats (run with OMP_WAIT_POLICY=passive), least wall ms beside it.
        fn()
        best, wall = float("inf"), float("inf")
        for _ in range(a.repeat):
            c, t = time.process_time(), time.perf_counter()
            fn()
            best, wall = min(best, time.process_time() - c), min(wall, time.perf_counter() - t)
        walls.append(wall * 1000)
        return best * 1000

    total = 0.0
    for name, cin, cout, k, stride, pad, hw, count in shapes(a.size):
        for path in ("conv", "conv-cl"):
            if path not in paths:
                continue

            x = torch.randn(a.batch, cin, hw, hw)
            if path == "conv-cl":
                x = x.contiguous(memory_format=torch.channels_last)
            x.requires_grad_(True)
            w = torch.randn(cout, cin, k, k, requires_grad=True)

            def run():
                y = F.conv2d(x, w, None, stride, pad)
                y.backward(torch.ones_like(y))
                x.grad = None
                w.grad = None
            ms = timed(run)
            total += ms * count
            print(f"LAYER {path} {name} {ms:.2f} x{count} wall {walls[-1]:.2f}")
    for c, hw, count in norms(a.size):
        for path in ("gn", "gn-cl"):
            if path not in paths:
                continue

            x = torch.randn(a.batch, c, hw, hw)
            if path == "gn-cl":
                x = x.contiguous(memory_format=torch.channels_last)
            x.requires_grad_(True)
            g = torch.ones(c, requires_grad=True)
            b = torch.zeros(c, requires_grad=True)

            def run():
                y = F.group_norm(x, 32, g, b, 1e-5)
                y.backward(torch.ones_like(y))
                x.grad = g.grad = b.grad = None
            ms = timed(run)
            total += ms * count
            print(f"LAYER {path} c{c}@{hw} {ms:.2f} x{count} wall {walls[-1]:.2f}")
    if "ws" in paths:
        for name, cin, cout, k, stride, pad, hw, count in shapes(a.size):
            w = torch.randn(cout, cin, k, k, requires_grad=True)

            def run():
                m = w.mean(dim=(1, 2, 3), keepdim=True)
                c = w - m
                v = (c * c).mean(dim=(1, 2, 3), keepdim=True)
                y = c * (v + 1e-10).rsqrt()
                y.backward(torch.ones_like(y))
                w.grad = None
            ms = timed(run)
            total += ms * count
            print(f"LAYER ws {name} {ms:.2f} x{count} wall {walls[-1]:.2f}")
    print(f"TOTAL {total:.1f} ms (sum of rows x counts)")


if __name__ == "__main__":
    main()
