#include "bench/kernel_error_bench.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "attention/random_feature_attention.h"
#include "attention/registry.h"
#include "bench/checkpoint_inputs.h"
#include "config/schema.h"
#include "train/device.h"
#include "util/format.h"
#include "util/stats.h"

namespace lra::bench {
namespace {

// The kernels to measure a method with: the requested ones it computes when it reads
// attention.kernel, else the kernel it approximates ("" when its line names none).
std::vector<std::string> kernels_of(const BackendSpec& spec,
                                    const std::vector<std::string>& requested) {
  if (!spec.reads_key("kernel"))
    return spec.kernels.empty() ? std::vector<std::string>{""} : spec.kernels;
  std::vector<std::string> kernels;
  for (const auto& kernel : requested)
    if (spec.accepts_kernel(kernel)) kernels.push_back(kernel);
  return kernels;
}

// The values of `key` to measure a method with: the requested ones when it reads the key, else
// "" (not applicable).
std::vector<std::string> values_of(const BackendSpec& spec, const std::string& key,
                                   const std::vector<std::string>& requested) {
  return spec.reads_key(key) ? requested : std::vector<std::string>{""};
}

struct Variant {
  std::string kernel, component, sampler;  // "" = the backend does not read the key
};

struct ErrorPoint {
  std::string method;
  Variant variant;
  int64_t features;
  MeanStd gram, attention;
};

// q, k, v: (1, heads, length, head_dim), N(0, scale^2) for q and k, N(0, 1) for v; all real
// tokens. Input draw i is shared by every method and m, so the comparison is paired.
std::vector<torch::Tensor> random_qkv(const KernelErrorOptions& o, int64_t index,
                                      const torch::Device& device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(10007 + index));
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  std::vector<torch::Tensor> qkv;
  for (int i = 0; i < 3; ++i) {
    auto t = torch::randn({1, o.heads, o.length, o.head_dim}, gen, opts);
    qkv.push_back((i < 2 ? t * o.qk_scale : t).to(device));
  }
  return qkv;
}

ErrorPoint measure(const KernelErrorOptions& o, const std::string& method, const Variant& variant,
                   int64_t m, const torch::Device& device,
                   const std::vector<torch::Tensor>& fixed_qkv) {
  AttentionConfig settings;
  if (!variant.kernel.empty()) settings.kernel = variant.kernel;
  if (!variant.component.empty()) settings.component = variant.component;
  if (!variant.sampler.empty()) settings.weight_sampler = variant.sampler;
  // m sizes every approximation: features, Nystromformer landmarks, Linformer's k.
  settings.features = m;
  settings.num_landmarks = m;
  settings.linformer_k = m;
  settings.row_norm = o.row_norm;
  const AttentionConfig config = with_backend(settings, method);
  const auto& reference = attention_implementation(method).reference;
  std::vector<double> gram_errors, attention_errors;
  torch::NoGradGuard no_grad;
  for (int64_t seed = 0; seed < o.seeds; ++seed) {
    auto qkv = fixed_qkv.empty() ? random_qkv(o, seed, device) : fixed_qkv;
    AttentionContext context{qkv[0].size(1), qkv[0].size(3), 0.0, static_cast<uint64_t>(seed)};
    context.max_length = qkv[0].size(2);
    auto backend = make_attention(config, context);
    backend->to(device, torch::kFloat64);
    backend->eval();
    auto mask = torch::ones({1, qkv[0].size(2)}, qkv[0].options());
    // Only random-feature backends have a Gram matrix of features.
    if (auto rf = std::dynamic_pointer_cast<RandomFeatureAttention>(backend)) {
      auto phi = rf->features(qkv[0], qkv[1], mask, /*stabilized=*/false);
      auto gram = torch::matmul(phi.query, phi.key.transpose(-2, -1));  // (1, H, L, L)
      auto exact = rf->exact_kernel(qkv[0], qkv[1]);                    // (1, H, L, L)
      gram_errors.push_back(((gram - exact).norm() / exact.norm()).item<double>());
    }
    auto out = backend->forward(qkv[0], qkv[1], qkv[2], mask);
    auto exact_out = reference(qkv[0], qkv[1], qkv[2], mask, config);
    attention_errors.push_back(((out - exact_out).norm() / exact_out.norm()).item<double>());
  }
  return {method, variant, m, mean_std(gram_errors), mean_std(attention_errors)};
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "—" : s;
}

// "—" for no values (a backend without features has no Gram error).
std::string fmt(const MeanStd& x) {
  if (x.n == 0) return "—";
  return fixed(x.mean, 4) + " ± " + fixed(x.std, 4);
}

// Empty for no values.
std::string csv_value(double value, const MeanStd& of) {
  std::ostringstream s;
  s << std::setprecision(10) << value;
  return of.n == 0 ? std::string() : s.str();
}

}  // namespace

