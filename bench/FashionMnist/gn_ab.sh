#!/usr/bin/env bash
# Issue 14's A/B of the native GroupNorm on the README example: bit-trainer run examples/finetune-fashion-mnist.yaml
# with BIT_NATIVE_GROUPNORM=0 and =1 (the order swapping each round) and the plain-PyTorch peer
# (torch_fashion_mnist.py) in every round; prints per run the median stepSeconds after the first step (from
# metrics.jsonl), top-1 and uptime, then the medians and the median per-round ratios.
#   bench/FashionMnist/gn_ab.sh [--rounds 4] [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=4 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
dotnet build src/TrainerImage -c Release -v quiet -nologo >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $threads threads, $rounds rounds"
trainer() { # gn round
  BIT_NATIVE_GROUPNORM=$1 dotnet src/TrainerImage/bin/Release/net10.0/bit-trainer.dll run examples/finetune-fashion-mnist.yaml \
    --workdir "$work/run$2-$1" >"$work/run$2-$1.log" 2>&1
  python3 - "$work/run$2-$1/metrics.jsonl" "$1" "$2" <<'PY'
import json, statistics, sys
steps, top1 = [], None
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("type") == "train":
        steps.append(d["stepSeconds"])
    elif d.get("type") == "eval":
        top1 = d.get("top1")
print(f"round {sys.argv[3]} RESULT gn{sys.argv[2]} fashion-mnist {64 / statistics.median(steps[1:]):.1f} {statistics.median(steps[1:]):.4f} {top1}")
PY
}
for round in $(seq 1 "$rounds"); do
  echo "round $round uptime: $(uptime)"
  if [ $((round % 2)) -eq 1 ]; then trainer 0 "$round"; trainer 1 "$round"; else trainer 1 "$round"; trainer 0 "$round"; fi | tee -a "$work/out"
  /usr/bin/python3 bench/FashionMnist/torch_fashion_mnist.py --threads "$threads" | grep '^RESULT' | sed "s/^/round $round /" | tee -a "$work/out"
done
echo "after: $(uptime)"
# Columns: round N RESULT side fashion-mnist images/s step-s top-1
awk '$3=="RESULT" { t[$4","$2]=$7; r[$2]=1 }
  function median(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  END { n = 0; for (k in r) if (("gn0,"k) in t && ("gn1,"k) in t && ("pytorch,"k) in t) { n++; off[n]=t["gn0,"k]; on[n]=t["gn1,"k]; py[n]=t["pytorch,"k];
          s[n]=t["gn0,"k]/t["gn1,"k]; p1[n]=t["pytorch,"k]/t["gn1,"k]; p0[n]=t["pytorch,"k]/t["gn0,"k] }
    printf "README example: %d rounds; median step s: native GN %.4f, libtorch GN %.4f, PyTorch 1.13 %.4f; median per-round speed-up of native GN %.2fx; TorchSharp/PyTorch speed: %.2f with native GN, %.2f without\n",
      n, median(on, n), median(off, n), median(py, n), median(s, n), median(p1, n), median(p0, n) }' "$work/out"
