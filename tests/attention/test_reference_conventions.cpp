// attention.convention: skyformer_code, the Skyformer repository's arithmetic for favor,
// nystromformer and skyformer (experiments/lockstep checks it step by step against that code).
// Here: the Performer formula against a naive float64 loop, and the documented ways the code
// differs from the papers (padded keys in the denominator, landmarks over the padded length,
// batch elements coupled through the pinv start), each shown to hold for skyformer_code and not
// for the paper convention.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention_test_util.h"
#include "config/config.h"

namespace lra {
namespace {

using test::make_backend;
using test::max_abs;
using test::random_inputs;

AttentionConfig with_convention(const std::string& type, const std::string& convention,
                                int64_t features = 4) {
  AttentionConfig c = test::attention_config(type, features);
  c.convention = convention;
  return c;
}

// The Skyformer code's Performer, one number at a time: x = q / sqrt(d), y = k mask / sqrt(d),
// phi = m^-1/2 (exp(w.x - |x|^2/2 - max) + 1e-4), the query max per row, the key max over the
// whole key tensor, values masked.
torch::Tensor naive_skyformer_code_performer(const test::Inputs& in, const torch::Tensor& w) {
  const int64_t B = in.q.size(0), H = in.q.size(1), L = in.q.size(2), d = in.q.size(3);
  const int64_t m = w.size(0);
  auto q = in.q.accessor<double, 4>(), k = in.k.accessor<double, 4>(),
       v = in.v.accessor<double, 4>();
  auto mask = in.mask.accessor<double, 2>();
  auto W = w.accessor<double, 2>();
  auto proj = [&](auto& t, int64_t b, int64_t h, int64_t i, int64_t r, double masked) {
    double s = 0, n = 0;
    for (int64_t c = 0; c < d; ++c) {
      const double x = t[b][h][i][c] * masked / std::sqrt(static_cast<double>(d));
      s += W[r][c] * x, n += 0.5 * x * x;
    }
    return std::make_pair(s, n);
  };
  double key_max = -INFINITY;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < L; ++j)
        for (int64_t r = 0; r < m; ++r)
          key_max = std::max(key_max, proj(k, b, h, j, r, mask[b][j]).first);
  auto out = torch::zeros_like(in.v);
  auto o = out.accessor<double, 4>();
  const double ratio = 1.0 / std::sqrt(static_cast<double>(m));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        double row_max = -INFINITY;
        for (int64_t r = 0; r < m; ++r) row_max = std::max(row_max, proj(q, b, h, i, r, 1.0).first);
        double den = 0;
        for (int64_t j = 0; j < L; ++j) {
          double weight = 0;  // phi(q_i) . phi(k_j)
          for (int64_t r = 0; r < m; ++r) {
            auto [pq, nq] = proj(q, b, h, i, r, 1.0);
            auto [pk, nk] = proj(k, b, h, j, r, mask[b][j]);
            weight += ratio * (std::exp(pq - nq - row_max) + 1e-4) * ratio *
                      (std::exp(pk - nk - key_max) + 1e-4);
          }
          den += weight;
          for (int64_t c = 0; c < v.size(3); ++c)
            o[b][h][i][c] += weight * v[b][h][j][c] * mask[b][j];
        }
        for (int64_t c = 0; c < v.size(3); ++c) o[b][h][i][c] /= den;
      }
  return out;
}

TEST(ReferenceConvention, SkyformerCodePerformerMatchesItsFormula) {
  auto backend = make_backend(with_convention("favor", "skyformer_code", 5), 4);
  auto in = random_inputs(2, 2, 7, 4, 3, /*pad=*/2);
  auto w = backend->named_buffers()["projection"].to(torch::kFloat64);  // (m, d)
  auto expected = naive_skyformer_code_performer(in, w);
  EXPECT_LT(max_abs(backend->forward(in.q, in.k, in.v, in.mask) - expected), 1e-12);
}

