// synthesizer: the fused biased-softmax kernel against its plain-ops form (values, gradients of
// q, k, v and the bias, dropout, threads); the module against a float64 reference written from
// the definition given its weights, for every mode, with and without the dot product, in both
// conventions; padding; the softmax limits; the length its weights cover (refused at load time);
// FLOPs; config refusals.
#include <cmath>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/cpu/biased_softmax.h"
#include "attention/exact_softmax.h"
#include "attention_test_util.h"
#include "config/config.h"

namespace lra::synthesizer_test {

using test::max_abs;
using test::random_inputs;

const std::vector<std::string> kModes = {"random", "factorized_random", "dense", "dense_random",
                                         "dense_factorized_random"};

AttentionConfig synthesizer_config(const std::string& mode, bool dot,
                                   const std::string& convention = "paper") {
  AttentionConfig c;
  c.type = "synthesizer";
  c.synthesizer_mode = mode;
  c.dot_product = dot;
  c.convention = convention;
  if (mode.find("factorized") != std::string::npos) c.synthesizer_k = 5;
  return c;
}

AttentionPtr synthesizer_module(const AttentionConfig& config, int64_t max_length,
                                int64_t heads = 2, int64_t head_dim = 4, uint64_t seed = 7) {
  auto context = test::test_context(heads, head_dim, 0.0, seed);
  context.max_length = max_length;
  auto module = make_attention(config, context);
  module->to(torch::kFloat64);
  return module;
}

torch::Tensor real_rows(const torch::Tensor& t, const torch::Tensor& mask) {
  return t * mask.view({mask.size(0), 1, mask.size(1), 1});
}

// The LRA code's layout of the dense logits: its network's (B, L, H, L) output read as
// (B, H, L, L) in memory order, row (h, i) being flat row h L + i = output row l of head g with
// l H + g = h L + i.
torch::Tensor code_layout(const torch::Tensor& rows) {
  const int64_t H = rows.size(1), L = rows.size(2);
  std::vector<torch::Tensor> out;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < L; ++i) {
      const int64_t flat = h * L + i;
      out.push_back(rows.select(1, flat % H).select(1, flat / H));  // (B, L)
    }
  return torch::stack(out, 1).view({rows.size(0), H, L, rows.size(3)});
}

// softmax(sum_c alpha_c S_c) v from the definition, with the module's weights: S_c the scaled
// dot products, the random matrix (or its factors' product) cut to L x L from the first position,
// the dense network relu(q W1 + b1) W2 + b2 cut to L columns; alpha = softmax(mixture) (paper,
// several components) or 1; padded keys at -inf unless the LRA code's form has no dot product.
torch::Tensor definition(AttentionBackend& module, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v, const torch::Tensor& mask,
                         const AttentionConfig& c) {
  auto p = module.named_parameters();
  const int64_t L = q.size(2);
  const bool code = c.convention == "lra_code";
  std::vector<torch::Tensor> logits;
  if (c.dot_product)
    logits.push_back(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(3))));
  if (p.contains("random")) logits.push_back(p["random"].narrow(1, 0, L).narrow(2, 0, L));
  if (p.contains("random1"))
    logits.push_back(torch::matmul(p["random1"].narrow(1, 0, L), p["random2"].narrow(2, 0, L)));
  if (p.contains("dense1")) {
    auto rows = torch::matmul(torch::relu(torch::matmul(q, p["dense1"]) + p["dense1_bias"]),
                              p["dense2"].narrow(1, 0, L)) +
                p["dense2_bias"].narrow(0, 0, L);
    logits.push_back(code ? code_layout(rows) : rows);
  }
  auto alpha = p.contains("mixture") ? torch::softmax(p["mixture"], 0)
                                     : torch::ones({int64_t(logits.size())}, torch::kFloat64);
  auto total = torch::zeros({q.size(0), q.size(1), L, L}, torch::kFloat64);
  for (size_t i = 0; i < logits.size(); ++i) total = total + alpha[int64_t(i)] * logits[i];
  if (!code || c.dot_product)
    total = total.masked_fill(mask.view({mask.size(0), 1, 1, L}) == 0,
                              -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(total, -1), v);
}

