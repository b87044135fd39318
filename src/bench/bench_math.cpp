#include "bench/bench_math.h"

#include <algorithm>

#include "util/stats.h"

namespace lra::bench {
namespace {

double as_double(int64_t x) {
  return static_cast<double>(x);
}

}  // namespace

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
