// skyformer (Chen et al. 2021, "Skyformer: Remodel Self-Attention with Gaussian Kernel and
// Nyström Method"): the Gaussian-kernel attention of gaussian_kernelized, its L x L kernel
// matrix replaced by a Nyström approximation on c landmarks sampled from the real tokens of
// [q; k] (both scaled by d^-1/4):
//   C_q = kappa(q, landmarks), C_k = kappa(k, landmarks) (pads zeroed), W = kappa(landmarks,
//   landmarks) + 0.1 I, D = diag(W 1),
//   out = C_q D^-1/2 pinv(D^-1/2 W D^-1/2) D^-1/2 C_k^T v,
// O(L c d + c^3) per head; with c >= L it computes the exact kernel instead (cheaper, and
// what it approximates: exact_forms.h). With attention.accumulation a > 1 each landmark column is
// the sum of a sampled columns, as in the peer code.
//
// Sampling: uniform with replacement over each sequence's real tokens, the first half of the
// a c draws from the query side and the rest from the key side, the same positions for every
// head (as the peer). The peer draws afresh at every forward; here the draw of a training forward
// is fixed by (layer seed, optimizer step) and kept in buffers, so a resumed run draws what the
// uninterrupted one drew, and the forwards of one step (gradient-accumulation chunks, gradient
// checks) see one draw; with one forward per step that is a new draw every forward. Evaluation
// uses one fixed draw of the layer seed, so it is deterministic.
//
// Differences from the peer code (docs/attention.md):
// - q, k scaled by d^-1/4; the peer hard-codes 32^-1/4 (the same at head_dim 32).
// - pinv starts from A^T / (|A|_1 |A|_inf) of each matrix (the Nyströmformer paper's choice);
//   the peer divides by one maximum column sum over the whole batch.
// - Real tokens are found from the mask wherever they are; the peer assumes the padding is a
//   suffix.
#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "attention/nystrom.h"
#include "attention/registry.h"
#include "attention/step_draw.h"
#include "attention_spec/exact_forms.h"

namespace lra::backends::skyformer {
namespace {

constexpr double kRegularizer = 0.1;

class SkyformerAttention : public AttentionBackend {
 public:
  SkyformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : accumulation_(config.accumulation),
        iterations_(config.pinv_iterations),
        skyformer_code_(config.convention == "skyformer_code"),
        draw_(*this),
        draw_seed_(register_draw_seed(*this, context.seed)) {
    if (config.features == 0 && context.max_length < 1)
      throw std::invalid_argument(
          "skyformer: attention.features 0 takes sampling_factor * ln(max_length) landmarks, "
          "but the layer's max_length (AttentionContext::max_length) was not set");
    columns_ = skyformer_columns(config, context.max_length);
  }

  void on_train_step(int64_t step) override { draw_.on_train_step(step); }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3);
    const int64_t a = accumulation_, c = columns_, sampled = a * c;
    // The Skyformer code hard-codes 32^-1/4 (its head_dim): the same at d = 32.
    const double scale = std::pow(skyformer_code_ ? 32.0 : static_cast<double>(d), -0.25);
    auto qs = q * scale, ks = k * scale;  // (B, H, L, d)
    if (c >= L) {
      // exact_forms::columns_cover_length: the c x c pseudo-inverse would cost more than the
      // exact kernel it approximates, so compute that (gaussian_kernelized at this scale).
      auto weights = gaussian_kernel(qs, ks)  // (B, H, L, L)
                         .masked_fill(padded_key_columns(key_mask), 0.0);
      return torch::matmul(weights, v);  // (B, H, L, d)
    }

