#include "attention/lsh_hashing.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "attention/features/random_features.h"

namespace lra {
namespace {

int64_t lsh_floor_log2(int64_t x) {
  int64_t p = -1;
  for (; x > 0; x >>= 1) ++p;
  return p;
}

}  // namespace

std::vector<int64_t> lsh_bucket_factors(int64_t num_buckets, int64_t length, int64_t chunk_length,
                                        int64_t max_length) {
  if (num_buckets > 0) return {num_buckets};
  const int64_t p = lsh_floor_log2(2 * (length / chunk_length));
  if (p < 1)
    throw std::invalid_argument("reformer: a sequence of " + std::to_string(length) +
                                " is shorter than one bucket of " + std::to_string(chunk_length) +
                                "; it is attended whole, without hashing");
  const int64_t automatic = int64_t{1} << p;
  const auto root = static_cast<int64_t>(
      std::sqrt(static_cast<double>(std::max(max_length, length) / chunk_length)));
  if (automatic <= 2 * std::max(root, chunk_length)) return {automatic};
  return {int64_t{1} << (p / 2), int64_t{1} << (p - p / 2)};
}

int64_t lsh_rotation_width(const std::vector<int64_t>& factors) {
  int64_t width = 0;
  for (int64_t f : factors) width += f / 2;
  return width;
}

torch::Tensor lsh_rotations(uint64_t seed, int64_t draw, int64_t heads, int64_t hashes,
                            int64_t head_dim, int64_t width) {
  auto gen = feature_generator(seed, draw);
  return torch::randn({heads, hashes, head_dim, width}, gen, torch::kFloat64);
}

torch::Tensor lsh_hash(const torch::Tensor& q, const torch::Tensor& rotations,
                       const std::vector<int64_t>& factors, const torch::Tensor& key_mask) {
  torch::NoGradGuard no_grad;
  auto r = rotations.to(q.options());
  // (B, H, n, L, width): each head's rows against that head's rotation of every round.
  auto rotated = torch::matmul(q.unsqueeze(2), r.unsqueeze(0));
  torch::Tensor buckets;  // (B, H, n, L)
  int64_t column = 0, product = 1;
  for (int64_t f : factors) {
    auto part = rotated.narrow(-1, column, f / 2);
    auto bucket = torch::cat({part, -part}, -1).argmax(-1);
    buckets = buckets.defined() ? buckets + product * bucket : bucket;
    column += f / 2;
    product *= f;
  }
  auto padded = (key_mask == 0).view({key_mask.size(0), 1, 1, key_mask.size(1)});
  return buckets.masked_fill(padded, product);
}

}  // namespace lra
