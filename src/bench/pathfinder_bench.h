// `lra_bench pathfinder`: speed of the built-in Pathfinder generator (images/s on all threads,
// the time a 200,000-image set takes) and the statistics of what it draws (label balance,
// contour lengths, distractors placed, ink coverage), per resolution and difficulty; optionally
// a PNG grid of samples per resolution, positives and negatives apart.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::bench {

struct PathfinderBenchOptions {
  std::vector<int> resolutions{32, 128};
  std::vector<std::string> difficulties{"curv_baseline", "curv_contour_length_9",
                                        "curv_contour_length_14"};
  int64_t images = 2000;  // per case, timed and summarised
  int threads = 0;        // 0 = all cores
  uint64_t seed = 0;
  std::string grid_dir;  // writes <grid_dir>/pathfinder_samples_<resolution>.png
  std::string json;
  std::string markdown;
};

int run_pathfinder_bench(const PathfinderBenchOptions& options);

}  // namespace lra::bench
