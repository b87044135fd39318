#include "train/model_state.h"

#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace lra {

std::vector<torch::Tensor> snapshot(torch::nn::Module& module) {
  std::vector<torch::Tensor> s;
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) s.push_back(p.detach().clone());
  for (auto& b : module.buffers()) s.push_back(b.detach().clone());
  return s;
}

void restore(torch::nn::Module& module, const std::vector<torch::Tensor>& state) {
  auto params = module.parameters();
  auto buffers = module.buffers();
  if (state.size() != params.size() + buffers.size())
    throw std::runtime_error(
        "the saved model has " + std::to_string(state.size()) + " tensors, this model " +
        std::to_string(params.size() + buffers.size()) + " (was the model config changed?)");
  for (size_t i = 0; i < params.size(); ++i)
    if (!params[i].sizes().equals(state[i].sizes()))
      throw std::runtime_error("the saved model's tensor " + std::to_string(i) + " has shape " +
                               c10::str(state[i].sizes()) + ", this model's " +
                               c10::str(params[i].sizes()) + " (was the model config changed?)");
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : params) p.copy_(state[i++]);
  for (auto& b : buffers) b.set_(state[i++].to(b.device()).clone());
}

}  // namespace lra
