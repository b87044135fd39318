// bigbird: the block-sparse fast path against a float64 dense reference written from BigBird's
// definition with the random blocks given as input; padding; the limits where the pattern covers
// every key (exact softmax); the draws (conventions, seeds, checkpoints); config refusals.
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/bigbird_pattern.h"
#include "attention/cpu/block_sparse_attention.h"
#include "attention/exact_softmax.h"
#include "attention_test_util.h"
#include "config/config.h"

namespace lra::bigbird_test {

using bigbird::Draws;
using bigbird::PatternShape;
using test::random_inputs;

// (H, L, L) float64: how often query i attends key j, from BigBird's definition read literally:
// global query blocks see every block; another block sees the global blocks and its window once
// and each of its random blocks (random: (H, nb - 2 g, r), -1 = none) once more.
torch::Tensor bigbird_counts(const torch::Tensor& random, int64_t global, int64_t block,
                             int64_t length) {
  const int64_t heads = random.size(0), nb = (length + block - 1) / block;
  auto counts = torch::zeros({heads, nb * block, nb * block}, torch::kFloat64);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < nb * block; ++i) {
      const int64_t qb = i / block;
      const bool global_row = qb < global || qb >= nb - global;
      for (int64_t j = 0; j < nb * block; ++j) {
        const int64_t kb = j / block;
        const bool global_key = kb < global || kb >= nb - global;
        const bool window = kb >= qb - 1 && kb <= qb + 1;
        double c = (global_row || global_key || window) ? 1.0 : 0.0;
        if (!global_row)
          for (int64_t r = 0; r < random.size(2); ++r)
            c += random[h][qb - global][r].item<int64_t>() == kb ? 1.0 : 0.0;
        counts[h][i][j] = c;
      }
    }
  return counts.narrow(1, 0, length).narrow(2, 0, length);
}

// softmax over the real keys with each key's exp(score) counted as often as the pattern lists
// it, from a dense (B, H, L, L) score matrix.
torch::Tensor dense_bigbird(const test::Inputs& in, const torch::Tensor& q, const torch::Tensor& k,
                            const torch::Tensor& v, const torch::Tensor& random, int64_t global,
                            int64_t block) {
  const int64_t B = q.size(0), L = q.size(2);
  auto counts = bigbird_counts(random, global, block, L).unsqueeze(0) *
                in.mask.view({B, 1, 1, L});  // (B, H, L, L)
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
  auto e = counts * torch::exp(scores - 30.0);  // scores of unit inputs stay far below 30
  return torch::matmul(e / e.sum(-1, true), v);
}

AttentionConfig bigbird_config(int64_t block, int64_t random, int64_t global,
                               const std::string& convention = "paper") {
  AttentionConfig c;
  c.type = "bigbird";
  c.block_size = block;
  c.random_blocks = random;
  c.global_blocks = global;
  c.convention = convention;
  return c;
}

// Real rows (mask 1) of (B, H, L, d), others zeroed, for comparisons.
torch::Tensor real_rows(const torch::Tensor& t, const torch::Tensor& mask) {
  return t * mask.view({mask.size(0), 1, mask.size(1), 1});
}

struct BigBirdCase {
  int64_t batch, heads, length, block, random, global;
};

// 203 tokens in blocks of 8: 26 blocks, the last one 3 tokens long; above the full-attention
// threshold for these r and g.
const std::vector<BigBirdCase> kCases = {
    {2, 2, 203, 8, 2, 1}, {1, 1, 203, 8, 3, 1}, {2, 3, 160, 16, 1, 1}, {2, 2, 190, 8, 2, 2}};

