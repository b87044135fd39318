// The attention interface every backend implements. Backends are registered in
// src/attention_spec/backend_list.h and built by make_attention (registry.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace lra {

// How a backend runs, never what it computes: results agree up to rounding for every setting.
struct ExecutionOptions {
  int64_t chunk_rows = 0;  // rows per slice of the linear attention; 0 = automatic
  // The CPU row-loop kernels (SchoenbAt's normalisations, the fused linear attention of FAVOR+,
  // FAVOR# and SchoenbAt); false takes the tensor-op form, their reference in tests.
  bool cpu_row_loops = true;
};

// What a backend needs to know about its place in the model.
struct AttentionContext {
  int64_t heads = 1;
  int64_t head_dim = 1;
  double dropout = 0.0;  // attention-weight dropout (backends that form weights)
  uint64_t seed = 0;     // for random features: run seed mixed with the layer index
  ExecutionOptions execution = {};
  // The longest sequence the layer will see (the task's padded length, plus the CLS slot):
  // what backends with length-sized parameters (linformer's projections) are built for.
  int64_t max_length = 0;
};

class AttentionBackend : public torch::nn::Module {
 public:
  // q, k, v: (batch, heads, length, head_dim), float32 or float64.
  // key_mask: (batch, length), 1 = real token, 0 = padding; padded keys must get no weight.
  // Returns (batch, heads, length, head_dim). Rows of padded queries are unspecified (the
  // encoder zeroes them).
  virtual torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, const torch::Tensor& key_mask) = 0;
  // Called by the trainer after every optimizer step (1-based); random-feature backends
  // redraw here.
  virtual void on_train_step(int64_t step) {}
};

using AttentionPtr = std::shared_ptr<AttentionBackend>;

// Builds one layer's attention: what the model receives instead of the attention config.
using AttentionFactory = std::function<AttentionPtr(const AttentionContext&)>;

// key_mask (B, L) -> (B, 1, 1, L) bool, true = padded key: masks (B, H, L, L) scores by column.
torch::Tensor padded_key_columns(const torch::Tensor& key_mask);
// key_mask (B, L) -> (B, 1, L, 1) bool, true = padded key: masks (B, H, L, m) key features.
torch::Tensor padded_key_rows(const torch::Tensor& key_mask);

}  // namespace lra
