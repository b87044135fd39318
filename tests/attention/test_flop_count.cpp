// Each registration's FLOP count against hand counts and against how its cost trait says it
// grows with the sequence length.
#include <cmath>
#include <string>
#include <tuple>

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

// Linear backends may add a length-independent term (the Nystrom landmark products, m^2 d and
// m^3): their counts are affine in L with a nonnegative constant; quadratic ones grow 4x.
TEST(FlopCount, EveryBackendGrowsAsItsCostTraitSays) {
  AttentionShape s{2, 2, 64, 8, 16};
  AttentionShape twice = s, four = s;
  twice.length = 128;
  four.length = 256;
  for (const auto& spec : attention_backends()) {
    // bigbird is exact attention up to (2 g + 3 + 2 r) blocks (704 tokens by default), and its
    // affine count has a negative constant (the edge rows list fewer blocks than the middle
    // ones): its growth is checked from 1,024 tokens, without the sign of the constant.
    // longformer likewise: exact while its window (512 by default) spans the sequence, and its
    // edge blocks list fewer window keys than the middle ones.
    const bool block_sparse = spec.name == "bigbird" || spec.name == "longformer";
    const int64_t stretch = block_sparse ? 16 : 1;
    auto at = [&](AttentionShape shape) {
      shape.length *= stretch;
      return flops_of(spec.name, shape);
    };
    const FlopCount one = at(s), two = at(twice), quad = at(four);
    EXPECT_GT(one.forward, 0.0) << spec.name;
    EXPECT_GT(one.backward, 0.0) << spec.name;
    if (spec.name == "reformer") {
      // A sequence of one chunk (64 tokens by default) is attended whole: quadratic. Beyond, the
      // chunked products are linear in L, and the hash's rotation (d b/2 per slot, b the
      // automatic bucket count ~ 2 L / 64, factorised into two narrower hashes from 8,192 tokens)
      // adds up to an eighth: each doubling from 1,024 tokens multiplies the forward count by 1.7
      // to 2.25 and the backward (no hash) by exactly 2.
      EXPECT_EQ(one.forward, quadratic_attention_flops(s).forward) << spec.name;
      for (int64_t length = 1024; length <= 8192; length *= 2) {
        AttentionShape small = s, large = s;
        small.length = length;
        large.length = 2 * length;
        const FlopCount a = flops_of(spec.name, small), b = flops_of(spec.name, large);
        EXPECT_GE(b.forward, 1.7 * a.forward) << spec.name << " L=" << length;
        EXPECT_LE(b.forward, 2.25 * a.forward) << spec.name << " L=" << length;
        EXPECT_DOUBLE_EQ(b.backward, 2 * a.backward) << spec.name << " L=" << length;
      }
    } else if (spec.name == "informer") {
      // u = c ceil(ln L) exact rows of L keys: L log L, not affine. Each doubling multiplies the
      // count by 2 ceil(ln 2L) / ceil(ln L) at most (the ratio of the u's), and by 2 at least.
      for (const auto& [small, large, length] :
           {std::tuple{one, two, s.length}, std::tuple{two, quad, twice.length}}) {
        const double logs = std::ceil(std::log(2.0 * length)) / std::ceil(std::log(1.0 * length));
        EXPECT_GE(large.forward, 2 * small.forward) << spec.name;
        EXPECT_LE(large.forward, 2 * logs * small.forward * (1 + 1e-12)) << spec.name;
        EXPECT_LE(large.backward, 2 * logs * small.backward * (1 + 1e-12)) << spec.name;
      }
    } else if (spec.name == "sinkhorn") {
      // Linear block attention (a L) plus the soft sort: the permutation mixes N = L / b blocks
      // of b d numbers each, N^2 b d = L^2 d / b (c L^2). Then f(4L) - 2 f(2L) = 8 c L^2 is
      // exactly four times f(2L) - 2 f(L) = 2 c L^2, and the sort's share grows.
      EXPECT_DOUBLE_EQ(quad.forward - 2 * two.forward, 4 * (two.forward - 2 * one.forward))
          << spec.name;
      EXPECT_DOUBLE_EQ(quad.backward - 2 * two.backward, 4 * (two.backward - 2 * one.backward))
          << spec.name;
      EXPECT_GT(two.forward, 2 * one.forward) << spec.name;
      EXPECT_LT(two.forward, 4 * one.forward) << spec.name;
    } else if (spec.name == "sparse_transformer") {
      // Quadratic with a linear part: each query sees its block (l) and the summary positions
      // of the blocks before it ((c + 1) L / l), so each doubling multiplies the count by more
      // than 2 and at most 4, more as the summaries' share grows.
      EXPECT_GT(two.forward, 2 * one.forward) << spec.name;
      EXPECT_LE(two.forward, 4 * one.forward) << spec.name;
      EXPECT_GT(quad.forward / two.forward, two.forward / one.forward) << spec.name;
      EXPECT_DOUBLE_EQ(two.backward, 2 * two.forward) << spec.name;
    } else if (spec.cost == AttentionCost::kLinear) {
      EXPECT_DOUBLE_EQ(quad.forward - two.forward, 2 * (two.forward - one.forward)) << spec.name;
      EXPECT_DOUBLE_EQ(quad.backward - two.backward, 2 * (two.backward - one.backward))
          << spec.name;
      if (!block_sparse) {
        EXPECT_GE(2 * one.forward - two.forward, 0.0) << spec.name;
      }
      EXPECT_GT(two.forward, one.forward) << spec.name;
    } else {
      EXPECT_DOUBLE_EQ(two.forward, 4 * one.forward) << spec.name;
      EXPECT_DOUBLE_EQ(two.backward, 4 * one.backward) << spec.name;
    }
  }
}

