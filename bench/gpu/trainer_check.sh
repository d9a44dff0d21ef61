#!/usr/bin/env bash
# The trainer on a GPU machine, as one short script (docs/benchmarks.md, "On a GPU"): the machine (CPU model and its
# AMX/AVX-512 flags, GPU, PyTorch), the R50x1 training step on the GPU against the machine's own PyTorch alternating
# A/B, the README example on CUDA (and again, which must resume and stop at once), the CPU's precision choice on
# the same README example with the GPU hidden, the CPU step against PyTorch there, and the NCCL all-reduce check.
# Uses the machine's PyTorch install for libtorch with CUDA (TorchSharp loads libtorch_cuda.so from the loader path)
# and the pack that bench/gpu/pack.sh wrote to .gpu/ (the .NET runtime and Release builds); no SDK, no network.
# Everything it prints also goes to $OUT/log where OUT is set. BIT_PYTHON names the Python with PyTorch (python3),
# BIT_LIBTORCH_DIR another libtorch (a dry run on a CPU machine: the NuGet libtorch-cpu's native folder).
#   bench/gpu/pack.sh               # where the SDK is
#   bench/gpu/trainer_check.sh      # on the GPU machine, from the repository root
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
exec > >(tee "$out/log") 2>&1
root=/tmp/bit-gpu
rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xJf .gpu/app.tar.xz || { echo "no .gpu/app.tar.xz: run bench/gpu/pack.sh first"; exit 2; }
export DOTNET_ROOT=$root/dotnet PATH=$root/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
py=${BIT_PYTHON:-python3}
torchlib=${BIT_LIBTORCH_DIR:-}
[ -n "$torchlib" ] || torchlib=$($py -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
nccllib=$($py -c 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH=$torchlib${nccllib:+:$nccllib}:$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
section() { echo; echo "=== $* ($(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"; }

section machine
grep -m1 'model name' /proc/cpuinfo
echo "cpus $(nproc); flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_bf16|amx_tile|amx_int8)$' | tr '\n' ' ')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$py -c 'import torch; print("pytorch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available())'
echo "libtorch from $torchlib; nccl from ${nccllib:-nowhere}"

mt=$root/model-throughput/ModelThroughput.dll
trainer=$root/trainer/bit-trainer.dll
step_ab() { # rounds, then the common arguments of both sides
  local rounds=$1; shift
  for r in $(seq 1 "$rounds"); do
    echo "-- round $r of $rounds"
    timeout 180 dotnet "$mt" "$@" || echo "torchsharp exit $?"
    timeout 180 $py bench/ModelThroughput/torch_step.py "$@" || echo "pytorch exit $?"
  done
}
summary() { # metrics.jsonl: median step after the first five, last top-1, start-up record
  $py - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
train = [r for r in rows if r.get("type") == "train"]
steps = sorted(r["stepSeconds"] for r in train[5:]) or [float("nan")]
evals = [r for r in rows if r.get("type") == "eval"]
for r in rows:
    if r.get("type") == "startup":
        print("startup", r["startupSeconds"], "s; kernels:", r["kernels"], "; precision:", r["precision"])
med = statistics.median(steps)
print(f"{len(train)} steps; median step {med:.4f} s ({64 / med:.0f} img/s at batch 64); last top-1 {evals[-1]['top1'] if evals else 'none'}")
PY
}

section "README example on CUDA"
rm -rf /tmp/rx-cuda
timeout 300 dotnet "$trainer" run examples/finetune-fashion-mnist.yaml --workdir /tmp/rx-cuda; echo "exit $?"
[ -f /tmp/rx-cuda/metrics.jsonl ] && summary /tmp/rx-cuda/metrics.jsonl && cp /tmp/rx-cuda/metrics.jsonl "$out/cuda-metrics.jsonl"
section "README example on CUDA, again (must resume from the final state)"
timeout 120 dotnet "$trainer" run examples/finetune-fashion-mnist.yaml --workdir /tmp/rx-cuda 2>&1 | tail -n 5; echo "exit ${PIPESTATUS[0]}"

section "README example on CUDA in bf16 (BIT_PRECISION=bf16)"
rm -rf /tmp/rx-cuda-bf16
BIT_PRECISION=bf16 timeout 300 dotnet "$trainer" run examples/finetune-fashion-mnist.yaml --workdir /tmp/rx-cuda-bf16 2>&1 | grep -v -E '^\s*step [0-9]+ ' ; echo "exit ${PIPESTATUS[0]}"
[ -f /tmp/rx-cuda-bf16/metrics.jsonl ] && summary /tmp/rx-cuda-bf16/metrics.jsonl && cp /tmp/rx-cuda-bf16/metrics.jsonl "$out/cuda-bf16-metrics.jsonl"

section "R50x1 step on the GPU, 224 px batch 64"
step_ab 2 --device cuda --batch 64 --size 224 --warmup 5 --steps 20 --threads 8 --modes fp32,channels-last,bf16-channels-last
section "R50x1 step on the GPU, 480 px batch 32 (the HyperRule's size)"
step_ab 1 --device cuda --batch 32 --size 480 --warmup 3 --steps 10 --threads 8 --modes bf16-channels-last,channels-last

section "NCCL all-reduce, one rank"
store=$(mktemp -d)
timeout 90 dotnet "$root/nccl-check/NcclCheck.dll" 0 1 "$store" 6553600; echo "exit $?"

section "CPU only (GPU hidden): README example with the precision chosen at start-up"
export CUDA_VISIBLE_DEVICES=
rm -rf /tmp/rx-cpu
timeout 240 dotnet "$trainer" run examples/finetune-fashion-mnist.yaml --workdir /tmp/rx-cpu 2>&1 | grep -v -E '^\s*step [0-9]+ ' | head -n 40; echo "exit ${PIPESTATUS[0]}"
[ -f /tmp/rx-cpu/metrics.jsonl ] && summary /tmp/rx-cpu/metrics.jsonl && cp /tmp/rx-cpu/metrics.jsonl "$out/cpu-metrics.jsonl"
section "CPU only: R50x1 step, 128 px batch 8, 16 threads"
step_ab 1 --device cpu --batch 8 --size 128 --warmup 1 --steps 3 --threads "$(nproc)" --modes bf16-channels-last,channels-last,fp32
section done
