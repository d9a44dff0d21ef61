#!/usr/bin/env bash
# The standing trainer benchmark (issue 14's table): every row against its peer on the same machine, alternating
# A/B round by round, Release builds, the CPU model, load average and kernel choice printed, medians reported.
# Writes the table between the "bench:trainer" markers of docs/benchmarks.md (with --write) and prints it.
#   bench/run.sh [--rounds 3] [--threads 2] [--seconds 5] [--write]
# Peers: bench/ModelThroughput/torch_step.py (Debian python3-torch), bench/images/pillow_images.py (python3-pil),
# bench/FashionMnist/torch_fashion_mnist.py (the README example in plain PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads=2 seconds=5 write=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --write) write=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
/usr/bin/python3 -c 'import torch, PIL, numpy' 2>/dev/null || { echo "needs Debian's python3-torch, python3-pil, python3-numpy (apt-get install)" >&2; exit 2; }
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
dotnet build bench/ModelThroughput -c Release -v quiet -nologo >/dev/null
dotnet build bench/TrainerPipeline -c Release -v quiet -nologo >/dev/null
dotnet build src/TrainerImage -c Release -v quiet -nologo >/dev/null
dotnet build bench/VipsImages -c Release -v quiet -nologo >/dev/null
vips=bench/VipsImages/bin/Release/net10.0/VipsImages.dll
model=bench/ModelThroughput/bin/Release/net10.0/ModelThroughput.dll
pipe=bench/TrainerPipeline/bin/Release/net10.0/TrainerPipeline.dll
images=${BIT_BENCH_IMAGES:-/tmp/bit-bench-images}
/usr/bin/python3 bench/images/make_images.py "$images" --count 128
out=$(mktemp)
trap 'rm -f "$out"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
step=(--batch 8 --size 128 --warmup 2 --steps 4 --threads "$threads")
trainer=src/TrainerImage/bin/Release/net10.0/bit-trainer.dll
fashion_trainer() {
  local dir; dir=$(mktemp -d)
  dotnet $trainer run examples/finetune-fashion-mnist.yaml --workdir "$dir" >/dev/null 2>&1 || { echo "RESULT trainer fashion-mnist n/a n/a n/a"; rm -rf "$dir"; return; }
  python3 - "$dir/metrics.jsonl" <<'PY'
import json, statistics, sys
records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
steps = [r["stepSeconds"] for r in records if r.get("type") == "train"][1:]
top1 = [r["top1"] for r in records if r.get("type") == "eval"][-1]
median = statistics.median(steps)
print(f"RESULT trainer fashion-mnist {64 / median:.1f} {median:.4f} {top1:.4f}")
PY
  rm -rf "$dir"
}
rss() { /usr/bin/time -f "RSS $1 %M" "${@:2}" 2>&1; }
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  # Each pair runs back to back, the side that goes first alternating between rounds.
  pair() { if [ $((round % 2)) -eq 1 ]; then eval "$1"; eval "$2"; else eval "$2"; eval "$1"; fi; }
  pair 'rss torchsharp dotnet $model "${step[@]}" --modes fp32 | tee -a "$out" >&2' \
       'rss pytorch /usr/bin/python3 bench/ModelThroughput/torch_step.py "${step[@]}" --modes fp32 | tee -a "$out" >&2'
  pair 'dotnet $model "${step[@]}" --modes fp32-forward | tee -a "$out" >&2' \
       '/usr/bin/python3 bench/ModelThroughput/torch_step.py "${step[@]}" --modes fp32-forward | tee -a "$out" >&2'
  for job in "decode 160 128" "augment 160 128" "augment 512 480"; do
    read -r what pre crop <<<"$job"
    pair 'dotnet $pipe images --dir "$images" --what $what --precrop $pre --crop $crop --seconds $seconds | grep RESULT | tee -a "$out" >&2' \
         '/usr/bin/python3 bench/images/pillow_images.py "$images" --what $what --precrop $pre --crop $crop --seconds $seconds | tee -a "$out" >&2'
  done
  # libvips (NetVips) against the trainer's TurboJPEG path, the same augmentation (bench/VipsImages).
  for job in "160 128" "512 480"; do
    read -r pre crop <<<"$job"
    pair 'dotnet $vips "$images" --precrop $pre --crop $crop --seconds $seconds | tee -a "$out" >&2' \
         'dotnet $pipe images --dir "$images" --what augment --precrop $pre --crop $crop --seconds $seconds | grep RESULT | sed "s/^RESULT csharp/RESULT turbo/" | tee -a "$out" >&2'
  done
  # The README example end to end: steady images/s = batch / median step seconds after the first, and top-1.
  pair 'fashion_trainer | tee -a "$out" >&2' \
       '/usr/bin/python3 bench/FashionMnist/torch_fashion_mnist.py --threads "$threads" | tee -a "$out" >&2'
  for workers in 1 2; do
    dotnet $pipe images --dir "$images" --what pipeline --workers $workers --precrop 512 --crop 480 --seconds $seconds | grep RESULT | tee -a "$out" >&2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Median of a column over the rounds: med KEY... COLUMN (fields of the RESULT lines).
