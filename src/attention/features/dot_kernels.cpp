#include "attention/features/dot_kernels.h"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/scaling_normalization.h"
#include "attention_spec/backend_spec.h"
#include "util/strings.h"

namespace lra {

DotKernel parse_dot_kernel(const std::string& name) {
  if (name == "exp") return DotKernel::kExp;
  if (name == "inverse") return DotKernel::kInverse;
  if (name == "logi") return DotKernel::kLogi;
  if (name == "trigh") return DotKernel::kTrigh;
  if (name == "sqrt") return DotKernel::kSqrt;
  throw std::invalid_argument("attention.kernel: unknown kernel '" + name +
                              "'; expected one of: " + join(dot_kernel_names(), " | "));
}

torch::Tensor dot_kernel_value(DotKernel kernel, const torch::Tensor& t) {
  switch (kernel) {
    case DotKernel::kExp:
      return torch::exp(t);
    case DotKernel::kInverse:
      return 1.0 / (1.0 - t);
    case DotKernel::kLogi:
      return 1.0 - torch::log1p(-t);
    case DotKernel::kTrigh:
      // cosh + sinh is e^t; written out so the kernel is the one the paper names.
      return torch::cosh(t) + torch::sinh(t);
    case DotKernel::kSqrt:
      return 2.0 - torch::sqrt(1.0 - t);
  }
  throw std::logic_error("dot_kernel_value: unhandled kernel");
}

std::vector<double> maclaurin_coefficients(DotKernel kernel, int64_t max_degree) {
  std::vector<double> a(static_cast<size_t>(max_degree + 1), 0.0);
  a[0] = 1.0;  // f(0) = 1 for all five kernels
  // Running binomial(1/2, n), for -sqrt(1 - t) = -sum_n binom(1/2, n) (-t)^n.
  double half_binom = 1.0;
  double factorial = 1.0;
  for (int64_t n = 1; n <= max_degree; ++n) {
    factorial *= static_cast<double>(n);
    half_binom *= (0.5 - static_cast<double>(n - 1)) / static_cast<double>(n);
    double& an = a[static_cast<size_t>(n)];
    switch (kernel) {
      case DotKernel::kExp:
      case DotKernel::kTrigh:
        an = 1.0 / factorial;
        break;
      case DotKernel::kInverse:
        an = 1.0;
        break;
      case DotKernel::kLogi:
        an = 1.0 / static_cast<double>(n);
        break;
      case DotKernel::kSqrt:
        an = -half_binom * ((n % 2 == 0) ? 1.0 : -1.0);
        break;
    }
  }
  return a;
}

torch::Tensor maclaurin_series(DotKernel kernel, const torch::Tensor& t, int64_t max_degree) {
  const auto a = maclaurin_coefficients(kernel, max_degree);
  // Horner, highest degree first.
  auto acc = torch::full_like(t, a.back());
  for (int64_t n = max_degree - 1; n >= 0; --n) acc = acc * t + a[static_cast<size_t>(n)];
  return acc;
}

torch::Tensor dot_kernel_weights(DotKernel kernel, const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& key_mask, bool causal, double eps) {
  auto t = torch::matmul(x, y.transpose(-2, -1));  // (B, H, L, L)
  auto is_pad = padded_key_columns(key_mask);      // (B, 1, 1, L)
  // Masking t before f keeps f's argument harmless (and its gradient finite) at excluded keys.
  if (causal) {
    const int64_t L = t.size(-1);
    auto future = torch::ones({L, L}, torch::TensorOptions().dtype(torch::kBool).device(t.device()))
                      .triu(1);  // (L, L)
    is_pad = is_pad.logical_or(future);
  }
  auto w = dot_kernel_value(kernel, t.masked_fill(is_pad, 0.0)).masked_fill(is_pad, 0.0);
  return w / w.sum(-1, /*keepdim=*/true).clamp_min(eps);
}

torch::Tensor dot_kernel_attention_reference(DotKernel kernel, const torch::Tensor& q,
                                             const torch::Tensor& k, const torch::Tensor& v,
                                             const torch::Tensor& key_mask, bool causal,
                                             double eps) {
  auto weights = dot_kernel_weights(kernel, schoenbat_normalize(q), schoenbat_normalize(k),
                                    key_mask, causal, eps);  // (B, H, L, L)
  return torch::matmul(weights, v);                          // (B, H, L, D)
}

}  // namespace lra
