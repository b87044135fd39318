// A run that cannot fit in memory is refused before anything large is allocated, naming the
// keys that size it and the estimate; the estimate's parameter count is the model's own.
#include <gtest/gtest.h>

#include <string>

#include <torch/torch.h>

#include "../data/data_test_util.h"
#include "attention/registry.h"
#include "model/transformer.h"
#include "process_util.h"
#include "train/memory_estimate.h"

using lra::test::expect_error;
using lra::test::read_text;
using lra::test::run_lra_train;
using lra::test::TempDir;

namespace {

int64_t built_parameters(const lra::ModelConfig& m, const lra::ModelShape& s) {
  lra::Classifier model(m, lra::attention_factory(lra::AttentionConfig{}), s.vocab_size,
                        s.max_length, s.num_classes, s.two_tower, 1);
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

TEST(MemoryEstimate, ParameterCountIsTheBuiltModels) {
  lra::ModelConfig m;
  m.dim = 24;
  m.heads = 2;
  m.layers = 3;
  m.mlp_dim = 40;
  m.head_hidden = 16;
  for (const char* pooling : {"mean", "cls"})
    for (const char* pos : {"learned", "sinusoidal"})
      for (bool two_tower : {false, true})
        for (int64_t qkv : {0, 12}) {
          m.pooling = pooling;
          m.pos_embedding = pos;
          m.qkv_dim = qkv;
          m.interaction = two_tower && qkv ? "concat" : "nli";
          const lra::ModelShape shape{37, 50, 7, two_tower};
          EXPECT_EQ(lra::parameter_count(m, shape), static_cast<double>(built_parameters(m, shape)))
              << pooling << " " << pos << " two_tower=" << two_tower << " qkv=" << qkv;
        }
}

TEST(MemoryEstimate, TooLargeNamesTheKeysAndTheEstimate) {
  lra::Config c;
  c.model.dim = 64;
  const lra::ModelShape shape{1000, 2000, 10, false};
  const auto e = lra::estimate_training_memory(c, shape);
  EXPECT_GT(e.activations, e.training_state);
  EXPECT_NO_THROW(lra::check_fits_in_memory(c, e, e.total()));
  expect_error([&] { lra::check_fits_in_memory(c, e, e.total() / 2); },
               {"the run cannot fit in memory", "train.batch_size 32", "data.max_length 2000",
                "lower train.batch_size or data.max_length, or raise train.grad_accum"});
  // 3,000,000,000 classes (a damaged meta.json): the head alone is 12 GB of weights.
  const auto huge = lra::estimate_training_memory(c, {1000, 2000, 3000000000, false});
  EXPECT_GT(huge.parameters, 3e11);
  expect_error([&] { lra::check_fits_in_memory(c, huge, 24e9); },
               {"parameters: 3.87e+11", "vocab_size or num_classes"});
  // Gradient accumulation divides what one chunk holds.
  c.train.grad_accum = 4;
  EXPECT_NEAR(lra::estimate_training_memory(c, shape).activations, e.activations / 4, 1.0);
}

TEST(MemoryEstimate, AvailableMemoryIsThisMachines) {
  const double bytes = lra::available_memory_bytes();
  EXPECT_GT(bytes, 64.0 * (1 << 20));
  EXPECT_LT(bytes, 1e15);
}

TEST(MemoryEstimateCli, AGeneratedSetThatCannotFitIsRefusedBeforeGeneration) {
  TempDir dir;
  const std::vector<std::string> args = {"--config",
                                         std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml",
                                         "--quiet",
                                         "--set",
                                         "output.dir=" + (dir / "runs"),
                                         "--set",
                                         "data.synthetic.train_size=100000000000"};
  EXPECT_EQ(run_lra_train(args, dir / "log"), 1);
  const std::string log = read_text(dir / "log");
  EXPECT_NE(log.find("the run cannot fit in memory"), std::string::npos) << log;
  EXPECT_NE(log.find("data.synthetic.train_size"), std::string::npos) << log;
}

}  // namespace
