"""The peer: torch.distributed all_reduce (gloo backend, Debian python3-torch) of the same sizes, measured the same
way as Program.cs. python3 torch_allreduce.py RANK WORLD STORE_FILE SECONDS SIZE..."""
import sys
import time

import torch
import torch.distributed as dist

rank, world, store, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method="file://" + store, rank=rank, world_size=world)
for size in map(int, sys.argv[5:]):
    data = torch.ones(size, dtype=torch.float32)
    for _ in range(3):
        dist.all_reduce(data)
    started = time.perf_counter()
    dist.all_reduce(data)
    count = torch.tensor([max(3, min(100000, int(seconds / max(time.perf_counter() - started, 1e-6))))], dtype=torch.int32)
    dist.broadcast(count, 0)
    n = int(count.item())
    dist.barrier()
    started = time.perf_counter()
    for _ in range(n):
        dist.all_reduce(data)
    each = (time.perf_counter() - started) / n
    if rank == 0:
        print("RESULT torch-gloo %d %.4E %.3f" % (size, each, size * 4.0 / each / 1e9), flush=True)
dist.destroy_process_group()
