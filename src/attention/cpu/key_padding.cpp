#include "attention/cpu/key_padding.h"

#include <algorithm>
#include <limits>

#include <torch/torch.h>

namespace lra::cpu {

KeyPadding scan_key_padding(const torch::Tensor& key_mask, torch::ScalarType dtype) {
  const int64_t B = key_mask.size(0), L = key_mask.size(1);
  auto real = key_mask.to(torch::kCPU, torch::kFloat).contiguous();  // (B, L)
  const float* m = real.data_ptr<float>();
  KeyPadding out;
  out.extent.assign(static_cast<size_t>(B), 0);
  out.holes.assign(static_cast<size_t>(B), 0);
  for (int64_t b = 0; b < B; ++b) {
    const float* row = m + b * L;
    int64_t end = L;
    while (end > 0 && row[end - 1] == 0.0f) --end;
    out.extent[b] = end;
    out.holes[b] = std::find(row, row + end, 0.0f) != row + end;
  }
  if (std::find(out.holes.begin(), out.holes.end(), 1) != out.holes.end())
    out.bias = torch::zeros_like(real)
                   .masked_fill(real == 0, -std::numeric_limits<float>::infinity())
                   .to(dtype);
  return out;
}

}  // namespace lra::cpu
