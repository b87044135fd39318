// Which random draw a sampling backend (skyformer, informer, bigbird, reformer) uses: the last
// optimizer step's while training, one fixed draw while evaluating, so that validation and test
// numbers do not depend on the step they are taken at. The step is a registered buffer
// ("draw_index"), so a checkpoint restores it and a resumed run draws what the uninterrupted one
// drew; every forward of one step (gradient-accumulation chunks) shares the step's draw.
#pragma once
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace lra {

class StepDraw {
 public:
  // Evaluation's draw unless a backend keeps its own (training draws are steps, >= 0).
  static constexpr int64_t kEvalDraw = -1;

  // Registers the "draw_index" buffer on `owner`.
  explicit StepDraw(torch::nn::Module& owner);

  void on_train_step(int64_t step);
  int64_t current(bool training, int64_t eval_draw = kEvalDraw) const;

 private:
  torch::Tensor index_;  // (1) int64: the training draw (the last optimizer step)
};

// The layer seed as a registered (1) int64 buffer "draw_seed", restored from checkpoints, and its
// bits back.
torch::Tensor register_draw_seed(torch::nn::Module& owner, uint64_t seed);
uint64_t draw_seed(const torch::Tensor& buffer);

}  // namespace lra
