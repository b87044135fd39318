// Common base of FAVOR+ and FAVOR#: features of the softmax kernel exp(q.k / sqrt(d)) built on
// random directions from attention.weight_sampler (weight_samplers.h). The direction buffer, the
// exact kernel, the stabiliser and the linear-time forward (keys times values first) are the
// same for both. forward runs chunked_linear_attention with the map of fast_map; features() is
// the plain reference of the same map.
#pragma once
#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "attention/linear_attention.h"
#include "attention/random_feature_attention.h"

namespace lra {

class SoftmaxFeatureAttention : public RandomFeatureAttention {
 public:
  torch::Tensor exact_kernel(const torch::Tensor& q, const torch::Tensor& k) override;
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override;

 protected:
  SoftmaxFeatureAttention(const AttentionConfig& config, const AttentionContext& context);
  void draw(at::Generator& gen) override;
  // What chunked_linear_attention runs on: the slice-wise map of x = q s, y = k s
  // (s = d^-1/4; see make_exp_feature_map) and the rows it is applied to, (B, H, L, d) each:
  // q and k themselves, or a fixed rescaling of them that keeps their dot products (SADERF).
  struct FastMap {
    torch::Tensor queries, keys;
    c10::intrusive_ptr<ChunkedFeatureMap> map;
  };
  virtual FastMap fast_map(const torch::Tensor& q, const torch::Tensor& k,
                           const torch::Tensor& key_mask, double scale) = 0;
  // exp of the log-features (B, H, L, m), padded keys at exactly zero (-inf before exp, so no
  // NaN gradient). stabilized: each query row and each (batch, head) key set shifted by its
  // maximum first; the shifts cancel between numerator and denominator, so they are detached.
  static Features exp_features(torch::Tensor log_q, torch::Tensor log_k,
                               const torch::Tensor& key_mask, bool stabilized);

  int64_t head_dim_;
  std::string weight_sampler_;
  bool chi_norms_;
  torch::Tensor projection_;  // (m, d) buffer: rows omega_i
};

}  // namespace lra
