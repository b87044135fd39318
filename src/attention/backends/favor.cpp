// Performer FAVOR+: positive orthogonal random features for the softmax kernel,
//   phi(x) = m^-1/2 exp(W x - |x|^2 / 2),  x = q d^-1/4 (same for keys),
// so that E[phi(x)^T phi(y)] = exp(q.k / sqrt(d)); attention in linear time, keys times values
// first. Features are shared by the heads of a layer (as performer-pytorch) and redrawn every
// attention.redraw_interval training steps.
#include <cmath>

#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/feature_maps.h"
#include "attention/registry.h"
#include "attention/softmax_feature_attention.h"

namespace lra::backends::favor {
namespace {

class FavorAttention : public SoftmaxFeatureAttention {
 public:
  FavorAttention(const AttentionConfig& config, const AttentionContext& context)
      : SoftmaxFeatureAttention(config, context) {}

  Features features(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                    bool stabilized) override {
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    auto w = projection_.to(q.options());     // (m, d)
    auto log_q = log_features(q * scale, w);  // (B, H, L, m)
    auto log_k = log_features(k * scale, w);  // (B, H, L, m)
    return exp_features(log_q, log_k, key_mask, stabilized);
  }

  c10::intrusive_ptr<ChunkedFeatureMap> exp_feature_map(const torch::Tensor& q,
                                                        const torch::Tensor& k,
                                                        const torch::Tensor& key_mask,
                                                        double scale) override {
    return make_exp_feature_map(projection_.to(q.options()).unsqueeze(0), torch::Tensor(), scale);
  }

 private:
  // log phi(x) = W x - |x|^2 / 2 - log(m) / 2; x: (B, H, L, d), w: (m, d) -> (B, H, L, m).
  torch::Tensor log_features(const torch::Tensor& x, const torch::Tensor& w) const {
    return torch::matmul(x, w.t()) - 0.5 * x.pow(2).sum(-1, true) -
           0.5 * std::log(static_cast<double>(features_));
  }
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<FavorAttention>(config, context);
}

FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  return linear_attention_flops(shape, shape.features);
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::favor
