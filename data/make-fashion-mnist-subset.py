#!/usr/bin/python3
"""Regenerates data/fashion-mnist-subset/ from Debian's dataset-fashion-mnist package.

A class-balanced subset: the first N training and M test images of every class, in the original file order
(no randomness, so the output is byte-identical on every run). Output: IDX files, gzip with mtime 0.

    apt-get install -y dataset-fashion-mnist
    /usr/bin/python3 data/make-fashion-mnist-subset.py [--train-per-class 100] [--test-per-class 50]
"""
import argparse
import gzip
import os
import struct

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASSES = 10


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def write_idx(path, type_code, dims, payload):
    header = struct.pack(">I", (type_code << 8) | len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as f:
        f.write(gzip.compress(header + payload, compresslevel=9, mtime=0))


def subset(prefix, per_class, out_dir):
    (n, rows, cols), images = read_idx(os.path.join(SOURCE, f"{prefix}-images-idx3-ubyte.gz"))
    (n_labels,), labels = read_idx(os.path.join(SOURCE, f"{prefix}-labels-idx1-ubyte.gz"))
    assert n == n_labels
    taken = [0] * CLASSES
    chosen = []
    for i in range(n):
        label = labels[i]
        if taken[label] < per_class:
            taken[label] += 1
            chosen.append(i)
    size = rows * cols
    write_idx(os.path.join(out_dir, f"{prefix}-images-idx3-ubyte.gz"), 0x08, (len(chosen), rows, cols),
              b"".join(images[i * size:(i + 1) * size] for i in chosen))
    write_idx(os.path.join(out_dir, f"{prefix}-labels-idx1-ubyte.gz"), 0x08, (len(chosen),),
              bytes(labels[i] for i in chosen))
    print(f"{prefix}: {len(chosen)} images, {taken} per class")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion-mnist-subset"))
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    subset("train", args.train_per_class, args.output)
    subset("t10k", args.test_per_class, args.output)


if __name__ == "__main__":
    main()
