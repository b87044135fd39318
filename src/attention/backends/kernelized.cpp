// kernelized: exact dot-product-kernel attention, out_i = sum_j f(x_i.y_j) v_j / sum_j f(x_i.y_j),
// with x, y the SchoenbAt-normalised queries and keys (pre-SBN, then d^-1/4): exactly the
// quantity the schoenbat backend estimates, at O(L^2) cost. It is the reference for schoenbat,
// not a softmax substitute: with pre-SBN, |x.y| <= d^-1/2, so f = exp gives much flatter weights
// than softmax.
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/features/dot_kernels.h"
#include "attention/registry.h"
#include "attention/scaling_normalization.h"

namespace lra::backends::kernelized {
namespace {

class KernelizedAttention : public AttentionBackend {
 public:
  KernelizedAttention(const AttentionConfig& config, const AttentionContext& context)
      : kernel_(parse_dot_kernel(config.kernel)),
        causal_(config.causal),
        eps_(config.eps),
        dropout_(context.dropout) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    auto x = schoenbat_normalize(q), y = schoenbat_normalize(k);  // (B, H, L, d)
    if ((kernel_ == DotKernel::kExp || kernel_ == DotKernel::kTrigh) && !causal_) {
      // f = exp makes this softmax attention on x, y with scale 1: the fused kernel. Each weight
      // is >= e^-1 (|x.y| <= 1), so the eps guard of the plain form never acts with a real key.
      return softmax_attention_fused(x, y, v, key_mask, dropout_, is_training(), /*scale=*/1.0);
    }
    auto weights = dot_kernel_weights(kernel_, x, y, key_mask, causal_, eps_);  // (B, H, L, L)
    if (dropout_ > 0.0 && is_training()) weights = torch::dropout(weights, dropout_, true);
    return torch::matmul(weights, v);  // (B, H, L, D)
  }

 private:
  DotKernel kernel_;
  bool causal_;
  double eps_;
  double dropout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<KernelizedAttention>(config, context);
}

FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  return quadratic_attention_flops(shape);
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig& config) {
  return dot_kernel_attention_reference(parse_dot_kernel(config.kernel), q, k, v, key_mask,
                                        config.causal, config.eps);
}

}  // namespace lra::backends::kernelized