TEST(BigBird, FastPathMatchesDenseReferenceInValuesAndGradients) {
  for (const auto& c : kCases)
    for (auto draws : {Draws::kUniform, Draws::kSkyformerCode}) {
      if (draws == Draws::kSkyformerCode && c.global != 1) continue;
      SCOPED_TRACE("L=" + std::to_string(c.length) + " b=" + std::to_string(c.block) +
                   " r=" + std::to_string(c.random) + " g=" + std::to_string(c.global));
      auto in = random_inputs(c.batch, c.heads, c.length, 8, 3, /*pad=*/c.length / 3);
      PatternShape shape{c.heads, (c.length + c.block - 1) / c.block, c.global, c.random};
      auto random = bigbird::draw_random_blocks(shape, c.block, draws, 11, 0);
      auto layout = bigbird::layout(random, shape, c.block);
      std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                      in.v.clone().requires_grad_()};
      auto fast = block_sparse_attention(x[0], x[1], x[2], in.mask, layout);
      auto slow = dense_bigbird(in, x[0], x[1], x[2], random, c.global, c.block);
      EXPECT_LT(test::max_abs(real_rows(fast - slow, in.mask)), 1e-12);
      auto weight = real_rows(torch::randn_like(in.v), in.mask);
      auto g_fast = torch::autograd::grad({(fast * weight).sum()}, x);
      auto g_slow = torch::autograd::grad({(slow * weight).sum()}, x);
      for (size_t i = 0; i < 3; ++i) EXPECT_LT(test::max_abs(g_fast[i] - g_slow[i]), 1e-11) << i;
      // The generic dense reference of the layout agrees too.
      auto generic = block_sparse_attention_reference(in.q, in.k, in.v, in.mask, layout);
      EXPECT_LT(test::max_abs(real_rows(generic - slow.detach(), in.mask)), 1e-12);
    }
}

// The module: its pattern is the draw of its seed, and batch 1 / one head / a length that is not
// a block multiple run through it.
TEST(BigBird, ModuleComputesItsSeedsPattern) {
  for (const auto& c : kCases)
    for (const std::string convention : {"paper", "skyformer_code"}) {
      if (convention == "skyformer_code" && c.global != 1) continue;
      auto backend = test::make_backend(bigbird_config(c.block, c.random, c.global, convention), 8,
                                        /*seed=*/5, c.heads);
      auto in = random_inputs(c.batch, c.heads, c.length, 8, 4, 7);
      PatternShape shape{c.heads, (c.length + c.block - 1) / c.block, c.global, c.random};
      auto draws = convention == "paper" ? Draws::kUniform : Draws::kSkyformerCode;
      auto random = bigbird::draw_random_blocks(shape, c.block, draws, 5, 0);
      auto out = backend->forward(in.q, in.k, in.v, in.mask);
      auto slow = dense_bigbird(in, in.q, in.k, in.v, random, c.global, c.block);
      EXPECT_LT(test::max_abs(real_rows(out - slow, in.mask)), 1e-12) << convention;
      auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
      EXPECT_GT(test::max_abs(real_rows(out - exact, in.mask)), 1e-3) << "not sparse";
    }
}

// Garbage in the padded positions changes no real row, and padded values enter with weight
// exactly zero (huge values leave the real rows bit-identical).
TEST(BigBird, PaddingInvarianceAndExactlyZeroWeightOnPaddedKeys) {
  const int64_t L = 203;
  auto backend = test::make_backend(bigbird_config(8, 2, 1), 8, 9, 2);
  auto in = random_inputs(2, 2, L, 8, 6, /*pad=*/150);  // batch 0 mostly padding
  auto pad = (in.mask == 0).view({2, 1, L, 1});
  auto junk = random_inputs(2, 2, L, 8, 7, 0, 50.0);
  auto clean = backend->forward(in.q, in.k, in.v, in.mask);
  auto dirty = backend->forward(torch::where(pad, junk.q, in.q), torch::where(pad, junk.k, in.k),
                                torch::where(pad, junk.v, in.v), in.mask);
  EXPECT_LT(test::max_abs(real_rows(clean - dirty, in.mask)), 1e-12);
  auto huge = backend->forward(in.q, in.k, torch::where(pad, in.v * 1e200, in.v), in.mask);
  EXPECT_TRUE(torch::equal(real_rows(clean, in.mask), real_rows(huge, in.mask)));
}

// Up to (2 g + 3 + 2 r) blocks the backend is exact softmax attention (HuggingFace's fallback):
// the quickstart's 64 tokens in blocks of 64 are such a case.
TEST(BigBird, ShortSequencesAreExactSoftmax) {
  for (const auto& [L, block, random] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {64, 64, 3}, {1, 64, 3}, {704, 64, 3}, {72, 8, 2}}) {
    auto backend = test::make_backend(bigbird_config(block, random, 1), 4, 1, 2);
    auto in = random_inputs(2, 2, L, 4, 8, L / 4);
    auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
    EXPECT_LT(
        test::max_abs(real_rows(backend->forward(in.q, in.k, in.v, in.mask) - exact, in.mask)),
        1e-12)
        << L;
  }
  // One token past the threshold the pattern is sparse.
  auto backend = test::make_backend(bigbird_config(8, 2, 1), 4, 1, 2);
  auto in = random_inputs(1, 2, 73, 4, 8);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  EXPECT_GT(test::max_abs(backend->forward(in.q, in.k, in.v, in.mask) - exact), 1e-3);
}

