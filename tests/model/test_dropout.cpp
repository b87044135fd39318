// The model's counter-based dropout (model/dropout.h): the rate, the scaling, fresh masks per
// call, the same mask under the same generator state, and a backward that applies the forward's
// mask.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/dropout.h"

namespace lra {
namespace {

TEST(CounterDropout, KeepsEachElementAtTheRateAndScalesIt) {
  const double p = 0.1;
  auto x = torch::rand({64, 1000, 8}, torch::kFloat64) + 1.0;  // no zeros of its own
  torch::manual_seed(3);
  auto y = lra::dropout(x, p, true);
  auto kept = y != 0;
  const double n = static_cast<double>(x.numel());
  EXPECT_NEAR(1.0 - kept.sum().item<double>() / n, p, 5.0 * std::sqrt(p * (1 - p) / n));
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), x.masked_select(kept) / (1 - p), 1e-15, 0));
  // Every stretch of the buffer drops at the rate (the mask rows are independent).
  auto per_row = 1.0 - kept.to(torch::kFloat64).mean({1, 2});  // (64)
  EXPECT_LT((per_row - p).abs().max().item<double>(), 6.0 * std::sqrt(p * (1 - p) / 8000.0));
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(y, lra::dropout(x, p, true)));
  const double agree =
      (kept == (lra::dropout(x, p, true) != 0)).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(agree, p * p + (1 - p) * (1 - p), 0.01);
  EXPECT_TRUE(torch::equal(lra::dropout(x, p, false), x));
}

TEST(CounterDropout, BackwardAppliesTheForwardMask) {
  auto x = (torch::rand({7, 333}, torch::kFloat32) + 1.0).requires_grad_();
  auto g = torch::rand({7, 333}, torch::kFloat32) + 1.0;
  auto y = lra::dropout(x, 0.3, true);
  y.backward(g);
  auto scale = (y / x).detach();  // 0 or 1 / 0.7 per element
  EXPECT_TRUE(torch::allclose(x.grad(), g * scale, 1e-6, 1e-6));
}

TEST(CounterDropout, Float32AndFloat64DrawTheSameMask) {
  auto x = torch::rand({5, 5000}, torch::kFloat64) + 1.0;
  torch::manual_seed(9);
  auto a = lra::dropout(x, 0.5, true) != 0;
  torch::manual_seed(9);
  auto b = lra::dropout(x.to(torch::kFloat32), 0.5, true) != 0;
  EXPECT_TRUE(torch::equal(a, b));
}

}  // namespace
}  // namespace lra
