// Where a batch's keys are padded, as the blocked softmax kernels read it: trailing padding is
// skipped (keys after a row's last real one are never visited), padding inside a row is an
// additive -inf bias.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace lra::cpu {

struct KeyPadding {
  std::vector<int64_t> extent;  // per batch row: last real key + 1 (0 = none)
  std::vector<char> holes;      // per batch row: padded keys before the extent
  torch::Tensor bias;           // (B, L) in `dtype`: 0 real, -inf padded; only when a row has holes
};

// key_mask: (B, L), nonzero = real key.
KeyPadding scan_key_padding(const torch::Tensor& key_mask, torch::ScalarType dtype);

}  // namespace lra::cpu
