// Statistics of repeated measurements (step times, benchmark repeats, seeds): one definition of
// the median, the percentiles, the mean and the standard deviation for every report and
// benchmark.
#pragma once
#include <vector>

namespace lra {

// Linear interpolation between the two closest ranks (NumPy's default): q = 0 is the minimum,
// q = 1 the maximum. 0 for no samples.
double percentile(std::vector<double> samples, double q);

// percentile(samples, 0.5): the middle value, or the mean of the two middle values.
double median(std::vector<double> samples);

struct MeanStd {
  double mean = 0.0;
  double std = 0.0;  // sample standard deviation (n - 1); 0 when n < 2
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

}  // namespace lra
