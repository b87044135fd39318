// Order statistics of repeated measurements (step times, benchmark repeats): one definition of
// the median and the percentiles for every report and benchmark.
#pragma once
#include <vector>

namespace lra {

// Linear interpolation between the two closest ranks (NumPy's default): q = 0 is the minimum,
// q = 1 the maximum. 0 for no samples.
double percentile(std::vector<double> samples, double q);

// percentile(samples, 0.5): the middle value, or the mean of the two middle values.
double median(std::vector<double> samples);

}  // namespace lra
