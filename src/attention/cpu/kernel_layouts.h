// The parameters of the feature maps the fused CPU kernels run (cpu/fused_linear_attention.h,
// cpu/maclaurin_products.h), as plain data: the feature maps (features/feature_maps.h) fill them,
// the kernels read them, and neither includes the other.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace lra {

// Below every real log-feature: the key shift of a (batch, head) without any real key, so
// exp(log phi - shift) stays 0 there and finite elsewhere.
inline constexpr double kNoKeyShift = -1e30;

// An ExpFeatureMap's prepared parameters.
struct ExpProjection {
  torch::Tensor projection;    // (P, m, d), times the input scale; P = 1 or BH
  torch::Tensor projection_t;  // (P, d, m), or (P, d + 1, m) with the offset as its last row
  bool has_offset = false;
  double half_square = 0.0;  // s^2 / 2
};

// Random Maclaurin features (SchoenbAt): phi(x) = [c0, s_i prod_{j < N_i} (w_ij . x)].
// One matmul gives every factor of every feature; the factors are laid out factor-major with the
// features sorted by degree, largest first: slot j holds factor j of the first count_j features
// (count_0 >= count_1 >= ...), so the products are a running product over slots (each factor
// multiplied once), and its backward a prefix times suffix product.
struct MaclaurinLayout {
  torch::Tensor factors_t;  // (d, F): column f = Rademacher vector of factor-major slot entry f
  torch::Tensor factors;    // (F, d): factors_t transposed (set by the map, in its dtype)
  std::vector<int64_t> slot_offset, slot_count;  // per slot j: first column and features covered
  torch::Tensor scales;   // (m - 1): s_i for the features in the sorted order
  double constant = 1.0;  // c0 = sqrt(a_0)
  int64_t features = 1;   // m (1 constant + m - 1 random)
};

// The map the fused linear-attention kernel runs: exactly one of the two is set.
struct FusedFeatureMap {
  const ExpProjection* exp = nullptr;
  const MaclaurinLayout* maclaurin = nullptr;
  int64_t features = 0;  // m
};

}  // namespace lra
