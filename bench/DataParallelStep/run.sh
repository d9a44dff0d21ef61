#!/usr/bin/env bash
# Training step time of 2 ranks against 1 at the same global batch (issue 11), with the share of the step spent in
# collectives, for the trainer (`bit-trainer run MANIFEST --processes N`, Gloo through libbitdist.so, Release build)
# and for its peer, PyTorch's DistributedDataParallel on gloo (Debian python3-torch 1.13, torch_ddp_step.py), the
# same R50x1 network, global batch, resolution and threads. The four runs rotate order round by round; CPU model,
# kernel choice and load average printed; medians over rounds.
#   bench/DataParallelStep/run.sh [--rounds 3] [--batch 16] [--size 128] [--steps 6]
# Every run gets the machine's cores: 1 rank x all of them, or N ranks x cores/N (OMP_NUM_THREADS), so the
# comparison is of two ways to use the same CPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=3 batch=16 size=128 steps=6 warmup=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
/usr/bin/python3 -c 'import torch.distributed' || { echo "needs Debian's python3-torch" >&2; exit 2; }
cores=$(nproc)
dotnet build src/TrainerImage -c Release -v quiet -nologo >/dev/null
trainer=src/TrainerImage/bin/Release/net10.0/bit-trainer.dll
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total=$((warmup + steps))
cat >"$tmp/job.yaml" <<YAML
apiVersion: bit.training/v1alpha1
kind: BiTPretrainJob
metadata:
  name: ddp-step
spec:
  model:
    architecture: R50x1
  dataset:
    format: Idx
    path: $PWD/data/fashion-mnist-subset
    numClasses: 10
  hyperparameters:
    batchSize: $batch
    totalSteps: $total
    cropSize: $size
  checkpoint:
    everySteps: 1000
  seed: 0
YAML
out=$tmp/results
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; kernel $(uname -r); R50x1, global batch $batch at ${size}px, $warmup warm-up + $steps timed steps"
# The trainer: median stepSeconds and communicationSeconds of the timed steps from rank 0's metrics.jsonl.
ours() {
  local n=$1 work=$tmp/work-$1-$RANDOM
  OMP_NUM_THREADS=$((cores / n)) dotnet "$trainer" run "$tmp/job.yaml" --workdir "$work" --processes "$n" >"$tmp/log" 2>&1 \
    || { cat "$tmp/log" >&2; echo "bit-trainer failed" >&2; exit 1; }
  grep -m1 '^CPU convolutions' "$tmp/log" | sed 's/^/KERNELS /' >>"$out" || true
  /usr/bin/python3 - "$work/metrics.jsonl" "$n" "$warmup" "$batch" <<'PY' | tee -a "$out" >&2
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
timed = [r for r in rows if r["step"] > int(sys.argv[3])]
step = statistics.median(r["stepSeconds"] for r in timed)
comm = statistics.median(r.get("communicationSeconds", 0) for r in timed)
print(f"RESULT bittrainer {sys.argv[2]} {step:.4f} {int(sys.argv[4]) / step:.2f} {comm:.4f}")
PY
}
theirs() {
  /usr/bin/python3 bench/DataParallelStep/torch_ddp_step.py "$1" "$batch" "$size" "$warmup" "$steps" $((cores / $1)) | grep RESULT | tee -a "$out" >&2
}
runs=("ours 1" "ours 2" "theirs 1" "theirs 2")
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for k in 0 1 2 3; do ${runs[$(((round + k) % 4))]}; done
done
echo "kernels: $(grep -m1 '^KERNELS' "$out" | cut -d' ' -f2- || echo unknown)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
/usr/bin/python3 - "$out" "$batch" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("RESULT")]
def med(engine, world, col):
    v = [float(r[col]) for r in rows if r[1] == engine and r[2] == world]
    return statistics.median(v) if v else float("nan")
print("| engine | ranks x threads | s/step (median) | images/s | 2 ranks / 1 rank speed | time in collectives |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
import os
cores = os.cpu_count()
for engine, name in (("bittrainer", "bit-trainer (Gloo, libbitdist)"), ("pytorch-ddp", "PyTorch 1.13 DDP (gloo)")):
    one = med(engine, "1", 3)
    for world in ("1", "2"):
        step = med(engine, world, 3)
        speed = f"{one / step:.2f}" if world == "2" else ""
        comm = f"{100 * med(engine, world, 5) / step:.0f} %" if engine == "bittrainer" else "(overlapped, not measured)"
        print(f"| {name} | {world} x {cores // int(world)} | {step:.3f} | {med(engine, world, 4):.2f} | {speed} | {comm} |")
PY
