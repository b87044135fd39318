// Named tensors in the safetensors format, the file a model's initial state travels in between
// lra_train and other implementations (the PyTorch reference code): plain Python reads and
// writes it with the `safetensors` package or with numpy alone (an 8-byte header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw little-endian data), and,
// unlike a torch.save'd pickle, loading it runs no code.
#pragma once
#include <string>

#include "train/model_state.h"

namespace lra {

// Writes every tensor (moved to the CPU, contiguous) under its name, atomically. float32,
// float64, bfloat16, float16, int64, int32, int16, uint8 and bool are written.
void save_safetensors(const std::string& path, const NamedTensors& tensors);

// Reads every tensor of the file, in the file's order. Throws std::runtime_error naming the file
// and the problem (not a safetensors file, a header larger than the file, an unknown dtype, a
// byte range that does not match the shape or leaves the data, overlapping ranges).
NamedTensors load_safetensors(const std::string& path);

}  // namespace lra
