// Performer FAVOR+: positive orthogonal random features for the softmax kernel,
//   phi(x) = m^-1/2 exp(W x - |x|^2 / 2),  x = q d^-1/4 (same for keys),
// so that E[phi(x)^T phi(y)] = exp(q.k / sqrt(d)); attention in linear time, keys times values
// first. Features are shared by the heads of a layer (as performer-pytorch) and redrawn every
// attention.redraw_interval training steps.
#include <cmath>
#include <limits>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/feature_maps.h"
#include "attention/linear_attention.h"
#include "attention/random_feature_attention.h"
#include "attention/random_features.h"

namespace lra {
namespace {

class FavorAttention : public SoftmaxFeatureAttention {
 public:
  FavorAttention(const AttentionConfig& config, const AttentionContext& ctx)
      : SoftmaxFeatureAttention(config, ctx) {}

  Features features(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                    bool stabilized) override {
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    auto w = projection_.to(q.options());                      // (m, d)
    auto log_q = log_features(q * scale, w);                   // (B, H, L, m)
    auto log_k = log_features(k * scale, w);                   // (B, H, L, m)
    auto is_pad = (key_mask == 0).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
    // -inf before exp: padded keys get exactly zero features and no NaN gradient.
    log_k = log_k.masked_fill(is_pad, -std::numeric_limits<double>::infinity());
    if (stabilized) {
      // Per query row and per key set (a (batch, head) pair): constants that cancel between
      // numerator and denominator, so detached. Sets with no real key keep shift 0.
      log_q = log_q - std::get<0>(log_q.detach().max(-1, true));
      auto key_max = log_k.detach().amax({-2, -1}, true);  // (B, H, 1, 1)
      log_k = log_k - key_max.masked_fill(torch::isinf(key_max), 0.0);
    }
    return {torch::exp(log_q), torch::exp(log_k)};
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

AttentionPtr make_favor_attention(const AttentionConfig& config, const AttentionContext& ctx) {
  return std::make_shared<FavorAttention>(config, ctx);
}

}  // namespace lra