struct KernelCase {
  int64_t batch, heads, length, dim;
  bool shared_bias, dot;
  int64_t pad;
  bool holes;
};

TEST(BiasedSoftmax, KernelMatchesOpsInValuesAndGradients) {
  const std::vector<KernelCase> cases = {{2, 2, 300, 8, true, true, 37, false},
                                         {1, 1, 257, 4, false, true, 0, false},
                                         {2, 3, 70, 5, true, false, 9, true},
                                         {3, 2, 300, 8, false, false, 100, true},
                                         {1, 2, 513, 16, true, true, 260, false}};
  for (const auto& c : cases)
    for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
      SCOPED_TRACE("L=" + std::to_string(c.length) + (c.dot ? " dot" : "") +
                   (c.shared_bias ? " shared" : " per-batch") +
                   (dtype == torch::kFloat32 ? " float32" : " float64"));
      auto in = random_inputs(c.batch, c.heads, c.length, c.dim, 3 + c.length, c.pad);
      if (c.holes) in.mask[c.batch - 1].narrow(0, 3, 5).zero_();  // padding inside the sequence
      auto gen = at::make_generator<at::CPUGeneratorImpl>(8);
      auto bias = torch::randn({c.shared_bias ? 1 : c.batch, c.heads, c.length, c.length}, gen,
                               torch::kFloat64);
      auto weight = torch::randn_like(in.v) * in.mask.view({c.batch, 1, c.length, 1});
      auto run = [&](bool fused, std::vector<torch::Tensor>& grads) {
        std::vector<torch::Tensor> x = {
            in.q.to(dtype).requires_grad_(), in.k.to(dtype).requires_grad_(),
            in.v.to(dtype).requires_grad_(), bias.to(dtype).requires_grad_(),
            torch::full({}, 0.7, dtype).requires_grad_()};
        const double scale = 1 / std::sqrt(double(c.dim));
        auto mask = in.mask.to(dtype);
        auto out =
            fused ? biased_softmax_attention(x[0], x[1], x[2], mask, x[3], x[4], 0.0, scale, c.dot)
                  : biased_softmax_attention_ops(x[0], x[1], x[2], mask, x[3], x[4], 0.0, scale,
                                                 c.dot, false);
        (out * weight.to(dtype)).sum().backward();
        grads.clear();
        for (auto& t : x)
          grads.push_back(t.grad().defined() ? t.grad().to(torch::kFloat64) : torch::Tensor());
        return real_rows(out.detach().to(torch::kFloat64), in.mask);
      };
      std::vector<torch::Tensor> fused_grads, ops_grads;
      auto fused = run(true, fused_grads);
      auto ops = run(false, ops_grads);
      const double tol = dtype == torch::kFloat64 ? 1e-12 : 2e-5;
      EXPECT_LT(max_abs(fused - ops), tol);
      for (size_t i = 0; i < 5; ++i) {
        if (!c.dot && i < 2) {  // q and k are not read
          EXPECT_FALSE(fused_grads[i].defined());
          continue;
        }
        // The bias scale's gradient sums (B H L^2) terms.
        const double scale_tol = i == 4 ? 1e3 * tol * max_abs(ops_grads[i]) : 10 * tol;
        EXPECT_LT(max_abs(fused_grads[i] - ops_grads[i]), scale_tol) << "input " << i;
      }
      // Padded keys: exactly zero weight, so exactly zero gradient for their bias columns.
      auto padded_columns = (in.mask == 0).view({c.batch, 1, 1, c.length});
      if (!c.shared_bias && (c.pad > 0 || c.holes)) {
        EXPECT_EQ(max_abs(fused_grads[3].masked_select(padded_columns)), 0.0);
      }
    }
}

