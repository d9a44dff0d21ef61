#!/usr/bin/env bash
# Training-step throughput of BiT R50x1 at 128 px on CPU: TorchSharp (this project) and PyTorch (Debian's
# python3-torch) in one script, alternating rounds on the same machine with the same batch and thread count.
# The machine is shared, so each side's best round (fewest seconds per step) is reported; the ratio compares bests.
# Prints a markdown table for docs/benchmarks.md ("Model training step, CPU").
#   bench/ModelThroughput/run.sh [--batch 8] [--steps 5] [--warmup 2] [--rounds 2] [--threads N] [--modes a,b]
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=8 steps=5 warmup=2 rounds=2 threads=$(nproc) modes=fp32,channels-last,bf16,bf16-channels-last
while [ $# -gt 0 ]; do
  case "$1" in
    --batch) batch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
common=(--batch "$batch" --size 128 --warmup "$warmup" --steps "$steps" --threads "$threads" --modes "$modes")
# Same thread pools on both sides: OpenMP/MKL read these before libtorch starts.
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads

dotnet build bench/ModelThroughput -c Release -v quiet -nologo >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds" >&2
  dotnet bench/ModelThroughput/bin/Release/net10.0/ModelThroughput.dll "${common[@]}" | tee -a "$out" >&2
  /usr/bin/python3 bench/ModelThroughput/torch_step.py "${common[@]}" | tee -a "$out" >&2
done

# Best round per side and mode: columns are RESULT side mode images/s s/step cpu-s/step.
best() {
  awk -v s="$1" -v m="$2" '$1=="RESULT" && $2==s && $3==m && $4!="n/a" { if (!n || $5 < t) { t=$5; i=$4; c=$6 }; n++ }
    END { if (n) printf "%s %s %s", i, t, c; else print "n/a n/a n/a" }' "$out"
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs ($(grep -o -m1 -w amx_bf16 /proc/cpuinfo || echo no AMX)), load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "TorchSharp $(sed -n 's/.*Include="TorchSharp" Version="\([^"]*\)".*/\1/p' Directory.Packages.props) + libtorch $(sed -n 's/.*Include="libtorch-cpu-linux-x64" Version="\([^"]*\)".*/\1/p' Directory.Packages.props); PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (Debian)"
echo "batch $batch at 128 px, $warmup warm-up + $steps timed steps, best of $rounds rounds, $threads threads on both sides"
echo
echo "| mode | TorchSharp images/s | PyTorch images/s | TorchSharp / PyTorch | CPU s/step TorchSharp | CPU s/step PyTorch |"
echo "| --- | --- | --- | --- | --- | --- |"
IFS=, read -ra list <<<"$modes"
for mode in "${list[@]}"; do
  read -r ts _ tcpu <<<"$(best torchsharp "$mode")"
  read -r pt _ pcpu <<<"$(best pytorch "$mode")"
  ratio=$(awk -v a="$ts" -v b="$pt" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "n/a" }')
  echo "| $mode | $ts | $pt | $ratio | $tcpu | $pcpu |"
done
