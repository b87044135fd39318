// evaluate() runs in eval mode and hands the model back in the mode it was given in.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/registry.h"
#include "data/dataset.h"
#include "model/transformer.h"
#include "train/trainer.h"

namespace {

lra::Split small_split() {
  lra::Split s;
  s.name = "val";
  s.tokens = torch::randint(1, 16, {6, 8}, torch::kInt32);  // (N, L)
  s.labels = torch::randint(0, 3, {6}, torch::kInt64);      // (N,)
  return s;
}

}  // namespace

TEST(Evaluate, LeavesTheModelInTheModeItFoundItIn) {
  torch::manual_seed(0);
  lra::ModelConfig m;
  m.dim = 16;
  m.heads = 2;
  m.layers = 1;
  m.mlp_dim = 32;
  m.head_hidden = 16;
  lra::Classifier model(m, lra::attention_factory(lra::AttentionConfig{}), 16, 8, 3, false, 1);
  const auto split = small_split();
  for (const bool training : {true, false}) {
    model->train(training);
    const auto r = lra::evaluate(model, split, 4, 0, torch::kCPU);
    EXPECT_EQ(r.examples, 6);
    EXPECT_EQ(model->is_training(), training);
    for (const auto& child : model->modules(/*include_self=*/false))
      EXPECT_EQ(child->is_training(), training) << child->name();
  }
}
