"""PyTorch DistributedDataParallel (gloo, 2 processes) on TinyNet: the reference for DataParallelTests.

Reads meta.json, param.<name>.bin, x.bin and y.bin from the directory given, runs one forward/backward of each
rank's half of the batch under DDP (which averages the gradients over the ranks), and writes rank 0's gradients
as grad.<name>.bin (float32, C order)."""
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.norm = nn.GroupNorm(4, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(F.relu(self.norm(self.conv(x))).mean([2, 3]))


def worker(rank, world, directory, store):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + store, rank=rank, world_size=world)
    meta = json.load(open(os.path.join(directory, "meta.json")))
    net = TinyNet()
    with torch.no_grad():
        for p in meta["params"]:
            data = np.fromfile(os.path.join(directory, "param.%s.bin" % p["name"]), dtype=np.float32)
            net.get_parameter(p["name"]).copy_(torch.from_numpy(data.reshape(p["shape"])))
    model = nn.parallel.DistributedDataParallel(net)
    x = torch.from_numpy(np.fromfile(os.path.join(directory, "x.bin"), dtype=np.float32).reshape(meta["x"]))
    y = torch.from_numpy(np.fromfile(os.path.join(directory, "y.bin"), dtype=np.int64))
    share = x.shape[0] // world
    xs, ys = x[rank * share:(rank + 1) * share], y[rank * share:(rank + 1) * share]
    F.cross_entropy(model(xs), ys).backward()
    if rank == 0:
        for name, p in net.named_parameters():
            p.grad.detach().contiguous().numpy().astype(np.float32).tofile(os.path.join(directory, "grad.%s.bin" % name))
        print("torch", torch.__version__, "gloo DDP, world", world)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    directory = sys.argv[1]
    store = os.path.join(tempfile.mkdtemp(), "store")
    mp.spawn(worker, args=(2, directory, store), nprocs=2, join=True)
