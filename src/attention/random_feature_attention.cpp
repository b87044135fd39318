#include "attention/random_feature_attention.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/linear_attention.h"
#include "attention/random_features.h"

namespace lra {

RandomFeatureAttention::RandomFeatureAttention(const AttentionConfig& config,
                                               const AttentionContext& context)
    : seed_(context.seed),
      features_(config.features),
      redraw_interval_(config.redraw_interval),
      eps_(config.eps) {
  if (config.features < 1) throw std::invalid_argument("attention.features must be >= 1");
  if (config.redraw_interval < 0)
    throw std::invalid_argument("attention.redraw_interval must be >= 0");
  draw_index_ = register_buffer("draw_index", torch::zeros({1}, torch::kInt64));
}

void RandomFeatureAttention::assign_buffer(torch::Tensor& buffer, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  buffer.set_(value.to(buffer.options()).contiguous());
}

void RandomFeatureAttention::redraw(int64_t index) {
  auto gen = feature_generator(seed_, index);
  draw(gen);
  torch::NoGradGuard no_grad;
  draw_index_.fill_(index);
}

int64_t RandomFeatureAttention::draw_index() const {
  return draw_index_.item<int64_t>();
}

void RandomFeatureAttention::on_train_step(int64_t step) {
  if (redraw_interval_ > 0 && step > 0 && step % redraw_interval_ == 0)
    redraw(step / redraw_interval_);
}

SoftmaxFeatureAttention::SoftmaxFeatureAttention(const AttentionConfig& config,
                                                 const AttentionContext& ctx)
    : RandomFeatureAttention(config, ctx),
      head_dim_(ctx.head_dim),
      orthogonal_(config.orthogonal),
      chi_norms_(config.row_norm != "sqrt_d") {
  if (config.kernel != "exp")
    throw std::invalid_argument("attention.kernel: " + config.type +
                                " estimates the softmax kernel only; use kernel: exp (the kernel "
                                "family is for kernelized and schoenbat)");
  projection_ = register_buffer("projection", torch::zeros({features_, head_dim_}));
  redraw(0);
}

void SoftmaxFeatureAttention::draw(at::Generator& gen) {
  assign_buffer(projection_,
                gaussian_projection(features_, head_dim_, orthogonal_, chi_norms_, gen));
}

torch::Tensor SoftmaxFeatureAttention::exact_kernel(const torch::Tensor& q,
                                                    const torch::Tensor& k) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::exp(torch::matmul(q, k.transpose(-2, -1)) * scale);  // (B, H, L, L)
}

torch::Tensor SoftmaxFeatureAttention::exact_attention(const torch::Tensor& q,
                                                       const torch::Tensor& k,
                                                       const torch::Tensor& v,
                                                       const torch::Tensor& key_mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;  // (B, H, L, L)
  auto is_pad = (key_mask == 0).unsqueeze(1).unsqueeze(2);      // (B, 1, 1, L)
  scores = scores.masked_fill(is_pad, -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v);  // (B, H, L, D)
}

torch::Tensor SoftmaxFeatureAttention::forward(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v,
                                               const torch::Tensor& key_mask) {
  // The d^-1/4 scale goes into the map (its projection and |x|^2 term), not into two scaled
  // copies of q and k and their gradients: four fewer passes over (B, H, L, d) tensors.
  const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
  return chunked_linear_attention(q, k, v, key_mask, exp_feature_map(q, k, key_mask, scale), eps_);
}

}  // namespace lra
