#include "util/stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lra {

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(samples.size() - 1);
  const auto below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, samples.size() - 1);
  const double weight = rank - static_cast<double>(below);
  // lo + w (hi - lo): an exact rank, or two equal neighbours, give back a sample exactly.
  return samples[below] + weight * (samples[above] - samples[below]);
}

double median(std::vector<double> samples) {
  return percentile(std::move(samples), 0.5);
}

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  for (double v : values) s.mean += v;
  s.mean /= s.n;
  if (s.n < 2) return s;
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / (s.n - 1));
  return s;
}

}  // namespace lra
