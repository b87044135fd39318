#include <gtest/gtest.h>

#include <torch/torch.h>

#include "attention/registry.h"
#include "model/transformer.h"

namespace {

lra::ModelConfig tiny_model(const std::string& pooling = "mean") {
  lra::ModelConfig m;
  m.dim = 16;
  m.heads = 2;
  m.layers = 2;
  m.mlp_dim = 32;
  m.head_hidden = 16;
  m.dropout = 0.0;
  m.attention_dropout = 0.0;
  m.pooling = pooling;
  return m;
}

// Two sequences of different lengths, padded with zeros to `length`.
torch::Tensor padded_batch(int64_t length) {
  auto t = torch::zeros({2, length}, torch::kInt64);
  t[0].narrow(0, 0, 5).copy_(torch::tensor({3, 1, 4, 1, 5}));
  t[1].narrow(0, 0, 8).copy_(torch::tensor({2, 7, 1, 8, 2, 8, 1, 8}));
  return t;
}

}  // namespace

TEST(Model, OutputShapesAndParameterCount) {
  torch::manual_seed(0);
  lra::Classifier model(tiny_model(), lra::attention_factory(lra::AttentionConfig{}), 16, 12, 10,
                        false, 1);
  auto logits = model->forward(padded_batch(12));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 10}));
  auto encoded = model->encoder()->forward(padded_batch(12));
  EXPECT_EQ(encoded.hidden.sizes(), (std::vector<int64_t>{2, 12, 16}));
  // Final LayerNorm times the mask: padded rows are exactly zero.
  EXPECT_EQ(encoded.hidden[0].narrow(0, 5, 7).abs().max().item<float>(), 0.0f);
  EXPECT_GT(lra::parameter_count(*model), 0);
}

