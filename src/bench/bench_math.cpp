#include "bench/bench_math.h"

#include <algorithm>

#include "util/stats.h"

namespace lra::bench {

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
