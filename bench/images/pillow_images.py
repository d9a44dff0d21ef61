#!/usr/bin/env python3
"""The Pillow side of the image benchmarks (Debian's python3-pil + numpy), the same work as
`TrainerPipeline images`: every JPEG of DIR/train, one thread, for --seconds, best of the passes.
  decode:  open + decode to RGB (Pillow's own image memory)
  augment: open, draft (shrink-on-load: 1/2, 1/4, 1/8 where the image stays >= precrop on both sides),
           RGB, bilinear (antialiased) resize to precrop x precrop, random crop, random flip, float CHW in [-1, 1]
Prints "RESULT pillow <what> <precrop>-><crop> <images/s> <cpu cores used>".
"""
import argparse
import glob
import os
import random
import time

import numpy as np
from PIL import Image


def decode(path, precrop, crop, rng):
    with Image.open(path) as im:
        im.load()
        return im if im.mode == "RGB" else im.convert("RGB")


def augment(path, precrop, crop, rng):
    with Image.open(path) as im:
        im.draft("RGB", (precrop, precrop))
        im = (im if im.mode == "RGB" else im.convert("RGB")).resize((precrop, precrop), Image.BILINEAR)
    top, left = rng.randrange(precrop - crop + 1), rng.randrange(precrop - crop + 1)
    im = im.crop((left, top, left + crop, top + crop))
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    return np.ascontiguousarray((np.asarray(im, dtype=np.float32) / 127.5 - 1.0).transpose(2, 0, 1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--what", default="augment", choices=["decode", "augment"])
    parser.add_argument("--precrop", type=int, default=160)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.dir, "train", "*", "*.jpg")))
    work = decode if args.what == "decode" else augment
    rng = random.Random(0)
    for f in files[:8]:
        work(f, args.precrop, args.crop, rng)
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < args.seconds:
        for f in files:
            work(f, args.precrop, args.crop, rng)
        count += len(files)
    wall = time.perf_counter() - start
    cores = (time.process_time() - cpu) / wall
    print(f"RESULT pillow {args.what} {args.precrop}->{args.crop} {count / wall:.1f} {cores:.2f}", flush=True)


if __name__ == "__main__":
    main()
