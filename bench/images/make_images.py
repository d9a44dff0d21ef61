#!/usr/bin/env python3
"""Writes the JPEGs both image benchmarks read: photo-like 500x375 RGB (smooth colour fields, edges, sensor noise),
quality 90, 4:2:0, as Pillow saves by default. Deterministic (seeded).
    make_images.py DIR [--count 128]
"""
import argparse
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--count", type=int, default=128)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for c in range(2):
        os.makedirs(os.path.join(args.dir, "train", f"class{c}"), exist_ok=True)
        os.makedirs(os.path.join(args.dir, "test", f"class{c}"), exist_ok=True)
    for i in range(args.count):
        path = os.path.join(args.dir, "train", f"class{i % 2}", f"{i:04d}.jpg")
        if os.path.exists(path):
            continue
        base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((500, 375), Image.BICUBIC)
        draw = ImageDraw.Draw(base)
        for _ in range(30):
            x, y, r = rng.integers(0, 500), rng.integers(0, 375), rng.integers(4, 60)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        base = base.filter(ImageFilter.GaussianBlur(1.2))
        pixels = np.asarray(base, dtype=np.float32) + rng.normal(0, 6, (375, 500, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
    # One test image per class keeps ImageFolderDataset's split layout valid.
    for c in range(2):
        test = os.path.join(args.dir, "test", f"class{c}", "0000.jpg")
        if not os.path.exists(test):
            Image.open(os.path.join(args.dir, "train", f"class{c}", f"{c:04d}.jpg")).save(test, quality=90)


if __name__ == "__main__":
    main()
