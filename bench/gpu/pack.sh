#!/usr/bin/env bash
# Packs what bench/gpu/trainer_check.sh needs for a GPU machine that has a PyTorch install (libtorch with CUDA) but no
# .NET SDK and no network: the .NET runtime, Release builds of the trainer, bench/ModelThroughput and
# bench/gpu/NcclCheck without the CPU libtorch they were built with (the GPU machine's libtorch is used instead),
# and the Debian libraries the Gloo shim links. Writes .gpu/ (ignored by git), about 35 MiB.
#   bench/gpu/pack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in src/TrainerImage bench/ModelThroughput bench/gpu/NcclCheck; do
  dotnet build "$p" -c Release -v quiet -nologo >/dev/null
done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
copy_app() { # $1 build output, $2 name in the pack: managed code, LibTorchSharp, SkiaSharp, the project's shims
  mkdir -p "$stage/app/$2/runtimes/linux-x64/native"
  find "$1" -maxdepth 1 -type f ! -name '*.pdb' -exec cp {} "$stage/app/$2/" \;
  for f in libLibTorchSharp.so libSkiaSharp.so; do
    [ -f "$1/runtimes/linux-x64/native/$f" ] && cp "$1/runtimes/linux-x64/native/$f" "$stage/app/$2/runtimes/linux-x64/native/"
  done
  return 0
}
copy_app src/TrainerImage/bin/Release/net10.0 trainer
copy_app bench/ModelThroughput/bin/Release/net10.0 model-throughput
copy_app bench/gpu/NcclCheck/bin/Release/net10.0 nccl-check
mkdir -p "$stage/app/lib"
ldd src/TrainerImage/bin/Release/net10.0/libbitdist.so | awk '/=>/ { print $3 }' \
  | grep -E 'libgloo|libhiredis|libibverbs|libnl-' | xargs -r -I{} cp -L {} "$stage/app/lib/"
dotnet=$(dirname "$(readlink -f "$(command -v dotnet)")")
runtime=$(ls -d "$dotnet"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -n 1)
mkdir -p "$stage/app/dotnet/shared/Microsoft.NETCore.App"
cp -a "$dotnet/dotnet" "$dotnet/host" "$stage/app/dotnet/"
cp -a "$runtime" "$stage/app/dotnet/shared/Microsoft.NETCore.App/"
rm -rf .gpu && mkdir -p .gpu
XZ_OPT=-6T2 tar -C "$stage/app" -cJf .gpu/app.tar.xz .
ls -l .gpu/app.tar.xz