TEST(Model, ClsPoolingPrependsAVector) {
  torch::manual_seed(0);
  lra::Classifier model(tiny_model("cls"), lra::attention_factory(lra::AttentionConfig{}), 16, 12,
                        3, false, 1);
  auto encoded = model->encoder()->forward(padded_batch(12));
  EXPECT_EQ(encoded.hidden.size(1), 13);
  EXPECT_EQ(encoded.mask[0][0].item<float>(), 1.0f);
  EXPECT_EQ(model->forward(padded_batch(12)).sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(Model, ExtraPaddingChangesNothingForMaskedPooling) {
  for (const char* pooling : {"mean", "cls"}) {
    for (const char* pos : {"learned", "sinusoidal"}) {
      auto m = tiny_model(pooling);
      m.pos_embedding = pos;
      torch::manual_seed(0);
      lra::Classifier model(m, lra::attention_factory(lra::AttentionConfig{}), 16, 32, 4, false, 1);
      model->eval();
      auto short_pad = model->forward(padded_batch(10));
      auto long_pad = model->forward(padded_batch(32));
      EXPECT_TRUE(torch::allclose(short_pad, long_pad, 1e-5, 1e-6)) << pooling << " " << pos;
    }
  }
}

TEST(Model, MeanPaddedPoolingIsDilutedByPads) {
  torch::manual_seed(0);
  lra::Classifier model(tiny_model("mean_padded"), lra::attention_factory(lra::AttentionConfig{}),
                        16, 32, 4, false, 1);
  model->eval();
  auto a = model->encoder()->forward(padded_batch(10));
  auto b = model->encoder()->forward(padded_batch(20));
  auto pa = lra::pool(a.hidden, a.mask, "mean_padded"),
       pb = lra::pool(b.hidden, b.mask, "mean_padded");
  EXPECT_TRUE(torch::allclose(pa * 10.0, pb * 20.0, 1e-4, 1e-5));  // same sum, different divisor
}

TEST(Model, SequencesInABatchDoNotInteract) {
  torch::manual_seed(0);
  lra::Classifier model(tiny_model(), lra::attention_factory(lra::AttentionConfig{}), 16, 12, 4,
                        false, 1);
  model->eval();
  auto batch = padded_batch(12);
  auto together = model->forward(batch);
  auto alone = model->forward(batch.narrow(0, 0, 1));
  EXPECT_TRUE(torch::allclose(together[0], alone[0], 1e-5, 1e-6));
}

TEST(SoftmaxAttention, PaddedKeysGetExactlyZeroWeightAndMatchFloat64Loop) {
  lra::AttentionConfig cfg;
  auto attention = lra::make_attention(cfg, {2, 4, 0.0, 0});
  torch::manual_seed(1);
  auto q = torch::randn({1, 2, 6, 4}, torch::kDouble),
       k = torch::randn({1, 2, 6, 4}, torch::kDouble);
  auto v = torch::randn({1, 2, 6, 4}, torch::kDouble);
  auto mask = torch::tensor({{1.0, 1.0, 1.0, 1.0, 0.0, 0.0}}, torch::kDouble);
  auto out = attention->forward(q, k, v, mask);
  // Changing padded keys and values, even to huge values, changes nothing.
  auto k2 = k.clone(), v2 = v.clone();
  k2.narrow(2, 4, 2).fill_(1e3);
  v2.narrow(2, 4, 2).fill_(-1e6);
  EXPECT_TRUE(torch::equal(out, attention->forward(q, k2, v2, mask)));
  // Naive loop reference over the four real keys, for the real queries (the rows of padded
  // queries are unspecified).
  auto qa = q.accessor<double, 4>(), ka = k.accessor<double, 4>(), va = v.accessor<double, 4>();
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i) {
      double w[4], z = 0;
      for (int j = 0; j < 4; ++j) {
        double s = 0;
        for (int d = 0; d < 4; ++d) s += qa[0][h][i][d] * ka[0][h][j][d];
        w[j] = std::exp(s / 2.0);  // 1/sqrt(head_dim = 4)
        z += w[j];
      }
      for (int d = 0; d < 4; ++d) {
        double o = 0;
        for (int j = 0; j < 4; ++j) o += w[j] / z * va[0][h][j][d];
        EXPECT_NEAR(out[0][h][i][d].item<double>(), o, 1e-12);
      }
    }
}

// The one-product q, k, v projection against the three Linear modules it stands for, in
// float64: values and the gradients of each module's weight and bias and of the input.
TEST(Model, QkvProjectionIsTheThreeLinearsInOneProduct) {
  torch::manual_seed(3);
  auto make = [] {
    torch::nn::Linear w(8, 6);
    w->to(torch::kFloat64);
    return w;
  };
  torch::nn::Linear wq = make(), wk = make(), wv = make();
  auto h = torch::randn({2, 5, 8}, torch::kFloat64).requires_grad_(true);
  auto g = torch::randn({2, 5, 18}, torch::kFloat64);
  auto fused = lra::qkv_projection(h, wq, wk, wv);  // (2, 5, 18)
  (fused * g).sum().backward();
  std::vector<torch::Tensor> fused_grads = {h.grad().clone()};
  for (auto* w : {&wq, &wk, &wv}) {
    fused_grads.push_back((*w)->weight.grad().clone());
    fused_grads.push_back((*w)->bias.grad().clone());
    (*w)->zero_grad();
  }
  h.mutable_grad().reset();
  auto separate = torch::cat({wq(h), wk(h), wv(h)}, -1);
  (separate * g).sum().backward();
  EXPECT_LT((fused - separate).abs().max().item<double>(), 1e-13);
  std::vector<torch::Tensor> separate_grads = {h.grad()};
  for (auto* w : {&wq, &wk, &wv}) {
    separate_grads.push_back((*w)->weight.grad());
    separate_grads.push_back((*w)->bias.grad());
  }
  for (size_t i = 0; i < fused_grads.size(); ++i)
    EXPECT_LT((fused_grads[i] - separate_grads[i]).abs().max().item<double>(), 1e-13) << i;
}

TEST(Model, AttentionInputsOfALayerAreWhatTheBlockAttendsWith) {
  torch::manual_seed(0);
  lra::Classifier model(tiny_model("cls"), lra::attention_factory(lra::AttentionConfig{}), 16, 12,
                        4, false, 1);
  model->eval();
  auto inputs = model->encoder()->attention_inputs(padded_batch(12), 1);
  ASSERT_EQ(inputs.size(), 4u);
  EXPECT_EQ(inputs[0].sizes(), (std::vector<int64_t>{2, 2, 13, 8}));  // (B, H, L+1 with CLS, hd)
  EXPECT_EQ(inputs[3].sizes(), (std::vector<int64_t>{2, 13}));
  EXPECT_EQ(inputs[3][0].sum().item<float>(), 6.0f);  // CLS + 5 tokens
  EXPECT_THROW(model->encoder()->attention_inputs(padded_batch(12), 2), c10::Error);
}
