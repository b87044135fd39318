// Performer-family random features of the softmax kernel exp(q.k / sqrt(d)): one component
// function (attention.component) on one weight sampler (attention.weight_sampler), the matrix
// Spectraformer crosses. With x = q d^-1/4, y = k d^-1/4 and rows w of W (weight_samplers.h):
//   positive (PosRF, FAVOR+)  phi(x) = m^-1/2 exp(w.x - |x|^2 / 2)
//   oprf (FAVOR++, GERF)      phi(x) = m^-1/2 D exp(a |w|^2 + sqrt(1 - 4a) w.x - |x|^2 / 2),
//                             D = (1 - 4a)^(d/4), a the variance-optimal scalar per (batch, head)
//   saderf                    oprf on x Psi and y Psi^-1 (Psi diagonal, feature_parameters.h)
//   trigonometric (TrigRF)    phi(x) = m^-1/2 exp(|x|^2 / 2) [cos w.x, sin w.x] (2m features)
// E[phi(x)^T phi(y)] = exp(x.y) for every one when the rows are N(0, I) draws (and for any
// a < 1/8, any Psi); the structured samplers trade that for lower variance. Attention in linear
// time, keys times values first; the draw is shared by the heads of a layer and redrawn every
// attention.redraw_interval training steps. fastfood_learned trains FastFood's diagonals (S, G,
// B) with the model instead of redrawing them.
//
// Spectraformer's own code differs in ways that change what is estimated (docs/attention.md):
// its C = -(s + 1) / 2 makes positive and OPRF features estimate the Gaussian kernel
// exp(-|x - y|^2 / 2) rather than softmax's exp(x.y); its OPRF parameter averages over the
// batch per position (so queries and keys at different positions get different a, which biases
// the estimate); its SADERF draws a at random once. Here every component uses the published
// closed forms, per (batch, head) over the real tokens.
//
// attention.convention: skyformer_code computes the Performer of the Skyformer repository's code
// instead (skyformer_code_attention below).
#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/features/feature_maps.h"
#include "attention/features/feature_parameters.h"
#include "attention/features/random_features.h"
#include "attention/features/weight_samplers.h"
#include "attention/registry.h"
#include "attention/softmax_feature_attention.h"

namespace lra::backends::favor {
namespace {

// The data-dependent parameters of one call (float64, no gradient).
struct CallParameters {
  torch::Tensor a;    // (B, H): oprf, saderf
  torch::Tensor psi;  // (B, H, 1, d): saderf
};

// The Skyformer code's Performer (src/models/attention_performer.py on performer-pytorch's
// softmax_kernel): q, k scaled by d^-1/4 twice (so it estimates exp(q.k / d)), every feature
// m^-1/2 (exp(w.x - |x|^2/2 - max) + 1e-4) with the maximum taken per query row and over the
// whole key tensor (batch included), padded keys zeroed *before* the map (so they keep the
// feature m^-1/2 (exp(-max) + 1e-4) and enter the denominator), values masked.
torch::Tensor skyformer_code_attention(const torch::Tensor& q, const torch::Tensor& k,
                                       const torch::Tensor& v, const torch::Tensor& key_mask,
                                       const torch::Tensor& w) {
  constexpr double kFeatureEps = 1e-4;
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const double ratio = 1.0 / std::sqrt(static_cast<double>(w.size(0)));
  auto mask = key_mask.to(q.scalar_type()).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  auto x = q * scale, y = k * mask * scale;                             // (B, H, L, d)
  auto wt = w.to(q.dtype()).t();                                        // (d, m)
  auto proj_q = torch::matmul(x, wt), proj_k = torch::matmul(y, wt);    // (B, H, L, m)
  auto half_q = 0.5 * x.pow(2).sum(-1, true), half_k = 0.5 * y.pow(2).sum(-1, true);
  auto phi_q = ratio * (torch::exp(proj_q - half_q - proj_q.amax(-1, true)) + kFeatureEps);
  auto phi_k = ratio * (torch::exp(proj_k - half_k - proj_k.max()) + kFeatureEps);
  auto context = torch::matmul(phi_k.transpose(-2, -1), v * mask);       // (B, H, m, D)
  auto denominator = torch::matmul(phi_q, phi_k.sum(-2).unsqueeze(-1));  // (B, H, L, 1)
  return torch::matmul(phi_q, context) / denominator;                    // (B, H, L, D)
}

class FavorAttention : public SoftmaxFeatureAttention {
 public:
  FavorAttention(const AttentionConfig& config, const AttentionContext& context)
      : SoftmaxFeatureAttention(config, context),
        component_(config.component),
        learned_(config.weight_sampler == "fastfood_learned"),
        skyformer_code_(config.convention == "skyformer_code") {
    if (learned_) register_fastfood_factors();
  }

