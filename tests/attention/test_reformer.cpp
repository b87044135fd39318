// reformer: the LSH hash, HuggingFace's automatic bucket counts, the chunked fast path against
// the dense float64 pattern it defines (values and gradients, both conventions), padding, the
// limit cases where it becomes exact shared-QK attention, lengths that are not a multiple of the
// bucket size, reproducible draws across a save/load, and the settings refused at load. The
// generic properties are in test_attention_backends.cpp.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/lsh_attention.h"
#include "attention/lsh_hashing.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::max_abs;
using test::random_inputs;

AttentionConfig reformer_config(int64_t bucket_size, const std::string& convention = "paper") {
  AttentionConfig c;
  c.type = "reformer";
  c.bucket_size = bucket_size;
  c.convention = convention;
  return c;
}

// (B, H, n, L) buckets of q under draw `draw` of `seed`, as the backend hashes them.
torch::Tensor reformer_buckets(const test::Inputs& in, int64_t hashes,
                               const std::vector<int64_t>& f, uint64_t seed = 7, int64_t draw = 0) {
  auto r = lsh_rotations(seed, draw, in.q.size(1), hashes, in.q.size(3), lsh_rotation_width(f));
  return lsh_hash(in.q, r, f, in.mask);
}

// Real rows of (B, H, L, d).
torch::Tensor reformer_real_rows(const torch::Tensor& out, const torch::Tensor& mask) {
  return out * mask.unsqueeze(1).unsqueeze(-1);
}

// Shared-QK attention with the self rule by plain loops, float64.
torch::Tensor reformer_naive_shared_qk(const test::Inputs& in) {
  const int64_t B = in.q.size(0), H = in.q.size(1), L = in.q.size(2), D = in.q.size(3);
  auto out = torch::zeros_like(in.v);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        std::vector<double> s(L);
        double top = -1e300;
        for (int64_t j = 0; j < L; ++j) {
          auto qj = in.q[b][h][j];
          const double dot = (in.q[b][h][i] * qj).sum().item<double>() /
                             std::sqrt((qj * qj).sum().item<double>() + D * 1e-6);
          s[j] = j == i ? -1e5 : in.mask[b][j].item<double>() == 0 ? -1e9 : dot;
          top = std::max(top, s[j]);
        }
        double z = 0;
        for (int64_t j = 0; j < L; ++j) z += std::exp(s[j] - top);
        for (int64_t j = 0; j < L; ++j) out[b][h][i] += std::exp(s[j] - top) / z * in.v[b][h][j];
      }
  return out;
}

TEST(ReformerHash, ArgmaxOverTheRotationAndItsNegation) {
  auto in = random_inputs(2, 3, 10, 5, 1, 3);
  for (const std::vector<int64_t>& factors : {std::vector<int64_t>{6}, {4, 8}}) {
    auto r = lsh_rotations(3, 0, 3, 2, 5, lsh_rotation_width(factors));  // (H, n, d, width)
    auto buckets = lsh_hash(in.q, r, factors, in.mask);                  // (B, H, n, L)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t n = 0; n < 2; ++n)
          for (int64_t i = 0; i < 10; ++i) {
            int64_t expected = 0, column = 0, product = 1;
            for (int64_t f : factors) {
              auto x = torch::matmul(in.q[b][h][i], r[h][n]).narrow(0, column, f / 2);
              expected += product * torch::cat({x, -x}).argmax().item<int64_t>();
              column += f / 2;
              product *= f;
            }
            if (in.mask[b][i].item<double>() == 0) expected = product;  // the padding bucket
            EXPECT_EQ(buckets[b][h][n][i].item<int64_t>(), expected);
          }
  }
}

