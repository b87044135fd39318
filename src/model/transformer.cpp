#include "model/transformer.h"

#include <cmath>

#include <torch/torch.h>

#include "attention/registry.h"
#include "model/dropout.h"
#include "model/precision.h"
#include "util/rng.h"

namespace lra {
namespace {

namespace nn = torch::nn;

// Attention runs in at least fp32 whatever the surrounding precision (peers disable autocast).
torch::Tensor at_least_fp32(const torch::Tensor& t) {
  return t.scalar_type() == torch::kHalf || t.scalar_type() == torch::kBFloat16
             ? t.to(torch::kFloat)
             : t;
}

// (L, dim): sin on even dims, cos on odd dims, base 10000.
torch::Tensor sinusoid_table(int64_t length, int64_t dim) {
  auto position = torch::arange(length, torch::kFloat).unsqueeze(1);       // (L, 1)
  auto index = torch::arange(0, dim, 2, torch::kFloat);                    // (ceil(dim/2),)
  auto angle = position * torch::exp(index * (-std::log(10000.0) / dim));  // (L, ceil(dim/2))
  auto table = torch::zeros({length, dim});
  table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, dim, 2)},
                   torch::sin(angle));
  table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, dim, 2)},
                   torch::cos(angle.narrow(1, 0, dim / 2)));
  return table;
}

}  // namespace

double block_linear_forward_flops(int64_t batch, int64_t length, int64_t dim, int64_t qkv_dim,
                                  int64_t mlp_dim) {
  const auto tokens = static_cast<double>(batch * length);
  const double weights = 3.0 * static_cast<double>(dim * qkv_dim) +
                         static_cast<double>(qkv_dim * dim) +
                         2.0 * static_cast<double>(dim * mlp_dim);
  return 2.0 * tokens * weights;
}

torch::Tensor qkv_projection(const torch::Tensor& h, const torch::nn::Linear& wq,
                             const torch::nn::Linear& wk, const torch::nn::Linear& wv) {
  auto w = torch::cat({wq->weight, wk->weight, wv->weight});  // (3 qkv, dim)
  auto b = torch::cat({wq->bias, wk->bias, wv->bias});        // (3 qkv)
  return torch::nn::functional::linear(h, w, b);              // (B, L, 3 qkv)
}

EncoderBlockImpl::EncoderBlockImpl(const ModelConfig& m, const AttentionFactory& attention,
                                   int64_t max_length, uint64_t seed)
    : heads_(m.heads), dropout_(m.dropout) {
  ln_attention_ = register_module("ln_attention", nn::LayerNorm(nn::LayerNormOptions({m.dim})));
  ln_mlp_ = register_module("ln_mlp", nn::LayerNorm(nn::LayerNormOptions({m.dim})));
  const int64_t qkv = m.qkv_width();
  wq_ = register_module("wq", nn::Linear(m.dim, qkv));
  wk_ = register_module("wk", nn::Linear(m.dim, qkv));
  wv_ = register_module("wv", nn::Linear(m.dim, qkv));
  wo_ = register_module("wo", nn::Linear(qkv, m.dim));
  fc1_ = register_module("fc1", nn::Linear(m.dim, m.mlp_dim));
  fc2_ = register_module("fc2", nn::Linear(m.mlp_dim, m.dim));
  AttentionContext context{m.heads, qkv / m.heads, m.attention_dropout, seed};
  context.max_length = max_length;
  attention_ = register_module("attention", attention(context));
}

std::vector<torch::Tensor> EncoderBlockImpl::attention_inputs(const torch::Tensor& x) {
  const int64_t B = x.size(0), L = x.size(1), H = heads_;
  auto split_heads = [&](const torch::Tensor& t) {  // (B, L, qkv) -> (B, H, L, qkv/H)
    return at_least_fp32(t.view({B, L, H, t.size(2) / H}).transpose(1, 2));
  };
  auto qkv = qkv_projection(ln_attention_(x), wq_, wk_, wv_).chunk(3, -1);  // 3 x (B, L, qkv)
  return {split_heads(qkv[0]), split_heads(qkv[1]), split_heads(qkv[2])};
}

