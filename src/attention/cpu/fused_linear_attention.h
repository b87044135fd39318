// The linear attention of the random-feature backends as one fused CPU kernel per (batch, head):
// for each block of rows it makes the features with one small GEMM and a row pass in place, and
// contracts them at once, all on raw pointers in per-thread buffers that stay in L1/L2, with no
// tensor or dispatcher call per block. Blocks whose keys are all padded are skipped. Two maps
// run it: the softmax-kernel (exp) features of FAVOR+ and FAVOR# (phi(x) = exp(z P^T + offset -
// |z|^2 / 2), z = s x, with the shifts of ExpFeatureMap) and SchoenbAt's random Maclaurin
// features (MaclaurinLayout: one GEMM for every factor, then the running products).
// It computes what chunked_linear_attention's slice-wise tensor path (the reference it is tested
// against, linear_attention.cpp) computes from the same map and saves the same tensors for the
// backward.
#pragma once
#include <algorithm>
#include <cstdint>

#include <torch/types.h>

#include "attention/cpu/kernel_layouts.h"

namespace lra {

// What the forward computes and the backward reads, over the flattened (batch x head) axis.
struct LinearAttentionTensors {
  torch::Tensor x3, y3;       // (BH, L, d) query and key inputs of the map
  torch::Tensor v1;           // (BH, L, D+1): [v, 1], padded rows zero
  torch::Tensor sum_t;        // (BH, D+1, m): S^T = sum_j [v_j, 1] phi(k_j)^T
  torch::Tensor key_shift;    // (BH, 1, 1); undefined for maps without shifts
  torch::Tensor out3, den;    // (BH, L, D), (BH, L, 1) before the eps guard
  torch::Tensor query_shift;  // (BH, L, 1); likewise
};

// Whether the fused kernel runs this map on these tensors: an exp or Maclaurin map (with at least
// one random feature), CPU, float32 or float64 throughout, contiguous.
bool fused_kernel_applies(const FusedFeatureMap& map, const LinearAttentionTensors& t);

// Fills sum_t, out3, den (and key_shift, query_shift for the exp maps) for (batch, head) rows
// [b0, b1) on the calling thread. rows: rows per block (0 = automatic).
void fused_linear_attention_forward_cpu(const FusedFeatureMap& map, const LinearAttentionTensors& t,
                                        double eps, int64_t rows, int64_t b0, int64_t b1);

// g: (BH, L, D) d loss / d out, contiguous; fills rows [b0, b1) of dx, dy (BH, L, d) and
// dv (BH, L, D).
void fused_linear_attention_backward_cpu(const FusedFeatureMap& map,
                                         const LinearAttentionTensors& t, double eps, int64_t rows,
                                         int64_t b0, int64_t b1, const torch::Tensor& g,
                                         torch::Tensor& dx, torch::Tensor& dy, torch::Tensor& dv);

// d loss / d [num, den] of one query row, given g = d loss / d out and out = num / max(den, eps):
// d num = g / den', d den = -(g . out) / den' where den >= eps (den' = max(den, eps)), 0 below.
// g, out: D values; row: D + 1.
template <typename T>
void output_grad_row(const T* g, const T* out, T den, T eps, int64_t D, T* row) {
  const T inv = T(1) / std::max(den, eps);  // NaN stays NaN
  T dot = 0;
  for (int64_t j = 0; j < D; ++j) {
    dot += g[j] * out[j];
    row[j] = g[j] * inv;
  }
  row[D] = -dot * inv * static_cast<T>(den >= eps);
}

}  // namespace lra
