#!/usr/bin/env python3
"""The peer of bench/DataParallelStep: the same BiT R50x1 training step (bench/ModelThroughput/torch_step.py's
network) with PyTorch's DistributedDataParallel on the gloo backend, WORLD processes on this machine, the global
batch split evenly over them, SGD momentum 0.9. Prints, from rank 0,
"RESULT pytorch-ddp <world> <median s/step> <images/s>".

  torch_ddp_step.py WORLD GLOBAL_BATCH SIZE WARMUP STEPS THREADS_PER_RANK

Written for Debian's python3-torch (1.13) at /usr/bin/python3.
"""
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ModelThroughput"))
from torch_step import BiT  # noqa: E402


def rank_main(rank, world, batch, size, warmup, steps, threads, store):
    torch.set_num_threads(threads)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = BiT([3, 4, 6, 3], 1, 10)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9, weight_decay=1e-4)
    share = batch // world
    generator = torch.Generator().manual_seed(1 + rank)
    times = []
    for step in range(warmup + steps):
        images = torch.rand(share, 3, size, size, generator=generator) * 2 - 1
        labels = torch.randint(0, 10, (share,), generator=generator)
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - started)
    if rank == 0:
        median = statistics.median(times)
        print(f"RESULT pytorch-ddp {world} {median:.4f} {batch / median:.2f}", flush=True)
    if world > 1:
        dist.destroy_process_group()


def main():
    world, batch, size, warmup, steps, threads = (int(a) for a in sys.argv[1:7])
    store = os.path.join(tempfile.mkdtemp(prefix="ddp-step-"), "store")
    if world == 1:
        rank_main(0, 1, batch, size, warmup, steps, threads, store)
    else:
        mp.spawn(rank_main, args=(world, batch, size, warmup, steps, threads, store), nprocs=world, join=True)


if __name__ == "__main__":
    main()