    // Uniform ranks among each sequence's n real tokens, then their positions. Drawn (B, a c)
    // row-major, so a batch element's draw does not depend on the batch size or its padding.
    auto gen = landmark_generator(draw_seed(draw_seed_), draw_.current(is_training()));
    auto u = torch::rand({B, sampled}, gen, torch::kFloat64).to(q.device());  // (B, a c)
    auto real = (key_mask > 0).to(torch::kInt64);                             // (B, L)
    auto n = real.sum(-1, /*keepdim=*/true);                                  // (B, 1)
    auto rank = torch::minimum((u * n).floor().to(torch::kInt64), (n - 1).clamp_min(0));
    auto position = torch::searchsorted(real.cumsum(-1), rank + 1).clamp_max(L - 1);  // (B, a c)
    auto gather_index = position.unsqueeze(1).unsqueeze(-1).expand({B, H, sampled, d});
    const int64_t from_queries = sampled / 2;
    auto landmarks =
        torch::cat({qs.gather(2, gather_index.narrow(2, 0, from_queries)),
                    ks.gather(2, gather_index.narrow(2, from_queries, sampled - from_queries))},
                   2);  // (B, H, a c, d)

    // Sum each group of a sampled columns into one landmark column.
    auto accumulate = [&](const torch::Tensor& t) {  // (B, H, rows, a c) -> (B, H, rows, c)
      return a == 1 ? t : t.view({B, H, t.size(2), a, c}).sum(-2);
    };
    auto c_q = accumulate(gaussian_kernel(qs, landmarks));  // (B, H, L, c)
    auto c_k = accumulate(gaussian_kernel(ks, landmarks))   // (B, H, L, c), pads zeroed
                   .masked_fill(padded_key_rows(key_mask), 0.0);
    auto w = gaussian_kernel(landmarks, landmarks).view({B, H, a, c, a, c}).sum({2, 4}) +
             kRegularizer * torch::eye(c, q.options());  // (B, H, c, c)
    // Symmetric normalisation brings the spectrum into (0, 1] before the iterative inverse.
    auto d_inv_sqrt = w.sum(-1).rsqrt();  // (B, H, c)
    auto normalized = d_inv_sqrt.unsqueeze(-1) * w * d_inv_sqrt.unsqueeze(-2);
    auto middle = d_inv_sqrt.unsqueeze(-1) *
                  iterative_pinv(normalized, iterations_, skyformer_code_) *
                  d_inv_sqrt.unsqueeze(-2);                     // (B, H, c, c)
    auto context = torch::matmul(c_k.transpose(-2, -1), v);     // (B, H, c, d)
    return torch::matmul(c_q, torch::matmul(middle, context));  // (B, H, L, d)
  }

  int64_t accumulation() const { return accumulation_; }
  int64_t columns() const { return columns_; }
  int64_t iterations() const { return iterations_; }

 private:
  int64_t accumulation_, iterations_, columns_ = 1;
  bool skyformer_code_;  // convention skyformer_code: the code's batch-wide pinv start
  StepDraw draw_;
  torch::Tensor draw_seed_;  // (1) int64: the layer seed's bits, restored from checkpoints
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<SkyformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const SkyformerAttention&>(instance);
  if (self.columns() >= s.length) return quadratic_attention_flops(s);  // the exact branch
  const double bh = static_cast<double>(s.batch * s.heads), L = static_cast<double>(s.length),
               d = static_cast<double>(s.head_dim), c = static_cast<double>(self.columns()),
               sampled = c * static_cast<double>(self.accumulation());
  // kappa(q, .), kappa(k, .) on the a c sampled columns, kappa(landmarks, landmarks), then
  // C_k^T v, middle (.), C_q (.), and four c x c x c products per pseudo-inverse iteration.
  const double kernels = 2 * (2 * bh * L * sampled * d) + 2 * bh * sampled * sampled * d;
  const double products = 2 * (2 * bh * L * c * d) + 2 * bh * c * c * d;
  const double pinv = static_cast<double>(self.iterations()) * 4 * (2 * bh * c * c * c);
  const double forward = kernels + products + pinv;
  return {forward, 2 * forward};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return gaussian_attention_reference(q, k, v, key_mask);
}

}  // namespace lra::backends::skyformer
