#!/usr/bin/env bash
# Builds libbitdist.so (the C shim over Gloo) into $1 (default: ./build). Called by BiT.Distributed.csproj on every
# build (cmake and make skip the work when nothing changed). Needs cmake, g++ and Debian's libgloo-dev.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
if [ ! -f /usr/include/gloo/allreduce.h ]; then
  echo "bitdist: Gloo's headers are missing: apt-get install libgloo-dev (scripts/install-test-deps.sh does it)" >&2
  exit 1
fi
mkdir -p "$out"
cmake -S "$here" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -- -s >/dev/null