  Features features(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                    bool stabilized) override {
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    const CallParameters p = parameters(q, k, key_mask);
    auto x = q * scale, y = k * scale;  // (B, H, L, d)
    if (p.psi.defined()) {
      x = x * p.psi.to(x.dtype());
      y = y / p.psi.to(y.dtype());
    }
    auto w = weights().to(x.dtype());  // (m, d)
    if (component_ == "trigonometric") return trigonometric_features(x, y, w, key_mask, stabilized);
    auto log_q = log_features(x, w, p.a);  // (B, H, L, m)
    auto log_k = log_features(y, w, p.a);  // (B, H, L, m)
    return exp_features(log_q, log_k, key_mask, stabilized);
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    if (skyformer_code_) return skyformer_code_attention(q, k, v, key_mask, projection_);
    if (!learned_) return SoftmaxFeatureAttention::forward(q, k, v, key_mask);
    // The fast path's backward reaches q and k only; learned factors need autograd through W.
    const Features f = features(q, k, key_mask, /*stabilized=*/true);
    return linear_attention(f.query, f.key, v, key_mask, eps_);
  }

  FastMap fast_map(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                   double scale) override {
    const CallParameters p = parameters(q, k, key_mask);
    FastMap in{q, k, {}};
    if (p.psi.defined()) {
      in.queries = q * p.psi.to(q.dtype());
      in.keys = k / p.psi.to(k.dtype());
    }
    auto w = projection_.to(q.options());  // (m, d)
    if (component_ == "trigonometric") {
      in.map = make_trigonometric_feature_map(w.unsqueeze(0), scale);
    } else if (!p.a.defined()) {
      in.map = make_exp_feature_map(w.unsqueeze(0), torch::Tensor(), scale);
    } else {
      const int64_t BH = q.size(0) * q.size(1);
      auto a = p.a.reshape({BH, 1, 1});                                                // (BH, 1, 1)
      auto proj = (torch::sqrt(1.0 - 4.0 * a) * w.to(torch::kFloat64)).to(q.dtype());  // (BH,m,d)
      in.map = make_exp_feature_map(proj, gerf_offset(a, w).to(q.dtype()), scale);
    }
    return in;
  }

  void freeze_data_dependent_parameters(bool freeze) override {
    frozen_ = freeze;
    frozen_parameters_ = CallParameters{};
  }

  // Features per query and key: m, or 2m for the trigonometric pairs.
  int64_t feature_width() const {
    return component_ == "trigonometric" ? 2 * features_ : features_;
  }

 protected:
  void draw(at::Generator& gen) override {
    frozen_parameters_ = CallParameters{};
    if (!learned_) return SoftmaxFeatureAttention::draw(gen);
    if (!fastfood_.scale.defined()) return;  // the constructor draws once the factors exist
    const FastfoodFactors f = draw_fastfood_factors(features_, head_dim_, gen);
    torch::NoGradGuard no_grad;
    fastfood_.scale.set_(f.scale.to(fastfood_.scale.options()));
    fastfood_.gaussian.set_(f.gaussian.to(fastfood_.gaussian.options()));
    fastfood_.signs.set_(f.signs.to(fastfood_.signs.options()));
    assign_buffer(fastfood_.permutation, f.permutation);
    assign_buffer(projection_, fastfood_weights(fastfood_, features_, head_dim_));
  }

 private:
  void register_fastfood_factors() {
    auto gen = feature_generator(seed_, draw_index());
    const FastfoodFactors f = draw_fastfood_factors(features_, head_dim_, gen);
    fastfood_.scale = register_parameter("fastfood_scale", f.scale.to(torch::kFloat32));
    fastfood_.gaussian = register_parameter("fastfood_gaussian", f.gaussian.to(torch::kFloat32));
    fastfood_.signs = register_parameter("fastfood_signs", f.signs.to(torch::kFloat32));
    fastfood_.permutation = register_buffer("fastfood_permutation", f.permutation);
  }

  // (m, d) rows w: the drawn buffer, or for fastfood_learned the current factors (with autograd).
  torch::Tensor weights() const {
    return learned_ ? fastfood_weights(fastfood_, features_, head_dim_) : projection_;
  }