std::vector<std::string> approximate_backend_names() {
  std::vector<std::string> names;
  for (const auto& spec : attention_backends())
    if (!spec.exact()) names.push_back(spec.name);
  return names;
}

int run_kernel_error(const KernelErrorOptions& o) {
  const torch::Device device = pick_device(o.device);
  std::vector<ErrorPoint> points;
  const auto fixed_qkv = o.run.empty() ? std::vector<torch::Tensor>()
                                       : checkpoint_qkv(o.run, o.layer, o.example, device);
  for (const auto& method : o.methods) {
    const BackendSpec& spec = attention_backend(method);
    for (const auto& kernel : kernels_of(spec, o.kernels))
      for (const auto& component : values_of(spec, "component", o.components))
        for (const auto& sampler : values_of(spec, "weight_sampler", o.weight_samplers)) {
          const Variant variant{kernel, component, sampler};
          for (int64_t m : o.features) {
            try {
              points.push_back(measure(o, method, variant, m, device, fixed_qkv));
            } catch (const std::invalid_argument& e) {  // a combination the backend rejects
              std::cerr << "kernel-error: skipped " << method << " " << sampler << ": " << e.what()
                        << "\n";
              break;
            }
          }
        }
  }
  if (fixed_qkv.empty())
    std::cout << "kernel-error: L=" << o.length << " head_dim=" << o.head_dim
              << " heads=" << o.heads << " q,k ~ N(0, " << o.qk_scale << "^2) v ~ N(0, 1)";
  else
    std::cout << "kernel-error: q, k, v of " << o.run << " layer " << o.layer
              << ", validation example " << o.example << " (L=" << fixed_qkv[0].size(2)
              << " real tokens, heads=" << fixed_qkv[0].size(1)
              << ", head_dim=" << fixed_qkv[0].size(3) << ")";
  std::cout << " seeds=" << o.seeds << " row_norm=" << o.row_norm << " device=" << o.device << "\n"
            << "gram = ||K^ - K||_F / ||K||_F; attention = ||out - exact||_F / ||exact||_F "
               "(exact: the backend each method approximates); mean ± std over seeds\n\n";
  std::cout
      << "| method | kernel | component | weight sampler | m | gram error | attention error |\n"
      << "|---|---|---|---|---:|---|---|\n";
  for (const auto& p : points)
    std::cout << "| " << p.method << " | " << or_dash(p.variant.kernel) << " | "
              << or_dash(p.variant.component) << " | " << or_dash(p.variant.sampler) << " | "
              << p.features << " | " << fmt(p.gram) << " | " << fmt(p.attention) << " |\n";
  if (!o.csv.empty()) {
    std::ofstream csv(o.csv);
    if (!csv) {
      std::cerr << "kernel-error: cannot write " << o.csv << "\n";
      return 1;
    }
    csv << "method,kernel,component,weight_sampler,features,seeds,length,head_dim,qk_scale,"
           "gram_error_mean,gram_error_std,attention_error_mean,attention_error_std\n";
    csv << std::setprecision(10);
    for (const auto& p : points)
      csv << p.method << "," << p.variant.kernel << "," << p.variant.component << ","
          << p.variant.sampler << "," << p.features << "," << o.seeds << "," << o.length << ","
          << o.head_dim << "," << o.qk_scale << "," << csv_value(p.gram.mean, p.gram) << ","
          << csv_value(p.gram.std, p.gram) << "," << p.attention.mean << "," << p.attention.std
          << "\n";
  }
  return 0;
}

}  // namespace lra::bench
