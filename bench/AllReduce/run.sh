#!/usr/bin/env bash
# All-reduce throughput of the trainer's CPU collective engine (Gloo through the project's binding, libbitdist.so)
# against torch.distributed all_reduce on gloo (Debian python3-torch) and Open MPI's MPI_Allreduce, WORLD ranks on
# this machine over loopback, the same sizes (float32 elements; 6,553,600 = DDP's 25 MiB bucket) in every round,
# the order of the three rotating round by round. Release build; CPU model, kernel and load average printed; the
# median over rounds reported.
#   bench/AllReduce/run.sh [--rounds 3] [--world 2] [--seconds 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=3 world=2 seconds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --world) world=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
sizes=(1024 65536 1048576 6553600)
/usr/bin/python3 -c 'import torch.distributed' || { echo "needs Debian's python3-torch" >&2; exit 2; }
dotnet build bench/AllReduce -c Release -v quiet -nologo >/dev/null
bin=bench/AllReduce/bin/Release/net10.0/AllReduce.dll
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_mpi=0
if command -v mpicc >/dev/null 2>&1; then
  mpicc -O2 -o "$tmp/mpi_allreduce" bench/AllReduce/mpi_allreduce.c && have_mpi=1
else
  echo "mpicc missing (apt-get install openmpi-bin libopenmpi-dev): Open MPI not measured" >&2
fi
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; kernel $(uname -r); world $world ranks on loopback"
out=$tmp/results
bitdist() {
  local store=$tmp/store-$RANDOM$RANDOM pids=()
  for r in $(seq 0 $((world - 1))); do dotnet "$bin" "$r" "$world" "$store" bench "$seconds" "${sizes[@]}" >>"$out.$r" & pids+=($!); done
  wait "${pids[@]}"; cat "$out.0" | tee -a "$out" >&2; rm -f "$out".*
}
torchgloo() {
  local store=$tmp/torch-$RANDOM$RANDOM pids=()
  for r in $(seq 0 $((world - 1))); do /usr/bin/python3 bench/AllReduce/torch_allreduce.py "$r" "$world" "$store" "$seconds" "${sizes[@]}" >>"$out.$r" & pids+=($!); done
  wait "${pids[@]}"; cat "$out.0" | tee -a "$out" >&2; rm -f "$out".*
}
openmpi() {
  [ $have_mpi -eq 1 ] || return 0
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np "$world" "$tmp/mpi_allreduce" "$seconds" "${sizes[@]}" | tee -a "$out" >&2
}
engines=(bitdist torchgloo openmpi)
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for k in 0 1 2; do "${engines[$(((round + k) % 3))]}"; done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| floats | bytes | bitdist (Gloo, this binding) GB/s | torch.distributed gloo GB/s | Open MPI GB/s | bitdist / torch |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
/usr/bin/python3 - "$out" "${sizes[@]}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("RESULT")]
def med(engine, size):
    v = [float(r[4]) for r in rows if r[1] == engine and r[2] == size]
    return statistics.median(v) if v else float("nan")
for size in sys.argv[2:]:
    a, b, c = med("bitdist", size), med("torch-gloo", size), med("openmpi", size)
    print("| %s | %s | %.3f | %.3f | %.3f | %.2f |" % (format(int(size), ","), format(int(size) * 4, ","), a, b, c, a / b))
PY