TEST(BiasedSoftmax, DropoutBackwardIsTheForwardsDerivativeAndThreadsChangeNothing) {
  auto in = random_inputs(2, 2, 280, 4, 17, 30);
  auto bias = torch::randn({1, 2, 280, 280}, torch::kFloat64);
  auto weight = torch::randn_like(in.v);
  auto loss = [&](const torch::Tensor& q, const torch::Tensor& b) {
    torch::manual_seed(5);  // the call's dropout mask
    return (biased_softmax_attention(q, in.k, in.v, in.mask, b, torch::Tensor(), 0.3, 0.5, true) *
            weight)
        .sum();
  };
  auto q = in.q.clone().requires_grad_(), b = bias.clone().requires_grad_();
  loss(q, b).backward();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  for (int trial = 0; trial < 6; ++trial) {
    const bool on_bias = trial % 2 == 1;
    auto& x = on_bias ? bias : in.q;
    const int64_t i = torch::randint(0, x.numel(), {1}, gen).item<int64_t>();
    auto plus = x.clone(), minus = x.clone();
    plus.view(-1)[i] += 1e-6;
    minus.view(-1)[i] -= 1e-6;
    const double numeric = on_bias ? (loss(in.q, plus) - loss(in.q, minus)).item<double>() / 2e-6
                                   : (loss(plus, bias) - loss(minus, bias)).item<double>() / 2e-6;
    const double analytic = (on_bias ? b.grad() : q.grad()).view(-1)[i].item<double>();
    EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << trial;
  }
  // The bias gradient rows of a (head, query block) are one task's, summed over the batch in
  // order: the same bits whatever the thread count.
  auto grads_with = [&](int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    auto qq = in.q.clone().requires_grad_(), bb = bias.clone().requires_grad_();
    loss(qq, bb).backward();
    at::set_num_threads(before);
    return std::vector<torch::Tensor>{qq.grad(), bb.grad()};
  };
  auto one = grads_with(1), many = grads_with(5);
  EXPECT_TRUE(torch::equal(one[1], many[1]));
  EXPECT_LT(test::relative_error(many[0], one[0]), 1e-12);
}

TEST(Synthesizer, ModuleMatchesItsDefinitionGivenItsWeights) {
  const int64_t L = 33;  // shorter than the 40 its weights are built for
  for (const auto& convention : {"paper", "lra_code"})
    for (const auto& mode : kModes)
      for (bool dot : {true, false}) {
        SCOPED_TRACE(std::string(convention) + " " + mode + (dot ? " + dot" : ""));
        const auto config = synthesizer_config(mode, dot, convention);
        auto module = synthesizer_module(config, 40);
        {
          torch::NoGradGuard no_grad;  // weights away from their initial values
          auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
          for (auto& p : module->parameters())
            p.add_(torch::randn(p.sizes(), gen, torch::kFloat64) * 0.3);
        }
        auto in = random_inputs(2, 2, L, 4, 23, 6);
        auto weight = torch::randn_like(in.v) * in.mask.view({2, 1, L, 1});
        auto grads = [&](bool fast) {
          module->zero_grad();
          std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(),
                                          in.k.clone().requires_grad_(),
                                          in.v.clone().requires_grad_()};
          auto out = fast ? module->forward(x[0], x[1], x[2], in.mask)
                          : definition(*module, x[0], x[1], x[2], in.mask, config);
          (out * weight).sum().backward();
          std::vector<torch::Tensor> all = {real_rows(out.detach(), in.mask)};
          for (auto& t : x) all.push_back(t.grad().defined() ? t.grad() : torch::zeros_like(t));
          for (auto& p : module->parameters()) all.push_back(p.grad().clone());
          return all;
        };
        auto fast = grads(true), slow = grads(false);
        ASSERT_EQ(fast.size(), slow.size());
        for (size_t i = 0; i < fast.size(); ++i) EXPECT_LT(max_abs(fast[i] - slow[i]), 1e-11) << i;
      }
}

