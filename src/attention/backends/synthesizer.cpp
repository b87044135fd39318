// synthesizer (Tay et al. 2021, "Synthesizer: Rethinking Self-Attention for Transformer Models"):
// attention weights from synthetic logits instead of (or beside) query-key dot products,
//   out = softmax(sum_c alpha_c S_c) v,
// with S_c among: q k^T / sqrt(d) (attention.dot_product), a learned (L x L) matrix per head
// (random), its rank-k product R1 R2 (factorized_random), and the output of a two-layer network
// of each query, one logit per key position (dense). Quadratic by design; exact (its logits are
// model weights, not an estimate). The fused CPU kernel (cpu/biased_softmax.h) adds the
// synthetic logits to the score blocks and never forms the (L x L) weights.
//
// As the official LRA code: lecun-normal weights sized by the longest sequence
// (attention.max_length, 0 = the task's padded length), sliced to the batch's length from the
// first position; the dense network's second layer shared by the heads. attention.convention:
// paper mixes the components with learned weights alpha = softmax(a), a starting at 0; lra_code
// adds them (alpha = 1), lays out the dense logits by the code's reshape of (B, L, H, L) to
// (B, H, L, L), and applies no padding mask without the dot product (docs/attention.md).
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/biased_softmax.h"
#include "attention/nystrom.h"
#include "attention/registry.h"

namespace lra::backends::synthesizer {
namespace {

bool has(const std::string& mode, const char* part) {
  return mode.find(part) != std::string::npos;
}

// lecun_normal (the LRA code's kernel_init) of a (heads, rows, cols) weight: fan-in rows x heads.
// Drawn in float32: an (H, L, L) float64 draw would take twice the weights' memory (1 GiB for 8
// heads at 4,001 tokens).
torch::Tensor lecun_normal(std::vector<int64_t> shape, int64_t fan_in, at::Generator& gen) {
  return torch::randn(shape, gen, torch::kFloat32) / std::sqrt(static_cast<double>(fan_in));
}

class SynthesizerAttention : public AttentionBackend {
 public:
  SynthesizerAttention(const AttentionConfig& config, const AttentionContext& context)
      : length_(config.max_length > 0 ? config.max_length : context.max_length),
        random_(has(config.synthesizer_mode, "random") &&
                !has(config.synthesizer_mode, "factorized")),
        factorized_(has(config.synthesizer_mode, "factorized")),
        dense_(has(config.synthesizer_mode, "dense")),
        dot_(config.dot_product),
        code_(config.convention == "lra_code"),
        dropout_(context.dropout) {
    if (length_ < 1)
      throw std::invalid_argument(
          "synthesizer: its logits are sized by the longest sequence (attention.max_length, or "
          "AttentionContext::max_length for 0), which was not set");
    auto gen = landmark_generator(context.seed, 0);
    const int64_t H = context.heads, d = context.head_dim, k = config.synthesizer_k;
    if (random_)
      random_logits_ =
          register_parameter("random", lecun_normal({H, length_, length_}, H * length_, gen));
    if (factorized_) {
      factor1_ = register_parameter("random1", lecun_normal({H, length_, k}, H * length_, gen));
      factor2_ = register_parameter("random2", lecun_normal({H, k, length_}, H * k, gen));
    }
    if (dense_) {
      dense1_ = register_parameter("dense1", lecun_normal({H, d, d}, d, gen));  // per head
      dense1_bias_ = register_parameter("dense1_bias", torch::zeros({H, 1, d}));
      dense2_ = register_parameter("dense2", lecun_normal({d, length_}, d, gen));  // shared
      dense2_bias_ = register_parameter("dense2_bias", torch::zeros({length_}));
    }
    const int components = int{dot_} + int{random_ || factorized_} + int{dense_};
    if (!code_ && components > 1)
      mixture_ = register_parameter("mixture", torch::zeros({components}));
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2);
    if (L > length_)
      throw std::invalid_argument("synthesizer: sequence length " + std::to_string(L) +
                                  " exceeds the " + std::to_string(length_) +
                                  " its logits were built for (attention.max_length)");
    // The mixture weights, in component order: dot product, random kind, dense.
    auto alpha = mixture_.defined() ? torch::softmax(mixture_, 0).to(q.scalar_type())
                                    : torch::Tensor();  // (components)
    int64_t c = 0;
    auto next_weight = [&] { return alpha.defined() ? alpha[c++] : torch::Tensor(); };
    auto queries = q;
    if (dot_)
      if (auto a = next_weight(); a.defined()) queries = q * a;
    auto [bias, bias_scale] = synthetic_logits(q, next_weight);
    // The LRA code masks padded keys in its dot-product branch only.
    auto mask = code_ && !dot_ ? torch::ones_like(key_mask) : key_mask;
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
    if (biased_softmax_supported(q))
      return biased_softmax_attention(queries, k, v, mask, bias, bias_scale,
                                      is_training() ? dropout_ : 0.0, scale, dot_);
    return biased_softmax_attention_ops(queries, k, v, mask, bias, bias_scale, dropout_, scale,
                                        dot_, is_training());
  }