// Padded keys: zero weight in the paper convention; in the code's they keep a feature of
// m^-1/2 (exp(-max) + 1e-4) and enter the denominator, so more padding changes the output.
TEST(ReferenceConvention, SkyformerCodePerformerCountsPaddedKeysInTheDenominator) {
  auto in = random_inputs(1, 2, 9, 4, 11);
  auto padded = [&](const torch::Tensor& t) {  // 5 more padded positions
    return torch::cat({t, torch::zeros({1, 2, 5, 4}, t.options())}, 2);
  };
  auto mask = torch::cat({in.mask, torch::zeros({1, 5}, in.mask.options())}, 1);
  for (const std::string convention : {"paper", "skyformer_code"}) {
    auto backend = make_backend(with_convention("favor", convention, 16), 4);
    auto short_out = backend->forward(in.q, in.k, in.v, in.mask);
    auto long_out =
        backend->forward(padded(in.q), padded(in.k), padded(in.v), mask).narrow(2, 0, 9);
    const double change = max_abs(short_out - long_out);
    if (convention == "paper")
      EXPECT_LT(change, 1e-12);
    else
      EXPECT_GT(change, 1e-6);
  }
}

// Without padding, one sequence and one head, the two conventions of nystromformer agree: the
// padded-length segments are then the real-token segments, and the batch-wide pinv start is the
// matrix's own (a row-stochastic matrix has |A|_inf = 1).
TEST(ReferenceConvention, NystromformerConventionsAgreeWithoutPaddingOrBatch) {
  auto in = random_inputs(1, 1, 12, 4, 5);
  auto paper = make_backend(with_convention("nystromformer", "paper"), 4, 7, 1);
  auto code = make_backend(with_convention("nystromformer", "skyformer_code"), 4, 7, 1);
  EXPECT_LT(
      max_abs(paper->forward(in.q, in.k, in.v, in.mask) - code->forward(in.q, in.k, in.v, in.mask)),
      1e-12);
  // With padding the code averages zeroed pads into its landmarks: the outputs differ.
  auto padded = random_inputs(1, 1, 12, 4, 5, /*pad=*/3);
  EXPECT_GT(max_abs(paper->forward(padded.q, padded.k, padded.v, padded.mask) -
                    code->forward(padded.q, padded.k, padded.v, padded.mask)),
            1e-6);
}

TEST(ReferenceConvention, NystromformerSkyformerCodeNeedsTheLengthAMultipleOfTheLandmarks) {
  auto code = make_backend(with_convention("nystromformer", "skyformer_code"), 4);
  auto in = random_inputs(1, 2, 10, 4, 5);
  try {
    code->forward(in.q, in.k, in.v, in.mask);
    FAIL() << "L = 10 with 4 landmarks was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of attention.num_landmarks"), std::string::npos)
        << e.what();
  }
}

// The code's maxima run over the whole batch (the pinv start; favor's key stabiliser), so one
// sequence's output depends on the others; the paper convention's does not. Whether a change of
// the second sequence moves the first depends on which holds the maximum, so several are tried.
TEST(ReferenceConvention, SkyformerCodeCouplesTheBatchElements) {
  auto second_from = [](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::cat({a.narrow(0, 0, 1), b.narrow(0, 1, 1)}, 0);
  };
  for (const std::string type : {"nystromformer", "skyformer", "favor"}) {
    for (const std::string convention : {"paper", "skyformer_code"}) {
      auto backend = make_backend(with_convention(type, convention), 4);
      backend->eval();  // skyformer: one fixed draw
      auto in = random_inputs(2, 2, 8, 4, 21);
      auto first = backend->forward(in.q, in.k, in.v, in.mask).narrow(0, 0, 1);
      double change = 0;
      for (const double scale : {0.3, 1.0, 3.0})
        for (const uint64_t seed : {22, 23}) {
          auto other = random_inputs(2, 2, 8, 4, seed, 0, scale);
          auto changed = backend
                             ->forward(second_from(in.q, other.q), second_from(in.k, other.k),
                                       second_from(in.v, other.v), in.mask)
                             .narrow(0, 0, 1);
          change = std::max(change, max_abs(first - changed));
        }
      if (convention == "paper")
        EXPECT_LT(change, 1e-12) << type;
      else
        EXPECT_GT(change, 1e-9) << type;
    }
  }
}

}  // namespace
}  // namespace lra
