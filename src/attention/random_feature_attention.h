// Common base of the random-feature backends (favor, favor_sharp, schoenbat): seeded draws kept
// as buffers, redraw on a training-step interval, and the hooks the tests and `lra_bench
// kernel-error` use to compare the features against the exact kernel they estimate.
#pragma once
#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "attention/attention.h"
#include "attention_spec/attention_config.h"

namespace lra {

class RandomFeatureAttention : public AttentionBackend {
 public:
  struct Features {
    torch::Tensor query;  // (B, H, L, m)
    torch::Tensor key;    // (B, H, L, m); padded keys are zero
  };

  // The feature maps as forward uses them. stabilized = false gives the unshifted features whose
  // Gram matrix estimates exact_kernel(); stabilized = true may multiply each query row and the
  // whole key set by positive constants (they cancel in attention) to avoid overflow.
  virtual Features features(const torch::Tensor& q, const torch::Tensor& k,
                            const torch::Tensor& key_mask, bool stabilized) = 0;
  // (B, H, L, L): the kernel values E[phi(q_i)^T phi(k_j)] the features estimate. (The exact
  // attention they approximate is the registry's `reference`, registry.h.)
  virtual torch::Tensor exact_kernel(const torch::Tensor& q, const torch::Tensor& k) = 0;

  // Replaces the features by draw number `index` of this layer's seed (0 = the initial draw).
  void redraw(int64_t index);
  // The draw currently held (restored from checkpoints with the features).
  int64_t draw_index() const;
  // Advanced by every redraw and by every write into the buffers (loading a checkpoint writes
  // them in place, which advances their version counters): what caches derived from the draw
  // are keyed on.
  uint64_t draw_counter() const;
  // Redraws at every multiple of attention.redraw_interval (0 = never).
  void on_train_step(int64_t step) override;
  // Backends whose feature parameters depend on the batch (FAVOR#) keep the parameters of the
  // next call while frozen, so the map is a fixed function of q and k (gradient checks, analysis).
  virtual void freeze_data_dependent_parameters(bool freeze) {}

 protected:
  RandomFeatureAttention(const AttentionConfig& config, const AttentionContext& context);
  // Fills the subclass's buffers from `gen` (float64 CPU draws; see assign_buffer).
  virtual void draw(at::Generator& gen) = 0;
  // Points `buffer` at `value` (converted to the buffer's device and dtype) in place, so the
  // module's registered buffer follows even when the shape changes.
  static void assign_buffer(torch::Tensor& buffer, const torch::Tensor& value);

  uint64_t seed_;
  int64_t features_;
  int64_t redraw_interval_;
  double eps_;
  ExecutionOptions execution_;

 private:
  torch::Tensor draw_index_;  // (1) int64 buffer
  uint64_t redraws_ = 0;
};

}  // namespace lra
