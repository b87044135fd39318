// Every backend's forward and backward give the same result whatever the thread count: with
// more threads than (batch x heads) slices, than query blocks and than this machine has cores,
// at batch 1 and one head, on a length that is not a multiple of the softmax block (256).
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention_test_util.h"

namespace lra {
namespace {

struct Shape {
  int64_t batch, heads;
};

struct Result {
  torch::Tensor out, dq, dk, dv;
};

// Sets LibTorch's thread count for a scope.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : before_(at::get_num_threads()) { at::set_num_threads(n); }
  ~ScopedThreads() { at::set_num_threads(before_); }

 private:
  int before_;
};

// Forward and backward of a loss on the real query rows (padded rows are unspecified).
Result forward_backward(AttentionBackend& backend, const test::Inputs& in,
                        const torch::Tensor& weight) {
  auto q = in.q.clone().requires_grad_(true), k = in.k.clone().requires_grad_(true),
       v = in.v.clone().requires_grad_(true);
  auto out = backend.forward(q, k, v, in.mask);
  (out * weight).sum().backward();
  // Shared query-key backends (shared_qk, reformer) do not read k: dk stays undefined.
  return {out.detach() * (weight != 0), q.grad(), k.grad(), v.grad()};
}

TEST(AttentionThreads, ResultsDoNotDependOnTheThreadCount) {
  const int64_t L = 300, D = 8;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<int> counts = {3, 2 * cores + 1, 65};
  for (const auto& type : attention_backend_names())
    for (const Shape s : {Shape{1, 1}, Shape{2, 1}, Shape{1, 2}, Shape{3, 2}}) {
      AttentionContext ctx = test::test_context(s.heads, D, 0.0, 11);
      ctx.max_length = L;
      auto backend = make_attention(test::attention_config(type, 16), ctx);
      backend->to(torch::kFloat64);
      if (auto rf = std::dynamic_pointer_cast<RandomFeatureAttention>(backend))
        rf->freeze_data_dependent_parameters(true);
      // Batch 0 ends with 37 padded keys; the others are unpadded.
      auto in = test::random_inputs(s.batch, s.heads, L, D, 5, 37, 0.5);
      auto weight = torch::randn_like(in.v) * in.mask.unsqueeze(1).unsqueeze(-1);
      Result one;
      {
        ScopedThreads t(1);
        one = forward_backward(*backend, in, weight);
      }
      for (int n : counts) {
        ScopedThreads t(n);
        const Result many = forward_backward(*backend, in, weight);
        const auto where = type + " B=" + std::to_string(s.batch) +
                           " H=" + std::to_string(s.heads) + " threads=" + std::to_string(n);
        EXPECT_LT(test::relative_error(many.out, one.out), 1e-12) << where;
        EXPECT_LT(test::relative_error(many.dq, one.dq), 1e-12) << where;
        if (one.dk.defined()) {
          EXPECT_LT(test::relative_error(many.dk, one.dk), 1e-12) << where;
        }
        EXPECT_LT(test::relative_error(many.dv, one.dv), 1e-12) << where;
      }
    }
}

// The blocked softmax in float32 (the training precision) at batch 1, one head: the per-thread
// dk / dv copies are summed back into the right slices.
TEST(AttentionThreads, Float32SoftmaxBackwardWithMoreThreadsThanSlices) {
  const int64_t L = 600, D = 16;
  for (const Shape s : {Shape{1, 1}, Shape{2, 1}, Shape{3, 2}}) {
    AttentionContext ctx = test::test_context(s.heads, D, 0.0, 3);
    ctx.max_length = L;
    auto backend = make_attention(test::attention_config("softmax"), ctx);
    auto in64 = test::random_inputs(s.batch, s.heads, L, D, 9, 100, 0.5);
    auto weight = torch::randn_like(in64.v) * in64.mask.unsqueeze(1).unsqueeze(-1);
    backend->to(torch::kFloat64);
    const Result exact = forward_backward(*backend, in64, weight);
    backend->to(torch::kFloat32);
    test::Inputs in32{in64.q.to(torch::kFloat32), in64.k.to(torch::kFloat32),
                      in64.v.to(torch::kFloat32), in64.mask.to(torch::kFloat32)};
    ScopedThreads t(7);
    const Result r = forward_backward(*backend, in32, weight.to(torch::kFloat32));
    const auto where = "B=" + std::to_string(s.batch) + " H=" + std::to_string(s.heads);
    EXPECT_LT(test::relative_error(r.dk.to(torch::kFloat64), exact.dk), 1e-4) << where;
    EXPECT_LT(test::relative_error(r.dv.to(torch::kFloat64), exact.dv), 1e-4) << where;
    EXPECT_LT(test::relative_error(r.dq.to(torch::kFloat64), exact.dq), 1e-4) << where;
  }
}

}  // namespace
}  // namespace lra
