// libFuzzer target: npy::read on arbitrary bytes. The reader's contract is a
// std::runtime_error naming the file for anything it does not accept; any other exception,
// crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "data/npy.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lra::fuzz::MemoryFile file("input.npy");
  file.assign(data, size);
  try {
    const torch::Tensor t = lra::npy::read(file.path());
    if (t.dim() != 1 && t.dim() != 2) __builtin_trap();  // the reader promises 1-D or 2-D
  } catch (const std::runtime_error&) {
  }
  return 0;
}
