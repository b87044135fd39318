#include "bench/bench_math.h"

#include <algorithm>

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

Summary summarize(std::vector<double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.median = n % 2 == 1 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  s.min = samples.front();
  s.max = samples.back();
  s.spread = s.median > 0.0 ? (s.max - s.min) / s.median : 0.0;
  return s;
}

}  // namespace lra::bench
