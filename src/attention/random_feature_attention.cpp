#include "attention/random_feature_attention.h"

#include <stdexcept>

#include <torch/torch.h>

#include "attention/features/random_features.h"

namespace lra {

RandomFeatureAttention::RandomFeatureAttention(const AttentionConfig& config,
                                               const AttentionContext& context)
    : seed_(context.seed),
      features_(config.features),
      redraw_interval_(config.redraw_interval),
      eps_(config.eps),
      execution_(context.execution) {
  draw_index_ = register_buffer("draw_index", torch::zeros({1}, torch::kInt64));
}

void RandomFeatureAttention::assign_buffer(torch::Tensor& buffer, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  buffer.set_(value.to(buffer.options()).contiguous());
}

void RandomFeatureAttention::redraw(int64_t index) {
  auto gen = feature_generator(seed_, index);
  draw(gen);
  ++redraws_;
  torch::NoGradGuard no_grad;
  draw_index_.fill_(index);
}

uint64_t RandomFeatureAttention::draw_counter() const {
  uint64_t counter = redraws_;
  for (const auto& buffer : buffers(/*recurse=*/false)) counter += buffer._version();
  return counter;
}

int64_t RandomFeatureAttention::draw_index() const {
  return draw_index_.item<int64_t>();
}

void RandomFeatureAttention::on_train_step(int64_t step) {
  if (redraw_interval_ > 0 && step > 0 && step % redraw_interval_ == 0)
    redraw(step / redraw_interval_);
}

}  // namespace lra
