// The LRA encoder (Skyformer/SchoenbAt protocol: embeddings, pre-LN blocks, final LN times the
// mask) and the single-sequence classifier (pooling + ReLU MLP head) on top of it.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "attention/attention.h"
#include "attention/flop_count.h"
#include "config/config.h"

namespace lra {

// Matmul FLOPs of an encoder block's linear layers (q, k, v, output projection, MLP) for
// (batch, length) tokens; the backward does twice as many (input and weight gradients).
double block_linear_forward_flops(int64_t batch, int64_t length, int64_t dim, int64_t qkv_dim,
                                  int64_t mlp_dim);

// [h wq^T + bq, h wk^T + bk, h wv^T + bv] as one product: h (B, L, dim) is read once and the
// backward's input gradient is one GEMM instead of three and their sum. The parameters stay
// three Linear modules, so checkpoints keep their names. Returns (B, L, 3 qkv).
torch::Tensor qkv_projection(const torch::Tensor& h, const torch::nn::Linear& wq,
                             const torch::nn::Linear& wk, const torch::nn::Linear& wv);

class EncoderBlockImpl : public torch::nn::Module {
 public:
  // attention: builds this block's attention from its place in the model (heads, head_dim,
  // attention dropout, seed).
  // max_length: the longest sequence the block sees (AttentionContext::max_length).
  EncoderBlockImpl(const ModelConfig& model, const AttentionFactory& attention, int64_t max_length,
                   uint64_t seed);
  // x: (B, L, dim), mask: (B, L) float (1 = token). Returns (B, L, dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);
  AttentionBackend& attention() { return *attention_; }
  // What this block's attention sees for input x (B, L, dim): {q, k, v}, each
  // (B, heads, L, head_dim), at least fp32.
  std::vector<torch::Tensor> attention_inputs(const torch::Tensor& x);
  // Matmul FLOPs of this block on `sequences` sequences of `length` positions: the linear layers
  // and the attention through the registered formula of `attention`, the config this block's
  // attention was built from.
  FlopCount matmul_flops(const AttentionConfig& attention, int64_t sequences, int64_t length) const;

 private:
  torch::Tensor self_attention(const torch::Tensor& x, const torch::Tensor& mask);
  int64_t heads_;
  double dropout_;
  torch::nn::LayerNorm ln_attention_{nullptr}, ln_mlp_{nullptr};
  torch::nn::Linear wq_{nullptr}, wk_{nullptr}, wv_{nullptr}, wo_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  AttentionPtr attention_;
};
TORCH_MODULE(EncoderBlock);

struct Encoded {
  torch::Tensor hidden;  // (B, L', dim), padded rows zeroed; L' = L + 1 with a CLS vector
  torch::Tensor mask;    // (B, L') float, 1 = token
};

class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(const ModelConfig& model, const AttentionFactory& attention, int64_t vocab_size,
              int64_t max_length, uint64_t seed);
  // tokens: (B, L) int64, 0 = pad.
  Encoded forward(const torch::Tensor& tokens);
  void on_train_step(int64_t step);
  // Matmul FLOPs of the blocks over `sequences` token sequences of `length` (the CLS vector
  // included); embeddings and norms are not counted.
  FlopCount matmul_flops(const AttentionConfig& attention, int64_t sequences, int64_t length) const;
  // {q, k, v, mask} as block `layer` (0-based) sees them for `tokens`: q/k/v (B, H, L', hd),
  // mask (B, L'). For inspecting trained models (lra_bench kernel-error --run).
  std::vector<torch::Tensor> attention_inputs(const torch::Tensor& tokens, int64_t layer);

 private:
  // Token + position embeddings (and the CLS vector): {x (B, L', dim), mask (B, L')}.
  std::pair<torch::Tensor, torch::Tensor> embed(const torch::Tensor& tokens);
  ModelConfig config_;
  torch::nn::Embedding token_embedding_{nullptr}, position_embedding_{nullptr};
  torch::Tensor sinusoid_;  // (L', dim) buffer when pos_embedding = sinusoidal
  torch::Tensor cls_;       // (1, 1, dim) parameter when pooling = cls
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<EncoderBlock> block_list_;
  torch::nn::LayerNorm final_norm_{nullptr};
};
TORCH_MODULE(Encoder);

// hidden: (B, L, dim), mask: (B, L). Returns (B, dim).
torch::Tensor pool(const torch::Tensor& hidden, const torch::Tensor& mask,
                   const std::string& pooling);

// Single-sequence classifier, or (two_tower) the retrieval model: one shared encoder over both
// documents and a head on their pooled vectors ([u, v, u*v, u-v] or [u, v]).
class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl(const ModelConfig& model, const AttentionFactory& attention, int64_t vocab_size,
                 int64_t max_length, int64_t num_classes, bool two_tower, uint64_t seed);
  // tokens, tokens2: (B, L) int64; tokens2 only for a two-tower model.
  // Returns logits (B, num_classes).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& tokens2 = {});
  Encoder& encoder() { return encoder_; }
  // After every optimizer step (1-based): random-feature attention redraws here.
  void on_train_step(int64_t step);
  // Matmul FLOPs of a batch of `batch` examples padded to `length` tokens (two documents each
  // for a two-tower model): the encoder's (Encoder::matmul_flops); the head's are negligible
  // and not counted. `attention`: the config the model's attention factory was made from.
  FlopCount matmul_flops(const AttentionConfig& attention, int64_t batch, int64_t length) const;

 private:
  torch::Tensor encode_pooled(const torch::Tensor& tokens);
  std::string pooling_;
  std::string interaction_;  // empty for a single-sequence model
  Encoder encoder_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(Classifier);

int64_t parameter_count(const torch::nn::Module& module);

}  // namespace lra
