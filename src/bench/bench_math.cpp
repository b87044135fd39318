#include "bench/bench_math.h"

#include <algorithm>
#include <stdexcept>

#include "util/stats.h"

namespace lra::bench {
namespace {

double as_double(int64_t x) {
  return static_cast<double>(x);
}

// Exact attention: scores q k^T (L x L x d per head), then weights times v (L x L x d).
double quadratic_forward(const AttentionShape& s) {
  const double bh = as_double(s.batch * s.heads), L = as_double(s.length),
               d = as_double(s.head_dim);
  return 2.0 * bh * L * L * d + 2.0 * bh * L * L * d;
}

// Linear attention around a feature map: S = phi(k)^T [v, 1] (m x (d+1) per row) and
// phi(q) S (same), on N = B H L rows.
double contraction_forward(const AttentionShape& s) {
  const double N = as_double(s.batch * s.heads * s.length), m = as_double(s.features);
  const double d1 = as_double(s.head_dim + 1);
  return 2.0 * N * m * d1 + 2.0 * N * m * d1;
}

// Feature projections of queries and keys: N rows times a (d x width) matrix, twice.
double projection_forward(const AttentionShape& s, int64_t width) {
  const double N = as_double(s.batch * s.heads * s.length);
  return 2.0 * 2.0 * N * as_double(s.head_dim) * as_double(width);
}

// FAVOR#'s statistics: x^T x and y^T y over the sequence (d x d per (batch, head)).
double sderf_statistics(const AttentionShape& s) {
  const double N = as_double(s.batch * s.heads * s.length), d = as_double(s.head_dim);
  return 2.0 * 2.0 * N * d * d;
}

}  // namespace

double attention_forward_flops(const std::string& backend, const AttentionShape& s) {
  if (backend == "softmax" || backend == "softmax_reference" || backend == "kernelized")
    return quadratic_forward(s);
  if (backend == "favor") return projection_forward(s, s.features) + contraction_forward(s);
  if (backend == "favor_sharp")
    return projection_forward(s, s.features) + contraction_forward(s) + sderf_statistics(s);
  if (backend == "schoenbat") return projection_forward(s, s.factors) + contraction_forward(s);
  throw std::invalid_argument("no FLOP formula for backend '" + backend + "'");
}

double attention_backward_flops(const std::string& backend, const AttentionShape& s) {
  // Every product A B of the forward costs two products of the same size backwards (d A, d B),
  // except the feature projections, whose random matrices take no gradient: one product each.
  if (backend == "softmax" || backend == "softmax_reference" || backend == "kernelized")
    return 2.0 * quadratic_forward(s);
  if (backend == "favor" || backend == "favor_sharp")
    return projection_forward(s, s.features) + 2.0 * contraction_forward(s);
  if (backend == "schoenbat")
    return projection_forward(s, s.factors) + 2.0 * contraction_forward(s);
  throw std::invalid_argument("no FLOP formula for backend '" + backend + "'");
}

double block_linear_forward_flops(int64_t batch, int64_t length, int64_t dim, int64_t qkv_dim,
                                  int64_t mlp_dim) {
  const double tokens = as_double(batch * length);
  const double weights =
      3.0 * as_double(dim * qkv_dim) + as_double(qkv_dim * dim) + 2.0 * as_double(dim * mlp_dim);
  return 2.0 * tokens * weights;
}

Summary summarize(const std::vector<double>& samples) {
  Summary s;
  if (samples.empty()) return s;
  const auto [min, max] = std::minmax_element(samples.begin(), samples.end());
  s.median = median(samples);
  s.min = *min;
  s.max = *max;
  s.spread = s.median > 0.0 ? (s.max - s.min) / s.median : 0.0;
  return s;
}

}  // namespace lra::bench