// Real rows do not see the padding (garbage there changes nothing; padded keys' gradients are
// exactly 0; a run on the real prefix alone agrees), except in the LRA code's form without the
// dot product, which masks nothing, as the code.
TEST(Synthesizer, PaddingInvarianceAndExactlyZeroWeightOnPaddedKeys) {
  const int64_t L = 30, pad = 11, d = 4;
  for (const auto& mode : kModes) {
    SCOPED_TRACE(mode);
    auto module = synthesizer_module(synthesizer_config(mode, true), L);
    auto in = random_inputs(2, 2, L, d, 31, pad);
    auto garbage = random_inputs(2, 2, L, d, 32, pad, 100.0);
    auto is_pad = (in.mask == 0).view({2, 1, L, 1});
    auto q = torch::where(is_pad, garbage.q, in.q);
    auto k = torch::where(is_pad, garbage.k, in.k).requires_grad_();
    auto v = torch::where(is_pad, garbage.v * 1e3, in.v).requires_grad_();
    auto clean = module->forward(in.q, in.k, in.v, in.mask);
    auto noisy = module->forward(q, k, v, in.mask);
    real_rows(noisy, in.mask).sum().backward();
    auto prefix = [&](const torch::Tensor& t) { return t.narrow(0, 0, 1).narrow(2, 0, L - pad); };
    auto alone = module->forward(prefix(in.q), prefix(in.k), prefix(in.v),
                                 torch::ones({1, L - pad}, torch::kFloat64));
    EXPECT_LT(max_abs(real_rows(clean - noisy, in.mask)), 1e-12);
    EXPECT_LT(max_abs(prefix(clean) - alone), 1e-12);
    EXPECT_EQ(max_abs(k.grad().narrow(0, 0, 1).narrow(2, L - pad, pad)), 0.0);
    EXPECT_EQ(max_abs(v.grad().narrow(0, 0, 1).narrow(2, L - pad, pad)), 0.0);
  }
  auto code = synthesizer_module(synthesizer_config("random", false, "lra_code"), L);
  auto in = random_inputs(1, 2, L, d, 33, pad);
  auto v = in.v.clone().requires_grad_();
  code->forward(in.q, in.k, v, in.mask).narrow(2, 0, L - pad).sum().backward();
  EXPECT_GT(max_abs(v.grad().narrow(2, L - pad, pad)), 0.0);  // the code attends padding
}

// Without synthetic logits it is softmax attention: the LRA code's sum exactly; the paper's
// mixture at alpha = (1/2, 1/2) halves the scores, and with alpha on the dot product alone it is
// softmax again.
TEST(Synthesizer, ZeroSyntheticLogitsAreSoftmaxAttention) {
  auto in = random_inputs(2, 2, 20, 4, 41, 5);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  auto zero_random = [](AttentionPtr m, double mixture) {
    torch::NoGradGuard no_grad;
    for (auto& p : m->named_parameters())
      if (p.key() == "random")
        p.value().zero_();
      else if (p.key() == "mixture")
        p.value().copy_(torch::tensor({mixture, 0.0}));
    return m;
  };
  auto code =
      zero_random(synthesizer_module(synthesizer_config("random", true, "lra_code"), 20), 0);
  EXPECT_LT(max_abs(real_rows(code->forward(in.q, in.k, in.v, in.mask) - exact, in.mask)), 1e-12);
  auto half = zero_random(synthesizer_module(synthesizer_config("random", true), 20), 0.0);
  auto halved = softmax_attention_reference(in.q * 0.5, in.k, in.v, in.mask, 0.0, false);
  EXPECT_LT(max_abs(real_rows(half->forward(in.q, in.k, in.v, in.mask) - halved, in.mask)), 1e-12);
  auto dot_only = zero_random(synthesizer_module(synthesizer_config("random", true), 20), 800.0);
  EXPECT_LT(max_abs(real_rows(dot_only->forward(in.q, in.k, in.v, in.mask) - exact, in.mask)),
            1e-12);
  // The registered reference is the module with its synthetic logits at zero.
  auto reference = attention_implementation("synthesizer")
                       .reference(in.q, in.k, in.v, in.mask, synthesizer_config("random", true));
  EXPECT_LT(max_abs(real_rows(reference - halved, in.mask)), 1e-12);
}