// When the blocks cover the whole sequence, the sparse path is exact softmax: a layout listing
// every block, and BigBird with as many random blocks as there are candidates (r = nb - 4: the
// edge rows take all theirs, the middle rows all but an empty slot).
TEST(BigBird, BlocksCoveringTheSequenceAreExactSoftmax) {
  const int64_t L = 70, block = 8, nb = 9;
  auto in = random_inputs(2, 2, L, 4, 12, 20);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  BlockSparseLayout all;
  all.block_size = block;
  all.key_blocks = torch::arange(nb).repeat({2, nb, 1});  // (H, nb, nb)
  all.sparse_rows = torch::arange(nb);
  all.global_rows = torch::empty({0}, torch::kInt64);
  auto listed = block_sparse_attention(in.q, in.k, in.v, in.mask, all);
  EXPECT_LT(test::max_abs(real_rows(listed - exact, in.mask)), 1e-12);
  PatternShape shape{2, nb, 1, nb - 4};
  auto random = bigbird::draw_random_blocks(shape, block, Draws::kUniform, 3, 0);
  auto covered =
      block_sparse_attention(in.q, in.k, in.v, in.mask, bigbird::layout(random, shape, block));
  EXPECT_LT(test::max_abs(real_rows(covered - exact, in.mask)), 1e-12);
  // Every query block global: every row sees everything.
  BlockSparseLayout global;
  global.block_size = block;
  global.key_blocks = torch::empty({2, 0, 1}, torch::kInt64);
  global.sparse_rows = torch::empty({0}, torch::kInt64);
  global.global_rows = torch::arange(nb);
  auto everything = block_sparse_attention(in.q, in.k, in.v, in.mask, global);
  EXPECT_LT(test::max_abs(real_rows(everything - exact, in.mask)), 1e-12);
}

// Where each convention draws its random blocks.
TEST(BigBird, DrawsFollowTheirConvention) {
  auto check_rows = [](const torch::Tensor& random, int64_t nb, int64_t lo, int64_t hi,
                       bool window_excluded) {
    for (int64_t h = 0; h < random.size(0); ++h)
      for (int64_t s = 0; s < random.size(1); ++s) {
        const int64_t row = s + 1;
        std::set<int64_t> seen;
        for (int64_t j = 0; j < random.size(2); ++j) {
          const int64_t b = random[h][s][j].item<int64_t>();
          ASSERT_GE(b, lo) << "row " << row;
          ASSERT_LT(b, hi) << "row " << row;
          if (window_excluded) {
            EXPECT_TRUE(b < row - 1 || b > row + 1) << "row " << row;
          }
          EXPECT_TRUE(seen.insert(b).second) << "row " << row << " repeats " << b;
          EXPECT_NE(b, nb - 1);
        }
      }
  };
  // 2,048 tokens in blocks of 64 (the Skyformer ListOps length): the code's plan draws from
  // blocks 1..9 (of 2 r + 5 = 11, the first and the plan's last excluded).
  PatternShape plan{2, 32, 1, 3};
  auto code = bigbird::draw_random_blocks(plan, 64, Draws::kSkyformerCode, 42, 0);
  check_rows(code, 32, 1, 10, true);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t j = 0; j < 3; ++j) EXPECT_NE(code[h][0][j].item<int64_t>(), 9);  // row 1 rule
  // 4,096 tokens: the legacy rule, blocks from the first 1,024 tokens only (1..15).
  PatternShape legacy{2, 64, 1, 3};
  check_rows(bigbird::draw_random_blocks(legacy, 64, Draws::kSkyformerCode, 42, 0), 64, 1, 16,
             false);
  // paper: anywhere outside the window and the global blocks.
  auto uniform = bigbird::draw_random_blocks(plan, 64, Draws::kUniform, 42, 0);
  check_rows(uniform, 32, 1, 31, true);
  EXPECT_GT(uniform.max().item<int64_t>(), 20);
}

