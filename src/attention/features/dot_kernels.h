// Dot-product kernels f(t) = sum_n a_n t^n (Schoenberg: all a_n >= 0), shared by the exact
// `kernelized` backend and the `schoenbat` estimator (their input normalisation:
// scaling_normalization.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lra {

enum class DotKernel { kExp, kInverse, kLogi, kTrigh, kSqrt };

// Parses attention.kernel (dot_kernel_names() in backend_spec.h); throws std::invalid_argument
// naming the valid kernels.
DotKernel parse_dot_kernel(const std::string& name);

// Closed form of f applied elementwise (valid for |t| < 1, which pre-SBN guarantees for d >= 2).
torch::Tensor dot_kernel_value(DotKernel kernel, const torch::Tensor& t);

// a_0 .. a_max_degree of f's Maclaurin series.
std::vector<double> maclaurin_coefficients(DotKernel kernel, int64_t max_degree);

// sum_{n <= max_degree} a_n t^n: what random Maclaurin features estimate without bias.
torch::Tensor maclaurin_series(DotKernel kernel, const torch::Tensor& t, int64_t max_degree);

// Exact attention weights w_ij = f(x_i.y_j) / sum_j' f(x_i.y_j') over real keys (causal: j <= i
// only), for already-normalised x, y: (B, H, L, d). key_mask: (B, L). Returns (B, H, L, L); the
// row sums are guarded by eps (rows with no real key come out zero).
torch::Tensor dot_kernel_weights(DotKernel kernel, const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& key_mask, bool causal, double eps);

// The exact attention of the `kernelized` backend from plain ops: dot_kernel_weights on the
// SchoenbAt-normalised q and k, times v. q, k, v: (B, H, L, d); key_mask: (B, L).
torch::Tensor dot_kernel_attention_reference(DotKernel kernel, const torch::Tensor& q,
                                             const torch::Tensor& k, const torch::Tensor& v,
                                             const torch::Tensor& key_mask, bool causal,
                                             double eps);

}  // namespace lra
