#include "train/optimizer_state.h"

#include <memory>

#include <torch/torch.h>

namespace lra {
namespace {

bool uses_amsgrad(const torch::optim::AdamW& optimizer) {
  return static_cast<const torch::optim::AdamWOptions&>(optimizer.defaults()).amsgrad();
}

const torch::optim::AdamWParamState* state_of(const torch::optim::AdamW& optimizer,
                                              const torch::Tensor& parameter) {
  const auto it = optimizer.state().find(parameter.unsafeGetTensorImpl());
  if (it == optimizer.state().end()) return nullptr;
  return static_cast<const torch::optim::AdamWParamState*>(it->second.get());
}

}  // namespace

NamedTensors adamw_state(const torch::optim::AdamW& optimizer, torch::nn::Module& module) {
  NamedTensors out;
  const bool amsgrad = uses_amsgrad(optimizer);
  for (const auto& p : module.named_parameters()) {
    const auto* s = state_of(optimizer, p.value());
    auto zeros = [&p] { return torch::zeros_like(p.value().detach()); };
    out.insert(p.key() + ".step", torch::scalar_tensor(s ? s->step() : 0, torch::kInt64));
    out.insert(p.key() + ".exp_avg", s ? s->exp_avg().detach().clone() : zeros());
    out.insert(p.key() + ".exp_avg_sq", s ? s->exp_avg_sq().detach().clone() : zeros());
    if (amsgrad)
      out.insert(p.key() + ".max_exp_avg_sq", s && s->max_exp_avg_sq().defined()
                                                  ? s->max_exp_avg_sq().detach().clone()
                                                  : zeros());
  }
  return out;
}

std::vector<TensorSpec> adamw_state_specs(const torch::optim::AdamW& optimizer,
                                          torch::nn::Module& module) {
  std::vector<TensorSpec> specs;
  const bool amsgrad = uses_amsgrad(optimizer);
  for (const auto& p : module.named_parameters()) {
    const auto shape = p.value().sizes().vec();
    specs.push_back({p.key() + ".step", {}});
    specs.push_back({p.key() + ".exp_avg", shape});
    specs.push_back({p.key() + ".exp_avg_sq", shape});
    if (amsgrad) specs.push_back({p.key() + ".max_exp_avg_sq", shape});
  }
  return specs;
}

void restore_adamw_state(torch::optim::AdamW& optimizer, torch::nn::Module& module,
                         const NamedTensors& state, const std::string& source) {
  check_tensors(state, adamw_state_specs(optimizer, module), source);
  const bool amsgrad = uses_amsgrad(optimizer);
  auto moment = [&state](const std::string& name, const torch::Tensor& p) {
    return state[name].to(p.device()).clone();
  };
  for (const auto& p : module.named_parameters()) {
    void* key = p.value().unsafeGetTensorImpl();
    optimizer.state().erase(key);
    const int64_t step = state[p.key() + ".step"].item<int64_t>();
    if (step == 0) continue;  // not updated yet: AdamW creates its state at the first update
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(step);
    s->exp_avg(moment(p.key() + ".exp_avg", p.value()));
    s->exp_avg_sq(moment(p.key() + ".exp_avg_sq", p.value()));
    if (amsgrad) s->max_exp_avg_sq(moment(p.key() + ".max_exp_avg_sq", p.value()));
    optimizer.state()[key] = std::move(s);
  }
}

}  // namespace lra
