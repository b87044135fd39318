#include "attention/attention.h"

namespace lra {

torch::Tensor padded_key_columns(const torch::Tensor& key_mask) {
  return (key_mask == 0).unsqueeze(1).unsqueeze(2);
}

torch::Tensor padded_key_rows(const torch::Tensor& key_mask) {
  return (key_mask == 0).unsqueeze(1).unsqueeze(-1);
}

}  // namespace lra
