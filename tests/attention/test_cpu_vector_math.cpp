// The float32 row loops of the CPU kernels (cpu/vector_math.h), each path this CPU runs (16
// lanes, 8 lanes, scalar), against their float64 overloads: lengths that leave every tail size,
// -inf entries (masked keys), arguments past expf's range, a shift of +inf; log over 60 decades.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "attention/cpu/vector_math.h"

namespace lra::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<VectorPath> paths_here() {
  std::vector<VectorPath> out;
  for (VectorPath p : {VectorPath::scalar, VectorPath::avx2, VectorPath::avx512})
    if (supports(p)) out.push_back(p);
  return out;
}

// Scores around 0 with a few far below expf's range and a few masked (-inf).
std::vector<float> scores(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> s(n);
  for (int64_t j = 0; j < n; ++j) s[j] = normal(gen);
  for (int64_t j = 3; j < n; j += 7) s[j] = -kInf;
  for (int64_t j = 5; j < n; j += 11) s[j] = -100.0f;
  return s;
}

std::vector<double> widen(const std::vector<float>& x) {
  return {x.begin(), x.end()};
}

TEST(CpuVectorMath, BestPathIsSupported) {
  EXPECT_TRUE(supports(best_path())) << path_name(best_path());
  EXPECT_TRUE(supports(VectorPath::scalar));
}

TEST(CpuVectorMath, ExpShiftedMatchesFloat64OnEveryPathAndTail) {
  for (VectorPath path : paths_here()) {
    for (int64_t n : {1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 512}) {
      std::vector<float> s = scores(n, static_cast<uint32_t>(n));
      std::vector<double> ref = widen(s);
      const float shift = 2.5f;
      const float sum = exp_shifted(s.data(), n, shift, path);
      const double ref_sum = exp_shifted(ref.data(), n, double(shift));
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(s[j], ref[j], 2e-6 * ref[j] + 1e-37)
            << path_name(path) << " n=" << n << " j=" << j;
        if (ref[j] == 0.0) {
          EXPECT_EQ(s[j], 0.0f) << "masked or underflowed entries are exactly 0";
        }
      }
      EXPECT_NEAR(sum, ref_sum, 2e-6 * ref_sum) << path_name(path) << " n=" << n;
    }
  }
}

TEST(CpuVectorMath, ExpShiftedByInfinityZeroesTheRow) {
  for (VectorPath path : paths_here()) {
    std::vector<float> s = scores(37, 1);
    EXPECT_EQ(exp_shifted(s.data(), 37, kInf, path), 0.0f) << path_name(path);
    for (float x : s) EXPECT_EQ(x, 0.0f) << path_name(path);
  }
}

TEST(CpuVectorMath, LogMatchesFloat64OnEveryPathAndTail) {
  const float special[] = {1.0f, 2.0f, 0.5f, 0.70710677f, 0.70710683f, 1e-4f, 1e-30f, 3e38f, kInf};
  for (VectorPath path : paths_here()) {
    for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 33, 100, 257}) {
      std::mt19937 gen(static_cast<uint32_t>(n));
      std::uniform_real_distribution<float> exponent(-30.0f, 30.0f);
      std::vector<float> s(n);
      for (int64_t j = 0; j < n; ++j) s[j] = std::pow(10.0f, exponent(gen));
      for (int64_t j = 0; j < n && j < 9; ++j) s[n - 1 - j] = special[j];  // into the tail
      std::vector<double> ref = widen(s);
      log_inplace(s.data(), n, path);
      log_inplace(ref.data(), n);
      for (int64_t j = 0; j < n; ++j) {
        if (std::isinf(ref[j])) {
          EXPECT_EQ(s[j], kInf) << path_name(path);
          continue;
        }
        ASSERT_NEAR(s[j], ref[j], 2e-7 * std::abs(ref[j]) + 1e-7)
            << path_name(path) << " n=" << n << " j=" << j;
      }
    }
    float nan = std::numeric_limits<float>::quiet_NaN();
    log_inplace(&nan, 1, path);
    EXPECT_TRUE(std::isnan(nan)) << path_name(path);
  }
}

