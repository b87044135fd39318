// FAVOR# (Likhosherstov et al., arXiv 2302.00787): symmetric dense-exponential random features
// (SDERF) for the softmax kernel exp(x.y), x = q d^-1/4, y = k d^-1/4, with the closed-form
// parameters that minimise the mean log second moment over all (query, key) pairs of the
// attention being approximated:
//   f(w, x) = D exp(w^T A w + w^T B x + x^T C x),  w ~ N(0, I_d),
//   unbiased iff 8A < I, B^T (I - 4A)^-1 B = I, C = -I/2, D = det(I - 4A)^1/4;
//   optimum: M = mean over pairs (x_i + y_j)(x_i + y_j)^T = M1 + M2 + mu_x mu_y^T + mu_y mu_x^T
//   (M1, M2: second moments of the real queries and keys, mu: their means), M = U diag(l) U^T,
//   A = U diag(a) U^T with a = (1 - 2l - sqrt((2l + 1)^2 + 8l)) / 16, B = U diag(sqrt(1-4a)) U^T.
// Positive random features (FAVOR+) are the special case a = 0 (l = 0); that is what this map
// falls back to when a (batch, head) pair has no real token (statistics all zero).
// Parameters are computed per (batch element, head) without gradient: the estimator is unbiased
// for any valid parameters, they only set its variance, and eigh's backward is ill-conditioned
// at repeated eigenvalues. Rows w come from attention.weight_sampler, as in favor.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>

#include <torch/torch.h>

#include "attention/cpu/caller_state_parallel.h"
#include "attention/cpu/eigh.h"
#include "attention/cpu/gemm.h"
#include "attention/exact_softmax.h"
#include "attention/features/feature_maps.h"
#include "attention/features/feature_parameters.h"
#include "attention/registry.h"
#include "attention/softmax_feature_attention.h"

namespace lra::backends::favor_sharp {
namespace {

// eigh of each (batch, head)'s d x d matrix, the matrices split over the threads: LAPACK's own
// threading on matrices this small costs more than it gains (8 of 32 x 32: 0.4 ms on one thread,
// 1.2 ms on two). moment: (B, H, d, d) -> eigenvalues (B, H, d), eigenvectors (B, H, d, d).
std::pair<torch::Tensor, torch::Tensor> small_eigh(const torch::Tensor& moment) {
  if (!moment.is_cpu()) {
    auto [values, vectors] = torch::linalg_eigh(moment);
    return {values, vectors};
  }
  const int64_t d = moment.size(-1);
  auto flat = moment.reshape({-1, d, d});
  auto values = torch::empty({flat.size(0), d}, moment.options());
  auto vectors = torch::empty_like(flat);
  parallel_for_in_caller_state(0, flat.size(0), 1, [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;
    for (int64_t i = begin; i < end; ++i) {
      auto [l, u] = torch::linalg_eigh(flat[i]);
      values[i].copy_(l);
      vectors[i].copy_(u);
    }
  });
  auto sizes = moment.sizes().vec();
  sizes.pop_back();
  return {values.view(sizes), vectors.view(moment.sizes())};
}

struct SderfParameters {
  torch::Tensor projection;  // (B, H, m, d): rows B w (B symmetric), so w^T B x = row . x
  torch::Tensor omega_quad;  // (B, H, m): w^T A w
  torch::Tensor log_d;       // (B, H): log D = sum_l log(1 - 4 a_l) / 4
};

// The parameters for inputs x s, y s: the second moment is quadratic, so s^2 times x and y's.
// The tensor-op form: the reference, and what other devices run.
SderfParameters sderf_parameters_ops(const torch::Tensor& moment, const torch::Tensor& omega) {
  auto [eigenvalues, eigenvectors] = small_eigh(moment);  // (B, H, d), (B, H, d, d)
  auto a = gerf_optimal_a(eigenvalues.clamp_min(0.0));    // (B, H, d), all <= 0
  auto w = omega.to(moment.options());                    // (m, d)
  auto rotated = torch::matmul(w, eigenvectors);          // (B, H, m, d): U^T w per row
  SderfParameters p;
  p.omega_quad = (rotated.pow(2) * a.unsqueeze(-2)).sum(-1);  // (B, H, m)
  p.projection = torch::matmul(rotated * torch::sqrt(1.0 - 4.0 * a).unsqueeze(-2),
                               eigenvectors.transpose(-2, -1));  // (B, H, m, d)
  p.log_d = 0.25 * torch::log1p(-4.0 * a).sum(-1);               // (B, H)
  return p;
}

// The same per (batch, head) on raw float64 memory, the heads split over the threads: the tensor
// form is ~15 small ops whose fixed costs add up to a quarter of the attention's forward at
// L = 4096 (batch 4, 2 heads, m = 128).
SderfParameters sderf_parameters_cpu(const torch::Tensor& moment, const torch::Tensor& omega) {
  const int64_t B = moment.size(0), H = moment.size(1), d = moment.size(-1), m = omega.size(0);
  auto w = omega.to(torch::kCPU, torch::kFloat64).contiguous();  // (m, d)
  SderfParameters p;
  p.projection = torch::empty({B, H, m, d}, moment.options());
  p.omega_quad = torch::empty({B, H, m}, moment.options());
  p.log_d = torch::empty({B, H}, moment.options());
  at::parallel_for(0, B * H, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> ut(d * d), l(d), a(d), root(d), rotated(m * d);
    for (int64_t bh = b0; bh < b1; ++bh) {
      std::copy_n(moment.data_ptr<double>() + bh * d * d, d * d, ut.begin());
      cpu::symmetric_eigh(ut.data(), d, l.data());  // ut: U^T
      double log_d = 0;
      for (int64_t i = 0; i < d; ++i) {
        a[i] = gerf_optimal_a(std::max(l[i], 0.0));
        root[i] = std::sqrt(1.0 - 4.0 * a[i]);
        log_d += 0.25 * std::log1p(-4.0 * a[i]);
      }
      // rotated = W U (m, d); omega_quad = sum_l rotated^2 a_l; projection = rotated diag(root)
      // U^T.
      cpu::gemm(false, true, m, d, d, 1.0, w.data_ptr<double>(), d, ut.data(), d, 0.0,
                rotated.data(), d);
      double* quad = p.omega_quad.data_ptr<double>() + bh * m;
      for (int64_t f = 0; f < m; ++f) {
        double sum = 0;
        double* row = rotated.data() + f * d;
        for (int64_t i = 0; i < d; ++i) {
          sum += row[i] * row[i] * a[i];
          row[i] *= root[i];
        }
        quad[f] = sum;
      }
      cpu::gemm(false, false, m, d, d, 1.0, rotated.data(), d, ut.data(), d, 0.0,
                p.projection.data_ptr<double>() + bh * m * d, d);
      p.log_d.data_ptr<double>()[bh] = log_d;
    }
  });
  return p;
}

SderfParameters sderf_parameters(const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& mask, double scale,
                                 const torch::Tensor& omega, bool cpu_row_loops) {
  torch::NoGradGuard no_grad;
  auto moment =
      pair_second_moment(x.detach(), y.detach(), mask, cpu_row_loops).to(torch::kFloat64) *
      (scale * scale);  // (B, H, d, d)
  moment = (0.5 * (moment + moment.transpose(-2, -1))).contiguous();
  return cpu_row_loops && moment.is_cpu() ? sderf_parameters_cpu(moment, omega)
                                          : sderf_parameters_ops(moment, omega);
}

class FavorSharpAttention : public SoftmaxFeatureAttention {
 public:
  FavorSharpAttention(const AttentionConfig& config, const AttentionContext& context)
      : SoftmaxFeatureAttention(config, context) {}

