// lra_bench's block FLOP formula against a hand count, and its timing summaries.
#include <gtest/gtest.h>

#include "attention/registry.h"
#include "bench/bench_math.h"
#include "config/config.h"
#include "model/transformer.h"

namespace lra::bench {
namespace {

struct StepFlops {
  double forward = 0.0, backward = 0.0;
};

// One optimizer step of the model `config` builds on (batch, length) sequences (retrieval: two
// documents per example), as the model counts it. Neither the vocabulary nor the classes change
// the count (the head is not counted).
StepFlops training_step_flops(const Config& config, int64_t batch, int64_t length) {
  const Classifier model(config.model, attention_factory(config.attention), /*vocab_size=*/1,
                         length, /*num_classes=*/2, config.task == "retrieval",
                         static_cast<uint64_t>(config.seed));
  const FlopCount f = model->matmul_flops(config.attention, batch, length);
  return {f.forward, f.backward};
}

TEST(BenchMath, BlockLinearFlops) {
  // 3 (q, k, v) 8x8 + output 8x8 + MLP 8x16 and 16x8, for 2 x 3 tokens.
  EXPECT_DOUBLE_EQ(block_linear_forward_flops(2, 3, 8, 8, 16), 2.0 * 6 * (4 * 64 + 2 * 128));
}

TEST(BenchMath, TrainingStepFlopsOfSoftmaxByHand) {
  Config c;
  c.model.dim = 8, c.model.heads = 2, c.model.layers = 3, c.model.mlp_dim = 16;
  // Per layer and sequence of 5: linear 2 * 5 * (4 * 64 + 2 * 128); attention q k^T and
  // weights x v, 2 * 2 heads * 5 * 5 * 4 each; backward twice both.
  const double linear = 2.0 * 5 * (4 * 64 + 2 * 128), attention = 2 * (2.0 * 2 * 5 * 5 * 4);
  const StepFlops f = training_step_flops(c, 1, 5);
  EXPECT_DOUBLE_EQ(f.forward, 3 * (linear + attention));
  EXPECT_DOUBLE_EQ(f.backward, 3 * (2 * linear + 2 * attention));
  c.task = "retrieval";  // two documents per example
  EXPECT_DOUBLE_EQ(training_step_flops(c, 1, 5).forward, 2 * f.forward);
}

TEST(BenchMath, SummaryMedianAndSpread) {
  auto s = summarize({5.0, 1.0, 3.0});
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 5.0);
  EXPECT_DOUBLE_EQ(s.spread, 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(summarize({2.0, 4.0}).median, 3.0);
  EXPECT_DOUBLE_EQ(summarize({}).median, 0.0);
}

}  // namespace
}  // namespace lra::bench
