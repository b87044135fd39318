#include "bench/estimator_variance.h"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/features/feature_parameters.h"

namespace lra::bench {
namespace {

// ln(e^s - 1) without overflow for large s or cancellation for small s.
torch::Tensor log_expm1(const torch::Tensor& s) {
  return torch::where(s > 1.0, s + torch::log1p(-torch::exp(-s)), torch::log(torch::expm1(s)));
}

// ln(E[g^2] / K^2) - the part of the DERF second moment that is not ln(1): per pair, for
// parameters a (1, H, d) along the orthonormal directions u (1, H, d, d) (columns), applied to
// x, y (1, H, L, d).
torch::Tensor log_second_moment_ratio(const torch::Tensor& x, const torch::Tensor& y,
                                      const torch::Tensor& a, const torch::Tensor& u) {
  auto constant = (torch::log1p(-4.0 * a) - 0.5 * torch::log1p(-8.0 * a)).sum(-1);  // (1, H)
  auto c = (1.0 - 4.0 * a) / (1.0 - 8.0 * a);                                       // (1, H, d)
  auto xu = torch::matmul(x, u), yu = torch::matmul(y, u);  // (1, H, L, d) in u's coordinates
  auto z = xu.unsqueeze(-2) + yu.unsqueeze(-3);             // (1, H, L, L, d)
  auto quad = (2.0 * c.unsqueeze(-2).unsqueeze(-2) - 1.0) * z.pow(2);
  return constant.unsqueeze(-1).unsqueeze(-1) + quad.sum(-1);  // (1, H, L, L)
}

torch::Tensor identity_directions(const torch::Tensor& x) {
  const int64_t d = x.size(-1);
  return torch::eye(d, x.options()).expand({x.size(0), x.size(1), d, d});
}

}  // namespace

torch::Tensor log_relative_variance(const std::string& name, const torch::Tensor& q,
                                    const torch::Tensor& k, int64_t m) {
  torch::NoGradGuard no_grad;
  const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
  auto x = q.to(torch::kFloat64) * scale, y = k.to(torch::kFloat64) * scale;  // (1, H, L, d)
  auto mask = torch::ones({x.size(0), x.size(2)}, x.options());
  const double log_m = std::log(static_cast<double>(m));
  if (name == "trigonometric") {
    auto dist = (x.unsqueeze(-2) - y.unsqueeze(-3)).pow(2).sum(-1);  // |x - y|^2, (1, H, L, L)
    // cosh(s) - 1 = e^s (1 - e^-s)^2 / 2
    return dist - std::log(2.0) + 2.0 * torch::log1p(-torch::exp(-dist)) - log_m;
  }
  const int64_t d = x.size(-1);
  torch::Tensor a, u = identity_directions(x);
  if (name == "positive") {
    a = torch::zeros({x.size(0), x.size(1), d}, x.options());
  } else if (name == "oprf" || name == "saderf") {
    if (name == "saderf") {
      auto psi = saderf_scaling(x, y, mask);  // (1, H, 1, d)
      x = x * psi, y = y / psi;
    }
    a = oprf_optimal_a(x, y, mask).unsqueeze(-1).expand({x.size(0), x.size(1), d});
  } else if (name == "favor_sharp") {
    auto moment = pair_second_moment(x, y, mask);  // (1, H, d, d)
    auto [eigenvalues, eigenvectors] =
        torch::linalg_eigh(0.5 * (moment + moment.transpose(-2, -1)));
    a = gerf_optimal_a(eigenvalues.clamp_min(0.0));
    u = eigenvectors;
  } else {
    throw std::invalid_argument("no closed-form variance for estimator " + name);
  }
  return log_expm1(log_second_moment_ratio(x, y, a, u)) - log_m;
}

}  // namespace lra::bench
