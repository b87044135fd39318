// Mixed-precision guards: AutocastGuard is a no-op off CUDA and restores the previous state;
// AutocastOff keeps the attention core in float32 inside an autocast region.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/registry.h"
#include "config/schema.h"
#include "model/precision.h"
#include "model/transformer.h"

namespace lra {
namespace {

TEST(AttentionPrecision, Bf16GuardLeavesTheCpuAlone) {
  const c10::Device cpu(c10::kCPU);
  ASSERT_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
  {
    AutocastGuard guard(cpu, "bf16");
    EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
}

// Under (CPU) bf16 autocast the block's linear layers run in bf16 while the attention backend
// sees float32 inputs and runs with autocast off; the state is restored afterwards.
TEST(AttentionPrecision, AttentionCoreStaysFloat32UnderAutocast) {
  ModelConfig model;
  model.dim = 16;
  model.heads = 2;
  model.mlp_dim = 32;
  model.dropout = 0.0;
  model.attention_dropout = 0.0;
  for (const auto& type : attention_backend_names()) {
    AttentionConfig attention;
    attention.features = 16;
    attention.bucket_size = 4;  // reformer's default chunk (64) is longer than these 12 tokens
    attention.block_size = 4;   // bigbird's default 64 exceeds the 12 tokens (a refused config)
    EncoderBlock block(model, attention_factory(with_backend(attention, type)), /*max_length=*/12,
                       /*seed=*/1);
    auto x = torch::randn({2, 12, 16});
    auto mask = torch::ones({2, 12});
    at::autocast::set_autocast_dtype(c10::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(c10::kCPU, true);
    auto qkv = block->attention_inputs(x);
    torch::Tensor out;
    {
      AutocastOff off(c10::Device(c10::kCPU));
      EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
    }
    EXPECT_TRUE(at::autocast::is_autocast_enabled(c10::kCPU));
    out = block->forward(x, mask);
    at::autocast::set_autocast_enabled(c10::kCPU, false);
    at::autocast::clear_cache();
    EXPECT_EQ(qkv[0].scalar_type(), torch::kFloat) << type;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << type;
    EXPECT_EQ(out.sizes(), x.sizes()) << type;
  }
}

}  // namespace
}  // namespace lra
