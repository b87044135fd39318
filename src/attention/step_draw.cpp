#include "attention/step_draw.h"

#include <torch/torch.h>

namespace lra {

StepDraw::StepDraw(torch::nn::Module& owner)
    : index_(owner.register_buffer("draw_index", torch::zeros({1}, torch::kInt64))) {}

void StepDraw::on_train_step(int64_t step) {
  torch::NoGradGuard no_grad;
  index_.fill_(step);
}

int64_t StepDraw::current(bool training, int64_t eval_draw) const {
  return training ? index_.item<int64_t>() : eval_draw;
}

torch::Tensor register_draw_seed(torch::nn::Module& owner, uint64_t seed) {
  return owner.register_buffer("draw_seed",
                               torch::full({1}, static_cast<int64_t>(seed), torch::kInt64));
}

uint64_t draw_seed(const torch::Tensor& buffer) {
  return static_cast<uint64_t>(buffer.item<int64_t>());
}

}  // namespace lra