TEST(CpuVectorMath, MultiplySumMatchesFloat64OnEveryPathAndTail) {
  for (VectorPath path : paths_here()) {
    for (int64_t n : {1, 7, 8, 9, 16, 17, 31, 128, 129}) {
      std::vector<float> a = scores(n, 20 + n), b = scores(n, 40 + n);
      for (int64_t j = 0; j < n; ++j) {
        a[j] = std::isfinite(a[j]) ? a[j] : 1.25f;
        b[j] = std::isfinite(b[j]) ? b[j] : -0.5f;
      }
      std::vector<double> ref = widen(a);
      const float sum = multiply_sum(a.data(), b.data(), n, path);
      const double ref_sum = multiply_sum(ref.data(), widen(b).data(), n);
      double size = 0;
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(a[j], ref[j], 1e-6 * std::abs(ref[j])) << path_name(path) << " n=" << n;
        size += std::abs(ref[j]);
      }
      EXPECT_NEAR(sum, ref_sum, 1e-6 * size + 1e-6) << path_name(path) << " n=" << n;
    }
  }
}

TEST(CpuVectorMath, DotAndAxpyMatchFloat64OnEveryPathAndTail) {
  for (VectorPath path : paths_here()) {
    for (int64_t n : {1, 7, 8, 9, 16, 17, 31, 32, 33, 128, 129}) {
      std::vector<float> a = scores(n, 60 + n), b = scores(n, 80 + n);
      double size = 0;
      for (int64_t j = 0; j < n; ++j) {
        a[j] = std::isfinite(a[j]) ? a[j] : 1.25f;
        b[j] = std::isfinite(b[j]) ? b[j] : -0.5f;
        size += std::abs(double(a[j]) * b[j]);
      }
      const std::vector<double> a64 = widen(a), b64 = widen(b);
      EXPECT_NEAR(dot(a.data(), b.data(), n, path), dot(a64.data(), b64.data(), n), 1e-6 * size)
          << path_name(path) << " n=" << n;
      std::vector<double> y64 = b64;
      axpy(-0.75, a64.data(), y64.data(), n);
      axpy(-0.75f, a.data(), b.data(), n, path);
      for (int64_t j = 0; j < n; ++j)
        ASSERT_NEAR(b[j], y64[j], 1e-6 * (std::abs(a64[j]) + std::abs(b64[j])))
            << path_name(path) << " n=" << n << " j=" << j;
    }
  }
}

TEST(CpuVectorMath, RowMaxMatchesFloat64OnEveryPathAndTail) {
  for (VectorPath path : paths_here()) {
    for (int64_t n : {1, 5, 8, 16, 17, 40, 513}) {
      std::vector<float> s = scores(n, static_cast<uint32_t>(100 + n));
      s[n - 1] = 50.0f;  // the maximum in the tail
      const std::vector<double> ref = widen(s);
      EXPECT_EQ(row_max(s.data(), n, -kInf, path), row_max(ref.data(), n, -double(kInf)))
          << path_name(path) << " n=" << n;
      EXPECT_EQ(row_max(s.data(), n, 60.0f, path), 60.0f) << "init above every entry";
    }
  }
}

TEST(CpuVectorMath, SoftmaxBackwardRowMatchesFloat64OnEveryPathAndTail) {
  for (VectorPath path : paths_here()) {
    for (int64_t n : {1, 9, 16, 23, 64, 301}) {
      std::vector<float> dp = scores(n, 7), pd = scores(n, 8), a = scores(n, 9);
      for (int64_t j = 0; j < n; ++j) {
        pd[j] = std::exp(std::max(pd[j], -20.0f) / 4);  // finite weights
        a[j] = std::exp(std::max(a[j], -20.0f) / 4);
        dp[j] = std::isfinite(dp[j]) ? dp[j] : 0.5f;
      }
      std::vector<double> ref = widen(dp);
      const float delta = 0.75f;
      softmax_backward_row(dp.data(), pd.data(), a.data(), n, delta, path);
      softmax_backward_row(ref.data(), widen(pd).data(), widen(a).data(), n, double(delta));
      for (int64_t j = 0; j < n; ++j)
        ASSERT_NEAR(dp[j], ref[j], 1e-6 * (std::abs(ref[j]) + 1)) << path_name(path) << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace lra::cpu
