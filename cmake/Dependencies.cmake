# Every dependency is found here; a missing one stops configuration with the package that
# provides it and the script that installs it.
set(LRA_INSTALL_HINT "run scripts/install_deps.sh (Debian 12) and pass the LibTorch prefix, e.g. scripts/build.sh")

macro(lra_require name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${name} not found: install the Debian package '${debian_package}' (${LRA_INSTALL_HINT}).")
  endif()
endmacro()

find_package(Torch QUIET)
if(NOT Torch_FOUND)
  message(FATAL_ERROR "LibTorch not found: install the PyPI wheel torch==2.11.0 into .venv and set "
                      "CMAKE_PREFIX_PATH to `python -c 'import torch;print(torch.utils.cmake_prefix_path)'` "
                      "(${LRA_INSTALL_HINT}).")
endif()
lra_require(yaml-cpp libyaml-cpp-dev)
lra_require(spdlog libspdlog-dev)
lra_require(CLI11 libcli11-dev)
lra_require(nlohmann_json nlohmann-json3-dev)
lra_require(PNG libpng-dev)
lra_require(ZLIB zlib1g-dev)
if(LRA_BUILD_TESTS)
  lra_require(GTest libgtest-dev)
endif()

# at::parallel_for is a header template: compiled without OpenMP it runs its body on one thread,
# and every op inside then forks and joins the intra-op pool on its own. Our code is compiled
# with OpenMP so that its parallel regions are real; at run time the executables' RUNPATH puts
# LibTorch's lib folder first, so the libgomp.so.1 LibTorch ships serves both (one thread pool).
find_package(OpenMP COMPONENTS CXX QUIET)
if(NOT OpenMP_CXX_FOUND)
  message(WARNING "OpenMP not found: lra_train's own parallel loops will run on one thread "
                  "(results are the same, the linear attention backends slower).")
endif()

# CUDA code paths compile whenever the LibTorch found was built with CUDA, even on a machine
# without a GPU: they are guarded at run time by torch::cuda::is_available().
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(LRA_WITH_CUDA ON)
else()
  set(LRA_WITH_CUDA OFF)
endif()
message(STATUS "lra_train: LibTorch ${Torch_VERSION}, CUDA code paths: ${LRA_WITH_CUDA}")
