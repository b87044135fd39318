# CUDA image: builds lra_train against the CUDA 13 torch wheel and runs it on the GPU.
# Follows docs/gpu.md (not yet verified on a GPU, and not built yet: no Docker engine was
# available). The wheel carries the CUDA runtime libraries, scripts/install_deps.sh adds nvcc
# 13.0 from PyPI (LibTorch's CMake config needs a toolkit), and the NVIDIA container toolkit
# supplies the driver at run time:
#   docker build -t lra_train:cuda .
#   docker run --rm --gpus all -v "$PWD/runs:/lra_train/runs" lra_train:cuda \
#     --config configs/quickstart.yaml
FROM debian:12
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /lra_train
COPY . .
RUN ./scripts/install_deps.sh && ./scripts/build.sh \
    && ./build/lra_train --config-reference > /dev/null
ENTRYPOINT ["/lra_train/build/lra_train"]
CMD ["--config", "configs/quickstart.yaml", "--set", "device=auto"]