  CallParameters parameters(const torch::Tensor& q, const torch::Tensor& k,
                            const torch::Tensor& key_mask) {
    if (component_ == "positive" || component_ == "trigonometric") return {};
    if (frozen_parameters_.a.defined()) return frozen_parameters_;
    torch::NoGradGuard no_grad;
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    auto x = q.detach() * scale, y = k.detach() * scale;  // (B, H, L, d)
    CallParameters p;
    if (component_ == "saderf") {
      p.psi = saderf_scaling(x, y, key_mask);  // (B, H, 1, d)
      x = x * p.psi.to(x.dtype());
      y = y / p.psi.to(y.dtype());
    }
    p.a = oprf_optimal_a(x, y, key_mask);  // (B, H)
    if (frozen_) frozen_parameters_ = p;
    return p;
  }

  // a |w|^2 + log D per feature: a (.., 1, 1) float64, w (m, d) -> (.., 1, m) float64.
  static torch::Tensor gerf_offset(const torch::Tensor& a, const torch::Tensor& w) {
    const double d = static_cast<double>(w.size(1));
    auto w_sq = w.to(torch::kFloat64).pow(2).sum(-1);  // (m)
    return a * w_sq + 0.25 * d * torch::log1p(-4.0 * a);
  }

  // log phi(x) for the exponential components; x: (B, H, L, d), w: (m, d), a: (B, H) or
  // undefined (positive) -> (B, H, L, m).
  torch::Tensor log_features(const torch::Tensor& x, const torch::Tensor& w,
                             const torch::Tensor& a) const {
    auto projection = torch::matmul(x, w.t());  // (B, H, L, m): w.x
    auto rest = -0.5 * x.pow(2).sum(-1, true) - 0.5 * std::log(static_cast<double>(features_));
    if (!a.defined()) return projection + rest;
    auto a4 = a.unsqueeze(-1).unsqueeze(-1);  // (B, H, 1, 1)
    auto b = torch::sqrt(1.0 - 4.0 * a4).to(x.dtype());
    return b * projection + rest + gerf_offset(a4, w).to(x.dtype());
  }

  // x, y: (B, H, L, d), w: (m, d) -> (B, H, L, 2m) each; padded keys zero. stabilized drops
  // each query's exp(|x|^2 / 2) and m^-1/2 and divides the keys by m^1/2 times the largest
  // exp(|y|^2 / 2): the scaling of the fast path's map.
  Features trigonometric_features(const torch::Tensor& x, const torch::Tensor& y,
                                  const torch::Tensor& w, const torch::Tensor& key_mask,
                                  bool stabilized) const {
    const double norm = stabilized ? 1.0 : 1.0 / std::sqrt(static_cast<double>(features_));
    auto trig = [&](const torch::Tensor& z) {
      auto angle = torch::matmul(z, w.t());  // (B, H, L, m)
      return torch::cat({torch::cos(angle), torch::sin(angle)}, -1) * norm;
    };
    auto log_q = 0.5 * x.pow(2).sum(-1, true);  // (B, H, L, 1)
    auto log_k = (0.5 * y.pow(2).sum(-1, true))
                     .masked_fill(padded_key_rows(key_mask), -INFINITY);  // (B, H, L, 1)
    if (stabilized) {
      log_q = torch::zeros_like(log_q);
      auto key_max = log_k.detach().amax({-2, -1}, true);  // (B, H, 1, 1)
      log_k = log_k - key_max.masked_fill(torch::isinf(key_max), 0.0);
    }
    return {trig(x) * torch::exp(log_q), trig(y) * torch::exp(log_k)};
  }

  std::string component_;
  bool learned_;
  bool skyformer_code_;
  FastfoodFactors fastfood_;  // fastfood_learned: parameters (and the permutation buffer)
  bool frozen_ = false;
  CallParameters frozen_parameters_;  // held only while frozen_
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<FavorAttention>(config, context);
}

// The projections onto m directions and the m-feature contraction (2m for trigonometric);
// oprf and saderf add statistics over the sequence (O(L d) per (batch, head), not counted).
FlopCount flops(const AttentionShape& shape, const AttentionBackend& instance) {
  AttentionShape contracted = shape;
  if (const auto* favor = dynamic_cast<const FavorAttention*>(&instance))
    contracted.features = favor->feature_width();
  return linear_attention_flops(contracted, shape.features);
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::favor
