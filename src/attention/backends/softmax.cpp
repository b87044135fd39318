// softmax: exact softmax(q k^T / sqrt(d)) v through the fused kernel (exact_softmax.h), with
// attention-weight dropout while training.
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/registry.h"

namespace lra::backends::softmax {
namespace {

class SoftmaxAttention : public AttentionBackend {
 public:
  explicit SoftmaxAttention(const AttentionContext& context) : dropout_(context.dropout) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    return softmax_attention_fused(q, k, v, key_mask, dropout_, is_training());
  }

 private:
  double dropout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig&, const AttentionContext& context) {
  return std::make_shared<SoftmaxAttention>(context);
}

FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  return quadratic_attention_flops(shape);
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::softmax