TEST(ReformerHash, AutomaticBucketCountsAsHuggingFace) {
  // 2 L / chunk rounded down to a power of two; factorised above 2 max(sqrt(max_len / chunk),
  // chunk).
  EXPECT_EQ(lsh_bucket_factors(0, 128, 64, 128), std::vector<int64_t>{4});
  EXPECT_EQ(lsh_bucket_factors(0, 192, 64, 192), std::vector<int64_t>{4});
  EXPECT_EQ(lsh_bucket_factors(0, 2048, 64, 2048), std::vector<int64_t>{64});
  EXPECT_EQ(lsh_bucket_factors(0, 4096, 64, 4096), std::vector<int64_t>{128});
  EXPECT_EQ(lsh_bucket_factors(0, 8192, 64, 8192), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(lsh_bucket_factors(0, 16384, 64, 16384), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(lsh_bucket_factors(0, 32, 4, 32), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(lsh_bucket_factors(6, 4096, 64, 4096), std::vector<int64_t>{6});
}

// The fast path against the dense multiplicities, in values and gradients of q and v.
TEST(ReformerLsh, FastPathMatchesDenseReferenceValuesAndGradients) {
  struct Case {
    int64_t batch, heads, length, dim, chunk, hashes, before, after, num_buckets, pad;
  };
  const std::vector<Case> cases = {{2, 2, 32, 4, 4, 2, 1, 0, 0, 5},
                                   {1, 1, 24, 3, 8, 3, 1, 1, 4, 0},
                                   {2, 1, 16, 4, 4, 1, 0, 0, 2, 7},
                                   {1, 2, 12, 4, 4, 2, 2, 2, 2, 2}};  // window wider than a round
  for (const auto& c : cases)
    for (bool paper : {true, false}) {
      SCOPED_TRACE("L=" + std::to_string(c.length) + " chunk=" + std::to_string(c.chunk) +
                   " hashes=" + std::to_string(c.hashes) + " paper=" + std::to_string(paper));
      auto in = random_inputs(c.batch, c.heads, c.length, c.dim, 11 + c.length, c.pad);
      auto factors = lsh_bucket_factors(c.num_buckets, c.length, c.chunk, c.length);
      auto buckets = reformer_buckets(in, c.hashes, factors);
      const LshChunking ch{c.chunk, c.before, c.after, paper};
      auto weight = torch::randn_like(in.v);
      auto run = [&](auto attention) {
        auto q = in.q.clone().requires_grad_(true), v = in.v.clone().requires_grad_(true);
        auto out = attention(q, v, in.mask, buckets, ch);
        auto grads =
            torch::autograd::grad({(reformer_real_rows(out, in.mask) * weight).sum()}, {q, v});
        return std::vector<torch::Tensor>{reformer_real_rows(out, in.mask).detach(), grads[0],
                                          grads[1]};
      };
      auto dense = run(lsh_attention_reference);
      // The CPU path (the block-sparse kernel) and the tensor-op path of other devices.
      for (const auto& fast : {run(lsh_attention), run(lsh_attention_ops)}) {
        EXPECT_LT(max_abs(fast[0] - dense[0]), 1e-12);
        EXPECT_LT(max_abs(fast[1] - dense[1]), 1e-10);
        EXPECT_LT(max_abs(fast[2] - dense[2]), 1e-12);
      }
    }
}

// The CPU kernel's score bias equals its tensor-op form, both conventions, with padding, a
// window wider than one chunk each side and one round.
TEST(ReformerLsh, CpuBiasKernelMatchesTensorOps) {
  for (int64_t hashes : {1, 3})
    for (bool paper : {true, false}) {
      auto in = random_inputs(2, 3, 48, 4, 81 + hashes, 11);
      auto buckets = reformer_buckets(in, hashes, {8});
      const LshChunking ch{8, 2, 1, paper};
      for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
        auto kernel = lsh_attention_bias(buckets, in.mask, ch, dtype, true);
        auto ops = lsh_attention_bias(buckets, in.mask, ch, dtype, false);
        EXPECT_TRUE(torch::equal(kernel, ops)) << "hashes " << hashes << " paper " << paper;
      }
    }
}

// The two conventions differ where keys of other buckets share a window: the paper attends
// within the bucket only.
TEST(ReformerLsh, PaperConventionAttendsWithinTheBucketOnly) {
  auto in = random_inputs(1, 2, 64, 4, 5);
  auto buckets = reformer_buckets(in, 2, {8});
  auto paper = lsh_attention(in.q, in.v, in.mask, buckets, {8, 1, 0, true});
  auto code = lsh_attention(in.q, in.v, in.mask, buckets, {8, 1, 0, false});
  EXPECT_GT(max_abs(paper - code), 1e-3);
}

// Padded keys: exactly zero weight (their values change nothing, bit for bit, and get no
// gradient), and garbage in their queries changes nothing either.
TEST(ReformerLsh, PaddedKeysGetExactlyZeroWeight) {
  const int64_t L = 40, pad = 13;
  auto in = random_inputs(2, 2, L, 4, 21, pad);
  auto garbage = random_inputs(2, 2, L, 4, 22, pad, 100.0);
  auto is_pad = (in.mask == 0).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  for (const std::string convention : {"paper", "skyformer_code"}) {
    auto backend = test::make_backend(reformer_config(8, convention), 4);
    auto clean = backend->forward(in.q, in.k, in.v, in.mask);
    auto q_dirty = torch::where(is_pad, garbage.q, in.q);
    auto v_dirty = torch::where(is_pad, garbage.v * 1e3, in.v).requires_grad_(true);
    auto noisy = backend->forward(q_dirty, in.k, v_dirty, in.mask);
    EXPECT_TRUE(
        torch::equal(reformer_real_rows(clean, in.mask), reformer_real_rows(noisy, in.mask)))
        << convention;
    auto grad = torch::autograd::grad({reformer_real_rows(noisy, in.mask).sum()}, {v_dirty})[0];
    EXPECT_EQ(max_abs(grad * is_pad), 0.0) << convention;
    EXPECT_GT(max_abs(grad), 0.0) << convention;
  }
}

// One chunk covering the sequence: the backend attends it whole, which is exact shared-QK
// attention with the self rule (checked against plain loops).
TEST(ReformerLimits, OneChunkEqualsExactSharedQkAttention) {
  auto in = random_inputs(2, 2, 16, 4, 31, 5);
  auto exact = reformer_naive_shared_qk(in);
  for (const std::string convention : {"paper", "skyformer_code"}) {
    auto out =
        test::make_backend(reformer_config(16, convention), 4)->forward(in.q, in.k, in.v, in.mask);
    EXPECT_LT(max_abs(reformer_real_rows(out - exact, in.mask)), 1e-12) << convention;
  }
  // A single real token has nothing but itself to attend.
  auto alone = random_inputs(1, 1, 6, 4, 32);
  alone.mask.narrow(1, 1, 5).zero_();
  auto out = test::make_backend(reformer_config(6), 4, 7, 1)
                 ->forward(alone.q, alone.k, alone.v, alone.mask);
  EXPECT_LT(max_abs(out[0][0][0] - alone.v[0][0][0]), 1e-12);
}

// The chunked path itself becomes exact when every window covers the whole sorted sequence:
// HuggingFace's counts every key equally often; the paper's needs one bucket as well.
TEST(ReformerLimits, WindowOverTheWholeSequenceIsExact) {
  auto in = random_inputs(2, 2, 32, 4, 41, 9);
  auto exact = reformer_naive_shared_qk(in);
  const int64_t hashes = 2, chunks = hashes * 32 / 8;
  auto hashed = reformer_buckets(in, hashes, {4});
  auto code = lsh_attention(in.q, in.v, in.mask, hashed, {8, chunks - 1, 0, false});
  EXPECT_LT(max_abs(reformer_real_rows(code - exact, in.mask)), 1e-12);
  auto one_bucket = hashed.clamp_max(0).masked_fill(hashed == 4, 1);  // pads keep their own
  auto paper = lsh_attention(in.q, in.v, in.mask, one_bucket, {8, chunks - 1, 0, true});
  EXPECT_LT(max_abs(reformer_real_rows(paper - exact, in.mask)), 1e-12);
}

// Batch 1, one head, a length that is not a multiple of the bucket size: the backend pads with
// masked positions, hashes with its draw and equals the dense pattern of those buckets.
TEST(ReformerBackend, LengthNotAMultipleOfTheBucketSize) {
  const int64_t L = 37, c = 8, padded = 40;
  auto in = random_inputs(1, 1, L, 4, 51);
  for (const std::string convention : {"paper", "skyformer_code"}) {
    auto out = test::make_backend(reformer_config(c, convention), 4, 7, 1)
                   ->forward(in.q, in.k, in.v, in.mask);
    auto pad = [&](const torch::Tensor& t) {
      return torch::constant_pad_nd(t, {0, 0, 0, padded - L}, 0.0);
    };
    test::Inputs p{pad(in.q), pad(in.k), pad(in.v),
                   torch::constant_pad_nd(in.mask, {0, padded - L}, 0.0)};
    auto factors = lsh_bucket_factors(0, padded, c, test::kTestMaxLength);
    auto expected = lsh_attention_reference(p.q, p.v, p.mask, reformer_buckets(p, 2, factors),
                                            {c, 1, 0, convention == "paper"});
    EXPECT_EQ(out.sizes(), in.v.sizes());
    EXPECT_LT(max_abs(out - expected.narrow(2, 0, L)), 1e-12) << convention;
  }
}

// Rotations are draw `step` of the layer seed: redrawn at every training step, one fixed draw in
// evaluation, restored bit for bit by a checkpoint, and a resumed run continues identically.
TEST(ReformerBackend, DrawsFollowTheStepAndSurviveSaveLoad) {
  auto in = random_inputs(2, 2, 48, 4, 61, 6);
  auto config = reformer_config(8);
  auto source = test::make_backend(config, 4, /*seed=*/1);
  auto step0 = source->forward(in.q, in.k, in.v, in.mask);
  source->on_train_step(1);
  auto step1 = source->forward(in.q, in.k, in.v, in.mask);
  EXPECT_FALSE(torch::equal(step0, step1));
  source->eval();
  auto eval1 = source->forward(in.q, in.k, in.v, in.mask);
  EXPECT_FALSE(torch::equal(step1, eval1));
  source->on_train_step(3);
  EXPECT_TRUE(torch::equal(eval1, source->forward(in.q, in.k, in.v, in.mask)));
  source->train();
  const std::string path = ::testing::TempDir() + "reformer_draws.pt";
  torch::save(source, path);
  auto target = test::make_backend(config, 4, /*seed=*/1);
  torch::load(target, path);
  std::remove(path.c_str());
  EXPECT_TRUE(torch::equal(source->forward(in.q, in.k, in.v, in.mask),
                           target->forward(in.q, in.k, in.v, in.mask)));
  source->on_train_step(4);
  target->on_train_step(4);
  EXPECT_TRUE(torch::equal(source->forward(in.q, in.k, in.v, in.mask),
                           target->forward(in.q, in.k, in.v, in.mask)));
  // Same seed and step, same draw; another layer seed, another.
  auto twin = test::make_backend(config, 4, /*seed=*/1);
  auto other = test::make_backend(config, 4, /*seed=*/2);
  EXPECT_TRUE(torch::equal(step0, twin->forward(in.q, in.k, in.v, in.mask)));
  EXPECT_FALSE(torch::equal(step0, other->forward(in.q, in.k, in.v, in.mask)));
}

TEST(ReformerBackend, FloatAndDoubleAgreeAndFlopsGrowLinearly) {
  auto in = random_inputs(1, 2, 64, 8, 71, 3);
  auto config = reformer_config(16);
  auto d64 = test::make_backend(config, 8)->forward(in.q, in.k, in.v, in.mask);
  auto f32 = make_attention(config, test::test_context(2, 8, 0.0, 7))
                 ->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                           in.v.to(torch::kFloat32), in.mask.to(torch::kFloat32));
  EXPECT_EQ(f32.scalar_type(), torch::kFloat32);
  EXPECT_LT(max_abs(reformer_real_rows(f32.to(torch::kFloat64) - d64, in.mask)), 1e-4);
  auto backend = make_attention(reformer_config(64), test::test_context(4, 64, 0.0, 7));
  const auto& impl = attention_implementation("reformer");
  auto at = [&](int64_t L) { return impl.flops({1, 4, L, 64}, *backend).forward; };
  // Twice the slots; the hash's rotation widens with the bucket count (32 -> 64 columns).
  EXPECT_GE(at(4096) / at(2048), 2.0);
  EXPECT_LE(at(4096) / at(2048), 2.25);
  // One chunk: the exact quadratic count.
  EXPECT_EQ(at(64), quadratic_attention_flops({1, 4, 64, 64}).forward);
}

TEST(ReformerConfig, BadSettingsAreRefusedNamingTheKey) {
  auto errors_of = [](AttentionConfig c, int64_t padded) {
    std::string all;
    for (const auto& e : attention_config_errors(c, padded)) all += e + "\n";
    return all;
  };
  auto c = reformer_config(64);
  EXPECT_EQ(errors_of(c, 2048), "");
  auto zero_hashes = c;
  zero_hashes.hashes = 0;
  EXPECT_NE(errors_of(zero_hashes, 2048).find("attention.hashes"), std::string::npos);
  EXPECT_NE(errors_of(c, 48).find("attention.bucket_size"), std::string::npos);
  auto zero_bucket = c;
  zero_bucket.bucket_size = 0;
  EXPECT_NE(errors_of(zero_bucket, 2048).find("attention.bucket_size"), std::string::npos);
  auto odd = c;
  odd.num_buckets = 7;
  EXPECT_NE(errors_of(odd, 2048).find("attention.num_buckets"), std::string::npos);
  auto negative = c;
  negative.chunks_before = -1;
  EXPECT_NE(errors_of(negative, 2048).find("attention.chunks_before"), std::string::npos);
  EXPECT_THROW(make_attention(zero_hashes, test::test_context(1, 4, 0.0, 1)),
               std::invalid_argument);
}

}  // namespace
}  // namespace lra
