#!/usr/bin/env bash
# Installs everything lra_train needs on Debian 12: the Debian -dev packages and the pinned
# PyTorch wheel (which carries LibTorch's headers, libraries and CMake config) in ./.venv.
# Idempotent: a second run only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${TORCH_VERSION:-2.11.0}"
DEBIAN_PACKAGES=(cmake g++ make python3 python3-venv libyaml-cpp-dev libspdlog-dev libcli11-dev
                 nlohmann-json3-dev libgtest-dev libpng-dev zlib1g-dev dataset-fashion-mnist
                 clang libclang-rt-14-dev)  # clang + libFuzzer runtime: fuzz/run.sh

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install_deps: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "install_deps: creating .venv"
  python3 -m venv .venv
fi
have=$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [ "$have" != "$TORCH_VERSION" ]; then
  echo "install_deps: installing torch==${TORCH_VERSION} into .venv (LibTorch for the C++ build)"
  .venv/bin/pip install --disable-pip-version-check -q "torch==${TORCH_VERSION}" numpy
fi
echo "install_deps: ok (torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