  Features features(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                    bool stabilized) override {
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    auto x = q * scale;  // (B, H, L, d)
    auto y = k * scale;  // (B, H, L, d)
    const SderfParameters p = parameters(x, y, key_mask, 1.0);
    auto proj = p.projection.to(x.dtype());
    // Constant part of log f for every (batch, head, feature): log D + w^T A w - log(m) / 2.
    auto offset =
        (p.log_d.unsqueeze(-1) + p.omega_quad - 0.5 * std::log(static_cast<double>(features_)))
            .to(x.dtype())
            .unsqueeze(-2);                       // (B, H, 1, m)
    auto log_q = log_features(x, proj) + offset;  // (B, H, L, m)
    auto log_k = log_features(y, proj) + offset;  // (B, H, L, m)
    return exp_features(log_q, log_k, key_mask, stabilized);
  }

  FastMap fast_map(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                   double scale) override {
    const SderfParameters p = parameters(q, k, key_mask, scale);
    const int64_t BH = q.size(0) * q.size(1);
    auto proj = p.projection.to(q.dtype()).reshape({BH, features_, head_dim_});  // (BH, m, d)
    auto offset = (p.log_d.unsqueeze(-1) + p.omega_quad)
                      .to(q.dtype())
                      .reshape({BH, 1, features_});  // (BH, 1, m): log D + w^T A w
    return {q, k, make_exp_feature_map(proj, offset, scale)};
  }

  void freeze_data_dependent_parameters(bool freeze) override {
    frozen_ = freeze;
    frozen_parameters_ = SderfParameters{};
  }

 protected:
  void draw(at::Generator& gen) override {
    SoftmaxFeatureAttention::draw(gen);
    frozen_parameters_ = SderfParameters{};
  }

 private:
  // For x s, y s (s = scale).
  SderfParameters parameters(const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& key_mask, double scale) {
    if (frozen_parameters_.projection.defined()) return frozen_parameters_;
    SderfParameters p =
        sderf_parameters(x, y, key_mask, scale, projection_, execution_.cpu_row_loops);
    if (frozen_) frozen_parameters_ = p;
    return p;
  }

  // w^T B x - |x|^2 / 2; x: (B, H, L, d), proj: (B, H, m, d) -> (B, H, L, m).
  static torch::Tensor log_features(const torch::Tensor& x, const torch::Tensor& proj) {
    return torch::matmul(x, proj.transpose(-2, -1)) - 0.5 * x.pow(2).sum(-1, true);
  }

  bool frozen_ = false;
  SderfParameters frozen_parameters_;  // held only while frozen_
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<FavorSharpAttention>(config, context);
}

// FAVOR+'s products plus the statistics x^T x and y^T y over the sequence (d x d per (batch,
// head)), which take no gradient.
FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  FlopCount count = linear_attention_flops(shape, shape.features);
  const double rows = static_cast<double>(shape.batch * shape.heads * shape.length);
  const double d = static_cast<double>(shape.head_dim);
  count.forward += 2.0 * 2.0 * rows * d * d;
  return count;
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::favor_sharp
