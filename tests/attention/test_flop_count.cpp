// Each registration's FLOP count against hand counts and against how its cost trait says it
// grows with the sequence length.
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention_test_util.h"

namespace lra {
namespace {

FlopCount flops_of(const std::string& type, const AttentionShape& shape) {
  auto backend = test::make_backend(test::attention_config(type, shape.features), shape.head_dim, 7,
                                    shape.heads);
  return attention_implementation(type).flops(shape, *backend);
}

TEST(FlopCount, QuadraticAttentionIsFourBHL2d) {
  AttentionShape s{4, 2, 4096, 32, 128};
  const double expected = 4.0 * 4 * 2 * 4096.0 * 4096.0 * 32;
  EXPECT_DOUBLE_EQ(quadratic_attention_flops(s).forward, expected);
  EXPECT_DOUBLE_EQ(quadratic_attention_flops(s).backward, 2 * expected);
  EXPECT_DOUBLE_EQ(flops_of("softmax", s).forward, expected);
}

TEST(FlopCount, LinearAttentionCountsProjectionsAndContraction) {
  AttentionShape s{1, 1, 10, 4, 6};
  // q and k projections 2 * (2 * 10 * 4 * 6); S and phi(q) S: 2 * (2 * 10 * 6 * 5).
  EXPECT_DOUBLE_EQ(flops_of("favor", s).forward, 960 + 1200);
  EXPECT_DOUBLE_EQ(flops_of("favor", s).backward, 960 + 2400);
  // FAVOR# adds x^T x and y^T y: 2 * (2 * 10 * 4 * 4).
  EXPECT_DOUBLE_EQ(flops_of("favor_sharp", s).forward, 960 + 1200 + 640);
  // SchoenbAt projects onto its F Rademacher factors (the sum of its drawn degrees).
  auto schoenbat = test::make_backend(test::attention_config("schoenbat", 6), 4, 7, 1);
  int64_t factors = 0;
  for (const auto& buffer : schoenbat->named_buffers())
    if (buffer.key() == "rademacher") factors = buffer.value().size(0);
  ASSERT_GT(factors, 0);
  EXPECT_DOUBLE_EQ(attention_implementation("schoenbat").flops(s, *schoenbat).forward,
                   2 * 2 * 10 * 4 * factors + 1200);
}

TEST(FlopCount, EveryBackendGrowsAsItsCostTraitSays) {
  AttentionShape s{2, 2, 64, 8, 16};
  AttentionShape twice = s;
  twice.length = 128;
  for (const auto& spec : attention_backends()) {
    const FlopCount one = flops_of(spec.name, s), two = flops_of(spec.name, twice);
    EXPECT_GT(one.forward, 0.0) << spec.name;
    EXPECT_GT(one.backward, 0.0) << spec.name;
    const double growth = spec.cost == AttentionCost::kLinear ? 2.0 : 4.0;
    EXPECT_DOUBLE_EQ(two.forward, growth * one.forward) << spec.name;
    EXPECT_DOUBLE_EQ(two.backward, growth * one.backward) << spec.name;
  }
}

}  // namespace
}  // namespace lra