TEST(BigBird, DrawsDependOnSeedAndIndexOnly) {
  PatternShape shape{2, 32, 1, 3};
  for (auto draws : {Draws::kUniform, Draws::kSkyformerCode}) {
    auto a = bigbird::draw_random_blocks(shape, 64, draws, 1, 0);
    EXPECT_TRUE(torch::equal(a, bigbird::draw_random_blocks(shape, 64, draws, 1, 0)));
    EXPECT_FALSE(torch::equal(a, bigbird::draw_random_blocks(shape, 64, draws, 2, 0)));
    EXPECT_FALSE(torch::equal(a, bigbird::draw_random_blocks(shape, 64, draws, 1, 1)));
    EXPECT_FALSE(torch::equal(a[0], a[1]));  // heads draw apart
  }
}

// skyformer_code keeps its draw for good (the code reseeds at every forward); paper redraws at
// every training step. A checkpoint carries the seed and the draw index, so a loaded module
// computes what the saved one did.
TEST(BigBird, RedrawsAndCheckpointRoundTrip) {
  auto in = random_inputs(2, 2, 203, 8, 14, 9);
  auto out = [&](const AttentionPtr& m) { return m->forward(in.q, in.k, in.v, in.mask); };
  auto code = test::make_backend(bigbird_config(8, 2, 1, "skyformer_code"), 8, 1, 2);
  auto first = out(code);
  for (int64_t step = 1; step <= 3; ++step) code->on_train_step(step);
  EXPECT_TRUE(torch::equal(first, out(code)));
  auto paper = test::make_backend(bigbird_config(8, 2, 1), 8, 1, 2);
  auto before = out(paper);
  paper->on_train_step(1);
  auto after = out(paper);
  EXPECT_FALSE(torch::equal(before, after));
  EXPECT_FALSE(torch::equal(after, out(test::make_backend(bigbird_config(8, 2, 1), 8, 2, 2))));
  for (const auto& source : {code, paper}) {
    auto target = test::make_backend(
        bigbird_config(8, 2, 1, source == code ? "skyformer_code" : "paper"), 8, /*seed=*/77, 2);
    EXPECT_FALSE(torch::equal(out(source), out(target)));  // another seed draws otherwise
    const std::string path = ::testing::TempDir() + "bigbird_roundtrip.pt";
    torch::save(source, path);
    torch::load(target, path);
    std::remove(path.c_str());
    EXPECT_TRUE(torch::equal(out(source), out(target)));
  }
}

TEST(BigBird, Float32MatchesFloat64) {
  auto backend = test::make_backend(bigbird_config(16, 3, 1), 8, 3, 2);
  auto in = random_inputs(2, 2, 300, 8, 15, 40);
  auto wide = backend->forward(in.q, in.k, in.v, in.mask);
  backend->to(torch::kFloat32);
  auto narrow = backend->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                                 in.v.to(torch::kFloat32), in.mask.to(torch::kFloat32));
  EXPECT_EQ(narrow.scalar_type(), torch::kFloat32);
  EXPECT_LT(test::max_abs(real_rows(narrow.to(torch::kFloat64) - wide, in.mask)), 1e-5);
}

std::string config_error(const std::vector<std::string>& sets) {
  std::vector<std::string> all = {"attention.type=bigbird", "data.max_length=512",
                                  "data.synthetic.min_length=100", "data.synthetic.max_length=400"};
  all.insert(all.end(), sets.begin(), sets.end());
  try {
    load_config_text("", all);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(BigBird, BadSettingsAreRefusedAtLoadNamingTheKey) {
  EXPECT_EQ(config_error({}), "");
  EXPECT_EQ(config_error({"attention.block_size=512"}), "");
  EXPECT_EQ(config_error({"attention.global_blocks=3"}), "");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"attention.block_size=0", "attention.block_size"},
      {"attention.block_size=1024", "attention.block_size"},
      {"attention.random_blocks=0", "attention.random_blocks"},
      {"attention.random_blocks=-2", "attention.random_blocks"},
      {"attention.global_blocks=0", "attention.global_blocks"},
      {"attention.convention=skyformer_code attention.global_blocks=2", "attention.global_blocks"},
  };
  for (const auto& [sets, key] : bad) {
    std::vector<std::string> parts;
    std::stringstream ss(sets);
    for (std::string p; ss >> p;) parts.push_back(p);
    const std::string e = config_error(parts);
    EXPECT_NE(e.find(key), std::string::npos) << sets << ": " << e;
  }
}

}  // namespace lra::bigbird_test