med() {
  local col=$1; shift
  grep -E "^RESULT $*( |$)" "$out" | awk -v c="$col" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# Training FLOPs of R50x1 at 128 px: 4.1 GMAC at 224 px scaled by (128/224)^2, x2 FLOP per MAC, x3 for forward + backward.
peak_gflops=${BIT_PEAK_GFLOPS:-452}
share() { awk -v r="$1" -v p="$peak_gflops" 'BEGIN { if (r + 0 > 0) printf "%.1f %%", 100 * r * 4.1 * (128 / 224) ^ 2 * 2 * 3 / p; else print "n/a" }'; }
ts_step=$(med 4 torchsharp fp32); pt_step=$(med 4 pytorch fp32)
ts_fwd=$(med 4 torchsharp fp32-forward); pt_fwd=$(med 4 pytorch fp32-forward)
ts_rss=$(grep '^RSS torchsharp' "$out" | awk '{ print $3 }' | sort -g | tail -1); pt_rss=$(grep '^RSS pytorch' "$out" | awk '{ print $3 }' | sort -g | tail -1)
kernels=$(grep -m1 '^KERNELS' "$out" | cut -d' ' -f3- || true)
row_img() { # what size label
  local c p cc pc
  c=$(med 5 csharp "$1" "$2"); p=$(med 5 pillow "$1" "$2"); cc=$(med 6 csharp "$1" "$2"); pc=$(med 6 pillow "$1" "$2")
  echo "| $3, one thread | $c img/s ($(awk -v a="$c" -v b="$cc" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "n/a" }') per CPU-second) | Pillow $p ($(awk -v a="$p" -v b="$pc" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "n/a" }') per CPU-second) | $(ratio "$c" "$p") |"
}
{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load average before $load_before, after $load_after; $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "TorchSharp $(sed -n 's/.*Include="TorchSharp" Version="\([^"]*\)".*/\1/p' Directory.Packages.props) + libtorch $(sed -n 's/.*Include="libtorch-cpu-linux-x64" Version="\([^"]*\)".*/\1/p' Directory.Packages.props), $kernels; PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), Pillow $(/usr/bin/python3 -c 'import PIL; print(PIL.__version__)') (Debian)"
  echo "median of $rounds alternating rounds; $threads threads on both sides for the network; images: 128 JPEGs 500x375 (bench/images/make_images.py)"
  echo
  echo "| what | this project | peer | ratio |"
  echo "| --- | --- | --- | --- |"
  echo "| R50x1 SGD step, fp32, batch 8, 128 px, $threads threads | $ts_step img/s | PyTorch $pt_step | $(ratio "$ts_step" "$pt_step") |"
  echo "| R50x1 forward only | $ts_fwd img/s | PyTorch $pt_fwd | $(ratio "$ts_fwd" "$pt_fwd") |"
  echo "| share of the CPU's fp32 peak ($peak_gflops GFLOP/s) in training | $(share "$ts_step") | $(share "$pt_step") | |"
  row_img decode "160->128" "JPEG 500x375 decode"
  row_img augment "160->128" "decode + resize 160 + crop 128 + flip"
  row_img augment "512->480" "decode + resize 512 + crop 480 + flip"
  for size in "160->128" "512->480"; do
    echo "| decode + resize + crop + flip $size, one thread: TurboJPEG path vs NetVips (libvips thumbnail) | $(med 5 turbo augment "$size") img/s | NetVips $(med 5 vips augment "$size") | $(ratio "$(med 5 turbo augment "$size")" "$(med 5 vips augment "$size")") |"
  done
  for w in 1 2; do
    echo "| batch pipeline at 512 -> 480, $w worker(s) | $(med 5 csharp pipeline$w "512->480") img/s using $(med 6 csharp pipeline$w "512->480") cores | | |"
  done
  echo "| \`examples/finetune-fashion-mnist.yaml\`, steady img/s (top-1) | $(med 4 trainer fashion-mnist) ($(med 6 trainer fashion-mnist)) | plain PyTorch $(med 4 pytorch fashion-mnist) ($(med 6 pytorch fashion-mnist)) | $(ratio "$(med 4 trainer fashion-mnist)" "$(med 4 pytorch fashion-mnist)") |"
  echo "| peak RSS, R50x1 step (fp32 run) | $((ts_rss / 1024)) MiB | PyTorch $((pt_rss / 1024)) MiB | $(ratio "$ts_rss" "$pt_rss") |"
} > "$out.table"
cat "$out.table"
if [ "$write" = 1 ]; then
  python3 - "$out.table" <<'PY'
import re, sys
table = open(sys.argv[1]).read().rstrip("\n")
path = "docs/benchmarks.md"
doc = open(path).read()
begin, end = "<!-- bench:trainer:begin -->", "<!-- bench:trainer:end -->"
block = f"{begin}\n{table}\n{end}"
doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, doc, flags=re.S) if begin in doc else doc + "\n" + block + "\n"
open(path, "w").write(doc)
PY
  echo "written into docs/benchmarks.md" >&2
fi
rm -f "$out.table"
