// The keys of a metrics.jsonl training line (and train/<key> TensorBoard scalars) that are
// timings: they differ run to run, so tests comparing two runs leave them out.
#pragma once
#include <algorithm>
#include <array>
#include <string_view>

namespace lra::test {

inline constexpr std::array<std::string_view, 4> kMetricsTimingKeys = {
    "ms_per_step", "achieved_gflops", "utilisation", "samples_per_s"};

inline bool is_metrics_timing_key(std::string_view key) {
  return std::find(kMetricsTimingKeys.begin(), kMetricsTimingKeys.end(), key) !=
         kMetricsTimingKeys.end();
}

}  // namespace lra::test
