// What lra_bench computes about its measurements: summaries of repeated timings (the FLOP
// counts are the model's and the backends', shared with the trainer's utilisation:
// EncoderBlockImpl::matmul_flops in model/transformer.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::bench {

struct Summary {
  double median = 0.0, min = 0.0, max = 0.0;
  // (max - min) / median: the spread of the repeated timings.
  double spread = 0.0;
};
Summary summarize(const std::vector<double>& samples);  // the median of util/stats.h

}  // namespace lra::bench
