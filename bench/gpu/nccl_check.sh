#!/usr/bin/env bash
# GPU check of the NCCL path (docs/distributed.md, "NCCL / CUDA"): WORLD processes (default: 2 where 2 GPUs are
# visible, else 1, since NCCL refuses two ranks of one communicator on the same GPU) each join a Gloo group, make the
# trainer's NcclCommunicator (rank 0's unique id over Gloo) and sum a device buffer in place with ncclAllReduce
# through src/Distributed's binding; each checks every element against the exact sum. Needs a GPU driver
# (libcuda.so.1) and libnccl.so.2 on the loader path; builds only src/Distributed and a small console program.
# It cannot run where this was written (no GPU): unrun so far.
#   bench/gpu/nccl_check.sh [--world N] [--count FLOATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
[ "${gpus:-0}" -ge 1 ] || { echo "no GPU visible (nvidia-smi -L)" >&2; exit 2; }
world=$(( gpus >= 2 ? 2 : 1 )) count=6553600
while [ $# -gt 0 ]; do
  case "$1" in
    --world) world=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dotnet build bench/gpu/NcclCheck -c Release -v quiet -nologo >/dev/null
bin=bench/gpu/NcclCheck/bin/Release/net10.0/NcclCheck.dll
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
echo "GPUs: $gpus; world $world; $count floats; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1)"
pids=()
for ((r = 0; r < world; r++)); do
  timeout 300 dotnet "$bin" "$r" "$world" "$store" "$count" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" -eq 0 ] && echo "NCCL all-reduce: correct on every rank" || echo "NCCL all-reduce: FAILED" >&2
exit "$status"
