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
# TensorBoard, to view the event files lra_train writes; its reader is also what the tests check
# those files against.
TENSORBOARD_VERSION=2.21.0
have_tb=$(.venv/bin/python -c 'import tensorboard; print(tensorboard.__version__)' 2>/dev/null || true)
if [ "$have_tb" != "$TENSORBOARD_VERSION" ]; then
  echo "install_deps: installing tensorboard==${TENSORBOARD_VERSION} into .venv"
  .venv/bin/pip install --disable-pip-version-check -q "tensorboard==${TENSORBOARD_VERSION}"
fi

# Plots (experiments/plot_results.py) and the Python examples (examples/load_run.py) run with
# the same interpreter as everything else: .venv/bin/python.
MATPLOTLIB_VERSION=3.11.2
PANDAS_VERSION=3.1.2
have_py=$(.venv/bin/python -c 'import matplotlib, pandas; print(matplotlib.__version__, pandas.__version__)' 2>/dev/null || true)
if [ "$have_py" != "$MATPLOTLIB_VERSION $PANDAS_VERSION" ]; then
  echo "install_deps: installing matplotlib==${MATPLOTLIB_VERSION} pandas==${PANDAS_VERSION} into .venv"
  .venv/bin/pip install --disable-pip-version-check -q "matplotlib==${MATPLOTLIB_VERSION}" \
    "pandas==${PANDAS_VERSION}"
fi

# A CUDA-enabled wheel makes LibTorch's CMake config look for a CUDA toolkit (nvcc, cudart) even
# for CPU use. Without a system toolkit, take nvcc (with nvvm, crt and the CCCL headers) from
# PyPI, matching the wheel's CUDA version, into the wheel's own CUDA folder
# (.venv/.../nvidia/cuXX), and give that folder the lib64 and unversioned lib*.so names CMake's
# CUDA modules look for; scripts/build.sh points CMake at it.
wheel_cuda=$(.venv/bin/python -c 'import torch; print(torch.version.cuda or "")')
if [ -n "$wheel_cuda" ] && ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  cuda_dir=$(.venv/bin/python -c "import nvidia, os; print(os.path.join(nvidia.__path__[0], 'cu${wheel_cuda%%.*}'))")
  if [ ! -x "$cuda_dir/bin/nvcc" ]; then
    echo "install_deps: no system CUDA toolkit; installing nvcc ${wheel_cuda} from PyPI into .venv"
    .venv/bin/pip install --disable-pip-version-check -q --no-deps "nvidia-cuda-nvcc==${wheel_cuda}.*" \
      "nvidia-nvvm==${wheel_cuda}.*" "nvidia-cuda-crt==${wheel_cuda}.*" "nvidia-cuda-cccl==${wheel_cuda}.*"
  fi
  [ -e "$cuda_dir/lib64" ] || ln -s lib "$cuda_dir/lib64"
  for lib in "$cuda_dir"/lib/lib*.so.*; do
    name=$(basename "$lib"); plain="${name%%.so.*}.so"
    [ -e "$cuda_dir/lib/$plain" ] || ln -s "$name" "$cuda_dir/lib/$plain"
  done
fi
echo "install_deps: ok (torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
