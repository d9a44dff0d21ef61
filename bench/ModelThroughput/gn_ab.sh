#!/usr/bin/env bash
# Issue 14's A/B of the native GroupNorm (Model/Native/NativeGroupNorm.cs): one R50x1 training step (bench/ModelThroughput)
# with BIT_NATIVE_GROUPNORM=0 (libtorch's group_norm) and =1 (libbitgn.so), and PyTorch 1.13 (torch_step.py) with the
# same batch, size, threads and modes, alternating in every round (the order of the two TorchSharp runs swaps each
# round) on a machine that may be shared. Prints the RESULT lines with their round and side, uptime per round, and
# a summary: per mode, the median over rounds of s/step and of the ratios (per round, then the median).
#   bench/ModelThroughput/gn_ab.sh [--rounds 4] [--batch 8] [--threads 2] [--modes channels-last,fp32] [--steps 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=4 batch=8 threads=2 modes=channels-last,fp32 steps=5 warmup=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
common=(--batch "$batch" --size 128 --warmup "$warmup" --steps "$steps" --threads "$threads" --modes "$modes")
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
dotnet build bench/ModelThroughput -c Release -v quiet -nologo >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; batch $batch at 128 px, $threads threads, $warmup warm-up + $steps timed steps, $rounds rounds"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
ts() { BIT_NATIVE_GROUPNORM=$1 dotnet bench/ModelThroughput/bin/Release/net10.0/ModelThroughput.dll "${common[@]}" | grep -E '^(RESULT|KERNELS)' | sed "s/^RESULT torchsharp /RESULT gn$1 /; s/^/round $2 /"; }
for round in $(seq 1 "$rounds"); do
  echo "round $round uptime: $(uptime)"
  if [ $((round % 2)) -eq 1 ]; then ts 0 "$round"; ts 1 "$round"; else ts 1 "$round"; ts 0 "$round"; fi | tee -a "$out"
  /usr/bin/python3 bench/ModelThroughput/torch_step.py "${common[@]}" | grep '^RESULT' | sed "s/^/round $round /" | tee -a "$out"
done
echo "after: $(uptime)"
# Columns: round N RESULT side mode images/s s/step cpu-s/step
IFS=, read -ra list <<<"$modes"
for mode in "${list[@]}"; do
  awk -v m="$mode" '$3=="RESULT" && $5==m && $6!="n/a" { t[$4","$2]=$7; c[$4","$2]=$8; r[$2]=1 }
    function median(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
      return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
    END { n = 0; for (k in r) { if (("gn0,"k) in t && ("gn1,"k) in t && ("pytorch,"k) in t) { n++; off[n]=t["gn0,"k]; on[n]=t["gn1,"k]; py[n]=t["pytorch,"k];
            s[n]=t["gn0,"k]/t["gn1,"k]; p1[n]=t["pytorch,"k]/t["gn1,"k]; p0[n]=t["pytorch,"k]/t["gn0,"k]; co[n]=c["gn0,"k]/c["gn1,"k] } }
      if (!n) { print m ": no complete round"; exit }
      printf "%s: %d rounds; median s/step: native GN %.3f, libtorch GN %.3f, PyTorch 1.13 %.3f; median per-round speed-up of native GN %.3fx (CPU s %.3fx); TorchSharp/PyTorch speed: %.3f with native GN, %.3f without\n",
        m, n, median(on, n), median(off, n), median(py, n), median(s, n), median(co, n), median(p1, n), median(p0, n) }' "$out"
done