  // The synthetic logits for sequences of q's length: (bias (1 or B, H, L, L), its weight, or
  // undefined for 1). A single synthetic component is passed with its mixture weight as is, so
  // that the kernel scales it in cache instead of a pass over the (L x L) matrix; random and
  // dense together are summed here.
  template <typename NextWeight>
  std::pair<torch::Tensor, torch::Tensor> synthetic_logits(const torch::Tensor& q,
                                                           NextWeight& next_weight) const {
    const int64_t B = q.size(0), H = q.size(1), L = q.size(2);
    // Cut to the first L positions; at the full length not at all (narrow's gradient would
    // make two more passes over the (L x L) matrix).
    auto first = [&](const torch::Tensor& t, int64_t dim) {
      return t.size(dim) == L ? t : t.narrow(dim, 0, L);
    };
    torch::Tensor random, dense;
    if (random_) random = first(first(random_logits_, 1), 2).unsqueeze(0);  // (1, H, L, L)
    if (factorized_) random = torch::matmul(first(factor1_, 1), first(factor2_, 2)).unsqueeze(0);
    auto random_weight = random.defined() ? next_weight() : torch::Tensor();
    if (dense_) {
      auto hidden = torch::relu(torch::matmul(q, dense1_) + dense1_bias_);  // (B, H, L, d)
      dense = torch::matmul(hidden, dense2_.narrow(1, 0, L)) +
              dense2_bias_.narrow(0, 0, L);  // (B, H, L, L)
      // The code's network outputs (B, L, H, L), which it reshapes (not transposes) to
      // (B, H, L, L): head h, row i reads output row (h L + i) / H, head (h L + i) % H.
      if (code_) dense = dense.transpose(1, 2).contiguous().view({B, H, L, L});
    }
    auto dense_weight = dense.defined() ? next_weight() : torch::Tensor();
    auto weighted = [](const torch::Tensor& t, const torch::Tensor& w) {
      return w.defined() ? t * w : t;
    };
    if (random.defined() && dense.defined())
      return {(weighted(random, random_weight) + weighted(dense, dense_weight)).to(q.scalar_type()),
              torch::Tensor()};
    if (random.defined()) return {random.to(q.scalar_type()), random_weight};
    return {dense.to(q.scalar_type()), dense_weight};
  }

  bool dot() const { return dot_; }
  bool dense() const { return dense_; }
  bool factorized() const { return factorized_; }
  int64_t rank() const { return factorized_ ? factor1_.size(2) : 0; }

 private:
  int64_t length_;
  bool random_, factorized_, dense_, dot_, code_;
  double dropout_;
  torch::Tensor random_logits_;         // (H, length, length)
  torch::Tensor factor1_, factor2_;     // (H, length, k), (H, k, length)
  torch::Tensor dense1_, dense1_bias_;  // (H, d, d), (H, 1, d): per head
  torch::Tensor dense2_, dense2_bias_;  // (d, length), (length): shared by the heads
  torch::Tensor mixture_;               // (components): paper convention, several components
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<SynthesizerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const SynthesizerAttention&>(instance);
  const double bh = static_cast<double>(s.batch * s.heads), L = static_cast<double>(s.length),
               d = static_cast<double>(s.head_dim);
  // Weights times values; the scores q k^T; the factor product (once for the batch); the dense
  // network's two layers, 2 FLOPs per multiply-add.
  double forward = 2 * bh * L * L * d;
  if (self.dot()) forward += 2 * bh * L * L * d;
  if (self.factorized())
    forward += 2 * static_cast<double>(s.heads) * L * L * static_cast<double>(self.rank());
  if (self.dense()) forward += 2 * bh * L * d * d + 2 * bh * L * d * L;
  return {forward, 2 * forward};
}

// The synthesizer with its synthetic logits at zero: softmax(alpha_dot q k^T / sqrt(d)) v, or
// uniform weights without the dot product. Its trained logits are model weights, which no
// weight-free formula reproduces: tests/attention/test_synthesizer.cpp checks the module against
// a float64 reference given them.
torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig& config) {
  const bool dense = has(config.synthesizer_mode, "dense");
  const int components = int{config.dot_product} + 1 + int{dense};
  const bool code = config.convention == "lra_code";
  const double alpha = code || components == 1 ? 1.0 : 1.0 / static_cast<double>(components);
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2);
  auto zero = torch::zeros({B, H, L, L}, q.options());
  auto mask = code && !config.dot_product ? torch::ones_like(key_mask) : key_mask;
  return biased_softmax_attention_ops(q * alpha, k, v, mask, zero, torch::Tensor(), 0.0,
                                      1.0 / std::sqrt(static_cast<double>(q.size(3))),
                                      config.dot_product, false);
}

}  // namespace lra::backends::synthesizer
