#include "train/training_step.h"

#include <limits>
#include <vector>

#include <torch/torch.h>

#include "model/precision.h"

namespace lra {
namespace {

// Forward and backward over `batch`, split into grad_accum chunks; the gradients are left in
// the parameters for the optimizer step.
StepStats forward_backward(Classifier& model, const Batch& batch, const TrainConfig& t,
                           const c10::Device& device) {
  StepStats s;
  const double n = static_cast<double>(batch.labels.size(0));
  auto tokens = batch.tokens.to(device), labels = batch.labels.to(device);
  auto tokens2 = batch.tokens2.defined() ? batch.tokens2.to(device) : torch::Tensor();
  auto token_chunks = tokens.chunk(t.grad_accum), label_chunks = labels.chunk(t.grad_accum);
  auto token2_chunks =
      tokens2.defined() ? tokens2.chunk(t.grad_accum) : std::vector<torch::Tensor>();
  for (size_t i = 0; i < token_chunks.size(); ++i) {
    torch::Tensor logits;
    {
      AutocastGuard autocast(device, t.precision);  // train.precision: bf16 autocast on CUDA
      logits =
          model->forward(token_chunks[i], tokens2.defined() ? token2_chunks[i] : torch::Tensor());
    }
    auto loss = torch::nn::functional::cross_entropy(logits.to(torch::kFloat),
                                                     label_chunks[i]);  // chunk mean
    const double chunk = static_cast<double>(label_chunks[i].size(0));
    (loss * (chunk / n)).backward();
    s.loss_sum += loss.item<double>() * chunk;
    s.correct += (logits.argmax(1) == label_chunks[i]).sum().item<double>();
  }
  s.count = n;
  s.real_tokens = (tokens != 0).sum().item<double>();
  if (tokens2.defined()) s.real_tokens += (tokens2 != 0).sum().item<double>();
  return s;
}

// The global gradient norm before clipping (clip_grad_norm_ with an infinite bound changes
// nothing); with train.clip: norm it is the clipping itself.
double clip_and_measure(Classifier& model, const TrainConfig& t) {
  const double bound = t.clip == "norm" ? t.clip_value : std::numeric_limits<double>::infinity();
  const double norm = torch::nn::utils::clip_grad_norm_(model->parameters(), bound);
  if (t.clip == "value") torch::nn::utils::clip_grad_value_(model->parameters(), t.clip_value);
  return norm;
}

}  // namespace

std::unique_ptr<torch::optim::AdamW> make_optimizer(Classifier& model, const TrainConfig& t) {
  return std::make_unique<torch::optim::AdamW>(model->parameters(),
                                               torch::optim::AdamWOptions(t.lr)
                                                   .betas({t.beta1, t.beta2})
                                                   .eps(t.eps)
                                                   .weight_decay(t.weight_decay));
}

StepOutcome training_step(Classifier& model, torch::optim::Optimizer& optimizer,
                          NonfiniteGuard& guard, const Batch& batch, const TrainConfig& t,
                          const c10::Device& device, int64_t step, const StepHook& after_phase) {
  auto finished = [&](StepPhase phase) {
    if (after_phase) after_phase(phase);
  };
  StepOutcome out;
  optimizer.zero_grad();
  out.stats = forward_backward(model, batch, t, device);
  finished(StepPhase::kForwardBackward);
  out.grad_norm = clip_and_measure(model, t);
  out.applied = guard.accept(step, out.stats.loss_sum / out.stats.count, out.grad_norm);
  finished(StepPhase::kClipping);
  if (out.applied) optimizer.step();
  finished(StepPhase::kOptimizer);
  model->on_train_step(step);
  finished(StepPhase::kRedraw);
  return out;
}

}  // namespace lra
