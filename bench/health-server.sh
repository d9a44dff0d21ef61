#!/usr/bin/env bash
# Issue 10: resident memory of the operator (bench/OperatorBench part 2, 5,000 jobs) with its hand-written
# /healthz, /readyz, /metrics socket server (A) against the same endpoints on the BCL's HttpListener (B, what
# prometheus-net's MetricServer is built on). Release build, A and B alternating round by round (the side that goes
# first alternates too), CPU model and load average printed, medians reported.
#   bench/health-server.sh [--rounds 3] [--jobs 5000]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 jobs=5000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dotnet build bench/OperatorBench -c Release -v quiet -nologo >/dev/null
dll=bench/OperatorBench/bin/Release/net10.0/OperatorBench.dll
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, kernel $(uname -r), load before $(cut -d' ' -f1-3 /proc/loadavg)"
side() {
  local name=$1 env=()
  [ "$name" = B ] && env=(--operator-env BIT_OPERATOR_HEALTH_SERVER=httplistener)
  echo "round $round, side $name (load $(cut -d' ' -f1-3 /proc/loadavg))"
  dotnet "$dll" --memory-only --memory-jobs "$jobs" "${env[@]}" > "$out.run"
  # One RESULT line a run: idle, settled with the jobs, after a scrape, restarted (last 5 s), restarted after a scrape, apply peak.
  local idle settled scraped restarted again peak
  idle=$(grep -oP 'idle \(0 jobs, caches synced\) \K[0-9.]+' "$out.run")
  settled=$(grep -oP 'their pods cached \K[0-9.]+' "$out.run")
  scraped=$(grep -oP 's after one /metrics scrape .*: \K[0-9.]+' "$out.run")
  restarted=$(grep -oP 'restarted, [0-9]+-[0-9]+ s after start: \K[0-9.]+' "$out.run")
  again=$(grep -oP 's after that scrape: \K[0-9.]+' "$out.run")
  peak=$(grep -oP 'at most \K[0-9.]+' "$out.run")
  echo "RESULT $name $idle $settled $scraped $restarted $again $peak" | tee -a "$out"
}
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then side A; side B; else side B; side A; fi
done
echo "load after $(cut -d' ' -f1-3 /proc/loadavg)"
med() { grep "^RESULT $1 " "$out" | awk -v c="$2" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { grep "^RESULT $1 " "$out" | awk -v c="$2" '{ print $c }' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
echo "medians (MiB; range over the rounds): measure | A hand-written | B HttpListener"
col=3
for m in idle settled after-scrape restarted restarted-after-scrape apply-peak; do
  echo "$m | $(med A $col) ($(range A $col)) | $(med B $col) ($(range B $col))"
  col=$((col + 1))
done