// Its weights cover attention.max_length tokens (0: the padded length the model is built for):
// a longer data.max_length is refused when the config is read, naming the key, never mid-run.
TEST(Synthesizer, TheLengthItsWeightsCoverIsCheckedAtLoadTime) {
  auto config = synthesizer_config("random", true);
  config.max_length = 48;
  auto module = synthesizer_module(config, 20);  // the key wins over the context's 20
  EXPECT_EQ(module->named_parameters()["random"].sizes(), (std::vector<int64_t>{2, 48, 48}));
  auto in = random_inputs(1, 2, 48, 4, 5);
  EXPECT_NO_THROW(module->forward(in.q, in.k, in.v, in.mask));
  auto longer = random_inputs(1, 2, 49, 4, 5);
  EXPECT_THROW(module->forward(longer.q, longer.k, longer.v, longer.mask), std::invalid_argument);
  auto by_context = synthesizer_module(synthesizer_config("dense", false), 36);
  EXPECT_EQ(by_context->named_parameters()["dense2"].size(1), 36);
  for (const auto& [data_length, ok] : {std::pair{"64", false}, std::pair{"47", true}}) {
    const std::vector<std::string> sets = {"attention.type=synthesizer",
                                           "attention.max_length=48",
                                           "model.pooling=cls",
                                           "data.synthetic.min_length=4",
                                           "data.synthetic.max_length=40",
                                           std::string("data.max_length=") + data_length};
    try {
      load_config_text("", sets);
      EXPECT_TRUE(ok) << data_length;
    } catch (const ConfigError& e) {
      EXPECT_FALSE(ok) << e.what();
      EXPECT_NE(std::string(e.what()).find("attention.max_length: 48 is shorter than the padded "
                                           "length 65"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_NO_THROW(load_config_text("", {"attention.type=synthesizer", "data.max_length=2000"}));
}

TEST(Synthesizer, FlopsFloat32AndBadSettings) {
  // B = 2, H = 2, L = 64, d = 8: weights times values and scores 2 x 2 BHL^2d; factors 2 H L^2 k.
  const double bhl2d = 2.0 * 2 * 64 * 64 * 8;
  auto at = [&](const AttentionConfig& c) {
    auto m = synthesizer_module(c, 64, 2, 8);
    return attention_implementation("synthesizer").flops({2, 2, 64, 8}, *m);
  };
  EXPECT_DOUBLE_EQ(at(synthesizer_config("random", true)).forward, 4 * bhl2d);
  EXPECT_DOUBLE_EQ(at(synthesizer_config("random", true)).backward, 8 * bhl2d);
  EXPECT_DOUBLE_EQ(at(synthesizer_config("random", false)).forward, 2 * bhl2d);
  EXPECT_DOUBLE_EQ(at(synthesizer_config("factorized_random", false)).forward,
                   2 * bhl2d + 2.0 * 2 * 64 * 64 * 5);
  EXPECT_DOUBLE_EQ(at(synthesizer_config("dense", false)).forward,
                   2 * bhl2d + 2.0 * 2 * 2 * 64 * 8 * 8 + 2 * bhl2d);

  auto in = random_inputs(2, 2, 30, 4, 61, 4);
  for (const auto& mode : kModes) {
    auto context = test::test_context(2, 4, 0.0, 7);
    context.max_length = 30;
    auto f32 = make_attention(synthesizer_config(mode, true), context);
    auto f64 = synthesizer_module(synthesizer_config(mode, true), 30);
    auto a = f32->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                          in.v.to(torch::kFloat32), in.mask.to(torch::kFloat32));
    EXPECT_EQ(a.scalar_type(), torch::kFloat32);
    EXPECT_LT(max_abs(real_rows(a.to(torch::kFloat64) - f64->forward(in.q, in.k, in.v, in.mask),
                                in.mask)),
              1e-4)
        << mode;
  }

  auto errors_of = [](AttentionConfig c, int64_t padded) {
    std::string all;
    for (const auto& e : attention_config_errors(c, padded)) all += e + "\n";
    return all;
  };
  auto c = synthesizer_config("random", true);
  EXPECT_EQ(errors_of(c, 4001), "");
  c.synthesizer_k = 16;
  EXPECT_NE(errors_of(c, 4001).find("attention.synthesizer_k: 16 is set"), std::string::npos);
  c.synthesizer_mode = "dense_factorized_random";
  EXPECT_EQ(errors_of(c, 4001), "");
  c.convention = "skyformer_code";
  EXPECT_NE(errors_of(c, 4001).find("attention.convention: skyformer_code"), std::string::npos);
  c.convention = "lra_code";
  c.max_length = 4000;
  EXPECT_NE(errors_of(c, 4001).find("attention.max_length: 4000 is shorter"), std::string::npos);
}

}  // namespace lra::synthesizer_test