FlopCount EncoderBlockImpl::matmul_flops(const AttentionConfig& attention, int64_t sequences,
                                         int64_t length) const {
  const int64_t dim = wq_->weight.size(1), qkv = wq_->weight.size(0);
  const AttentionShape shape{sequences, heads_, length, qkv / heads_, attention.features};
  const FlopCount core = attention_implementation(attention.type).flops(shape, *attention_);
  const double linear =
      block_linear_forward_flops(sequences, length, dim, qkv, fc1_->weight.size(0));
  return {linear + core.forward, 2.0 * linear + core.backward};
}

torch::Tensor EncoderBlockImpl::self_attention(const torch::Tensor& x, const torch::Tensor& mask) {
  auto qkv = attention_inputs(x);
  torch::Tensor out;
  {
    AutocastOff fp32_core(x.device());  // q, k, v are already at least fp32
    out = attention_->forward(qkv[0], qkv[1], qkv[2], mask.to(qkv[0].scalar_type()));
  }
  // (B, H, L, qkv/H) -> (B, L, qkv)
  out = out.to(x.scalar_type()).transpose(1, 2).reshape({x.size(0), x.size(1), -1});
  return wo_(out);
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const bool train = is_training();
  auto h = x + lra::dropout(self_attention(x, mask), dropout_, train);
  auto mlp = fc2_(lra::dropout(torch::gelu(fc1_(ln_mlp_(h))), dropout_, train));
  return h + lra::dropout(mlp, dropout_, train);
}

EncoderImpl::EncoderImpl(const ModelConfig& m, const AttentionFactory& attention,
                         int64_t vocab_size, int64_t max_length, uint64_t seed)
    : config_(m) {
  const bool cls = m.pooling == "cls";
  const int64_t positions = max_length + (cls ? 1 : 0);
  token_embedding_ = register_module("token_embedding", nn::Embedding(vocab_size, m.dim));
  torch::nn::init::normal_(token_embedding_->weight, 0.0, 0.02);
  if (m.pos_embedding == "learned") {
    position_embedding_ = register_module("position_embedding", nn::Embedding(positions, m.dim));
    torch::nn::init::normal_(position_embedding_->weight, 0.0, 0.02);
  } else {
    sinusoid_ = register_buffer("sinusoid", sinusoid_table(positions, m.dim));
  }
  if (cls) cls_ = register_parameter("cls", torch::zeros({1, 1, m.dim}));
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < m.layers; ++i) {
    block_list_.emplace_back(m, attention, positions,
                             derive_seed(seed, 100 + static_cast<uint64_t>(i)));
    blocks_->push_back(block_list_.back());
  }
  final_norm_ = register_module("final_norm", nn::LayerNorm(nn::LayerNormOptions({m.dim})));
}

std::pair<torch::Tensor, torch::Tensor> EncoderImpl::embed(const torch::Tensor& tokens) {
  auto mask = (tokens != 0).to(torch::kFloat);  // (B, L)
  auto x = token_embedding_(tokens);            // (B, L, dim)
  if (cls_.defined()) {
    x = torch::cat({cls_.expand({x.size(0), 1, x.size(2)}), x}, 1);                // (B, L+1, dim)
    mask = torch::cat({torch::ones({mask.size(0), 1}, mask.options()), mask}, 1);  // (B, L+1)
  }
  const int64_t L = x.size(1);
  x = x + (position_embedding_ ? position_embedding_->weight.narrow(0, 0, L)
                               : sinusoid_.narrow(0, 0, L));
  return {lra::dropout(x, config_.dropout, is_training()), mask};
}

