// gaussian_kernelized: the exact Gaussian-kernel attention of the Skyformer paper ("Kernelized
// Attention" in its tables; SoftmaxAttention_RBF in its code). With x = q d^-1/4, y = k d^-1/4,
//   w_ij = exp(x_i.y_j - |x_i|^2 / 2 - |y_j|^2 / 2) = exp(-|x_i - y_j|^2 / 2) on real keys, 0 on
//   pads, out = dropout(w) v,
// without row normalisation. O(L^2 d) per head; the quantity skyformer estimates.
#include <cmath>

#include <torch/torch.h>

#include "attention/nystrom.h"
#include "attention/registry.h"

namespace lra::backends::gaussian_kernelized {
namespace {

class GaussianKernelizedAttention : public AttentionBackend {
 public:
  explicit GaussianKernelizedAttention(const AttentionContext& context)
      : dropout_(context.dropout) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    auto weights = gaussian_kernel(q * scale, k * scale)  // (B, H, L, L)
                       .masked_fill(padded_key_columns(key_mask), 0.0);
    if (dropout_ > 0.0 && is_training()) weights = torch::dropout(weights, dropout_, true);
    return torch::matmul(weights, v);  // (B, H, L, d)
  }

 private:
  double dropout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig&, const AttentionContext& context) {
  return std::make_shared<GaussianKernelizedAttention>(context);
}

FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  return quadratic_attention_flops(shape);
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return gaussian_attention_reference(q, k, v, key_mask);
}

}  // namespace lra::backends::gaussian_kernelized
