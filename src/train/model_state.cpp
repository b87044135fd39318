#include "train/model_state.h"

#include <stdexcept>
#include <unordered_set>

#include <torch/torch.h>

namespace lra {
namespace {

std::string shape_text(const std::vector<int64_t>& shape, bool any_rows) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += any_rows && i == 0 ? "*" : std::to_string(shape[i]);
  }
  return text + "]";
}

bool fits(const torch::Tensor& saved, const TensorSpec& spec) {
  const auto sizes = saved.sizes();
  if (sizes.size() != spec.shape.size()) return false;
  for (size_t i = spec.any_rows ? 1 : 0; i < sizes.size(); ++i)
    if (sizes[i] != spec.shape[i]) return false;
  return true;
}

}  // namespace

NamedTensors snapshot(torch::nn::Module& module) {
  NamedTensors s;
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters()) s.insert(p.key(), p.value().detach().clone());
  for (const auto& b : module.named_buffers()) s.insert(b.key(), b.value().detach().clone());
  return s;
}

std::vector<TensorSpec> snapshot_specs(torch::nn::Module& module) {
  std::vector<TensorSpec> specs;
  for (const auto& p : module.named_parameters())
    specs.push_back({p.key(), p.value().sizes().vec(), false});
  for (const auto& b : module.named_buffers())
    specs.push_back({b.key(), b.value().sizes().vec(), true});
  return specs;
}

void check_tensors(const NamedTensors& saved, const std::vector<TensorSpec>& specs,
                   const std::string& source) {
  std::vector<std::string> problems;
  std::unordered_set<std::string> expected;
  for (const auto& spec : specs) {
    expected.insert(spec.name);
    const torch::Tensor* t = saved.find(spec.name);
    if (!t)
      problems.push_back(spec.name + " is missing");
    else if (!fits(*t, spec))
      problems.push_back(spec.name + " has shape " + shape_text(t->sizes().vec(), false) +
                         ", the model expects " + shape_text(spec.shape, spec.any_rows));
  }
  for (const auto& item : saved)
    if (!expected.count(item.key())) problems.push_back(item.key() + " is not in the model");
  if (problems.empty()) return;
  std::string message = source + ": " + problems.front();
  const size_t more = problems.size() - 1;
  if (more == 1) message += " (and 1 more tensor that does not fit)";
  if (more > 1) message += " (and " + std::to_string(more) + " more tensors that do not fit)";
  throw std::runtime_error(message);
}

void restore(torch::nn::Module& module, const NamedTensors& state, const std::string& source) {
  check_tensors(state, snapshot_specs(module), source);
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) p.value().copy_(state[p.key()]);
  for (auto& b : module.named_buffers())
    b.value().set_(state[b.key()].to(b.value().device()).clone());
}

}  // namespace lra