TEST(FlopCount, NystromFamilyHandCounts) {
  AttentionShape s{1, 1, 10, 4, 6};
  AttentionConfig nystrom;
  nystrom.type = "nystromformer";
  nystrom.num_landmarks = 3;
  nystrom.pinv_iterations = 2;
  nystrom.conv_kernel = 5;
  auto backend = test::make_backend(nystrom, 4, 7, 1);
  // Landmarks 2 * (2 * 3 * 10 * 4); four L m d products 4 * (2 * 10 * 3 * 4); two m^2 d
  // 2 * (2 * 9 * 4); pinv 2 * 4 * (2 * 27); conv 2 * 10 * 4 * 5.
  const double landmarks = 480, products = 960 + 144, pinv = 432, conv = 400;
  auto n = attention_implementation("nystromformer").flops(s, *backend);
  EXPECT_DOUBLE_EQ(n.forward, landmarks + products + pinv + conv);
  EXPECT_DOUBLE_EQ(n.backward, landmarks + 2 * (products + pinv) + conv);
  AttentionConfig linformer;
  linformer.type = "linformer";
  linformer.linformer_k = 3;
  auto l = attention_implementation("linformer").flops(s, *test::make_backend(linformer, 4, 7, 1));
  EXPECT_DOUBLE_EQ(l.forward, 4 * (2 * 10 * 3 * 4));  // E k, E v, scores, weights (E v)
  EXPECT_DOUBLE_EQ(l.backward, 2 * (2 * 10 * 3 * 4) + 4 * (2 * 10 * 3 * 4));
  AttentionConfig sky;
  sky.type = "skyformer";
  sky.features = 3;
  sky.accumulation = 2;
  sky.pinv_iterations = 1;
  auto k = attention_implementation("skyformer").flops(s, *test::make_backend(sky, 4, 7, 1));
  // kappa(q|k, 6 sampled): 2 * (2 * 10 * 6 * 4); kappa(6, 6): 2 * 36 * 4; C_k^T v, C_q (.):
  // 2 * (2 * 10 * 3 * 4); middle (.): 2 * 9 * 4; pinv 1 * 4 * (2 * 27).
  EXPECT_DOUBLE_EQ(k.forward, 960 + 288 + 480 + 72 + 216);
  EXPECT_DOUBLE_EQ(k.backward, 2 * k.forward);
}

}  // namespace
}  // namespace lra