Encoded EncoderImpl::forward(const torch::Tensor& tokens) {
  auto [x, mask] = embed(tokens);
  for (auto& block : block_list_) x = block->forward(x, mask);
  x = final_norm_(x) * mask.unsqueeze(-1);  // padded rows exactly zero
  return {x, mask};
}

std::vector<torch::Tensor> EncoderImpl::attention_inputs(const torch::Tensor& tokens,
                                                         int64_t layer) {
  TORCH_CHECK(layer >= 0 && layer < static_cast<int64_t>(block_list_.size()), "layer ", layer,
              " out of range: the model has ", block_list_.size(), " layers");
  auto [x, mask] = embed(tokens);
  for (int64_t i = 0; i < layer; ++i) x = block_list_[static_cast<size_t>(i)]->forward(x, mask);
  auto qkv = block_list_[static_cast<size_t>(layer)]->attention_inputs(x);
  qkv.push_back(mask);
  return qkv;
}

void EncoderImpl::on_train_step(int64_t step) {
  for (auto& block : block_list_) block->attention().on_train_step(step);
}

FlopCount EncoderImpl::matmul_flops(const AttentionConfig& attention, int64_t sequences,
                                    int64_t length) const {
  const int64_t positions = length + (cls_.defined() ? 1 : 0);
  FlopCount total;
  for (const auto& block : block_list_) {
    const FlopCount f = block->matmul_flops(attention, sequences, positions);
    total.forward += f.forward;
    total.backward += f.backward;
  }
  return total;
}

torch::Tensor pool(const torch::Tensor& hidden, const torch::Tensor& mask,
                   const std::string& pooling) {
  if (pooling == "cls") return hidden.select(1, 0);
  if (pooling == "mean_padded") return hidden.mean(1);  // pads (zero rows) dilute the mean
  auto count = mask.sum(1, true).clamp_min(1.0);        // (B, 1)
  return hidden.sum(1) / count;                         // rows of pads are already zero
}

ClassifierImpl::ClassifierImpl(const ModelConfig& m, const AttentionFactory& attention,
                               int64_t vocab_size, int64_t max_length, int64_t num_classes,
                               bool two_tower, uint64_t seed)
    : pooling_(m.pooling), interaction_(two_tower ? m.interaction : "") {
  encoder_ = register_module("encoder", Encoder(m, attention, vocab_size, max_length, seed));
  const int64_t pooled_width = !two_tower ? m.dim : m.interaction == "nli" ? 4 * m.dim : 2 * m.dim;
  fc1_ = register_module("head_fc1", nn::Linear(pooled_width, m.head_hidden));
  fc2_ = register_module("head_fc2", nn::Linear(m.head_hidden, num_classes));
}

torch::Tensor ClassifierImpl::encode_pooled(const torch::Tensor& tokens) {
  auto encoded = encoder_->forward(tokens);
  return pool(encoded.hidden, encoded.mask, pooling_);  // (B, dim)
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& tokens, const torch::Tensor& tokens2) {
  TORCH_CHECK(interaction_.empty() == !tokens2.defined(),
              interaction_.empty() ? "this model takes one sequence per example"
                                   : "a two-tower model needs both documents");
  torch::Tensor features = encode_pooled(tokens);  // (B, dim)
  if (tokens2.defined()) {
    // One shared encoder over both documents, no cross attention.
    auto u = features, v = encode_pooled(tokens2);
    features = interaction_ == "nli" ? torch::cat({u, v, u * v, u - v}, 1)  // (B, 4 dim)
                                     : torch::cat({u, v}, 1);               // (B, 2 dim)
  }
  return fc2_(torch::relu(fc1_(features)));  // (B, classes)
}

void ClassifierImpl::on_train_step(int64_t step) {
  encoder_->on_train_step(step);
}

FlopCount ClassifierImpl::matmul_flops(const AttentionConfig& attention, int64_t batch,
                                       int64_t length) const {
  const int64_t documents = interaction_.empty() ? 1 : 2;
  return encoder_->matmul_flops(attention, batch * documents, length);
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace lra
