#include "bench/kernel_variance_bench.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "attention/random_feature_attention.h"
#include "attention/registry.h"
#include "bench/checkpoint_inputs.h"
#include "bench/estimator_variance.h"
#include "config/schema.h"
#include "util/format.h"

namespace lra::bench {
namespace {

struct Estimator {
  std::string backend, component;
};

const std::map<std::string, Estimator>& estimator_table() {
  static const std::map<std::string, Estimator> table = {
      {"trigonometric", {"favor", "trigonometric"}},
      {"positive", {"favor", "positive"}},
      {"oprf", {"favor", "oprf"}},
      {"saderf", {"favor", "saderf"}},
      {"favor_sharp", {"favor_sharp", ""}}};
  return table;
}

struct Point {
  std::string estimator;
  int64_t head_dim = 0, features = 0;
  double sigma = 0.0;
  // Exact (estimator_variance.h), over pairs and input sets: ln of the mean Var/K^2, the mean of
  // ln Var/K^2, and the mean and the largest ln(Var_FAVOR+ / Var_this) of a pair.
  double log_mean_exact = 0.0, mean_log_exact = 0.0, gain_mean = 0.0, gain_max = -INFINITY;
  double sampled_rel_mse = 0.0;    // mean over pairs of the draws' mean (K^ - K)^2 / K^2
  double attention_rel_mse = 0.0;  // mean over draws of |out - exact|^2 / |exact|^2
};

// x-space inputs of input set `index`: q, k, v (1, 1, L, d) float64 with x = q d^-1/4 ~
// N(0, sigma^2). Shared by every estimator and m, so their comparison is paired.
std::vector<torch::Tensor> random_inputs(int64_t d, int64_t length, double sigma, int64_t index) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(7919 * d + index));
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const double q_scale = sigma * std::pow(static_cast<double>(d), 0.25);
  std::vector<torch::Tensor> qkv;
  for (int i = 0; i < 3; ++i) {
    auto t = torch::randn({1, 1, length, d}, gen, opts);
    qkv.push_back(i < 2 ? t * q_scale : t);
  }
  return qkv;
}

struct Sums {
  double sampled = 0.0, attention = 0.0;
  std::vector<torch::Tensor> log_exact, log_positive;  // per input set, (1, H, L, L)
  int64_t sets = 0, draws = 0;
};

void measure_set(const KernelVarianceOptions& o, const std::string& name, int64_t m,
                 const std::vector<torch::Tensor>& qkv, uint64_t seed, Sums& sums) {
  const Estimator& e = estimator_table().at(name);
  AttentionConfig settings;
  if (!e.component.empty()) settings.component = e.component;
  settings.weight_sampler = o.weight_sampler;
  settings.features = m;
  const AttentionConfig config = with_backend(settings, e.backend);
  AttentionContext context{qkv[0].size(1), qkv[0].size(3), 0.0, seed};
  context.max_length = qkv[0].size(2);
  auto backend = make_attention(config, context);
  backend->to(torch::kFloat64);
  backend->eval();
  auto rf = std::dynamic_pointer_cast<RandomFeatureAttention>(backend);
  auto mask = torch::ones({1, qkv[0].size(2)}, qkv[0].options());
  const auto exact = rf->exact_kernel(qkv[0], qkv[1]);  // (1, H, L, L)
  const auto exact_out =
      attention_implementation(e.backend).reference(qkv[0], qkv[1], qkv[2], mask, config);
  auto squared_error = torch::zeros_like(exact);
  for (int64_t r = 0; r < o.draws; ++r) {
    rf->redraw(r);
    auto phi = rf->features(qkv[0], qkv[1], mask, /*stabilized=*/false);
    squared_error += (torch::matmul(phi.query, phi.key.transpose(-2, -1)) - exact).pow(2);
    auto out = backend->forward(qkv[0], qkv[1], qkv[2], mask);
    sums.attention += ((out - exact_out).pow(2).sum() / exact_out.pow(2).sum()).item<double>();
  }
  sums.sampled += (squared_error / o.draws / exact.pow(2)).mean().item<double>();
  sums.log_exact.push_back(log_relative_variance(name, qkv[0], qkv[1], m));
  sums.log_positive.push_back(log_relative_variance("positive", qkv[0], qkv[1], m));
  ++sums.sets;
  sums.draws += o.draws;
}

Point measure(const KernelVarianceOptions& o, const std::string& name, int64_t d, int64_t m,
              double sigma, const std::vector<torch::Tensor>& checkpoint) {
  Sums sums;
  torch::NoGradGuard no_grad;
  if (checkpoint.empty()) {
    for (int64_t i = 0; i < o.inputs; ++i)
      measure_set(o, name, m, random_inputs(d, o.length, sigma, i), static_cast<uint64_t>(i), sums);
  } else {
    std::vector<torch::Tensor> qkv = {checkpoint[0] * sigma, checkpoint[1] * sigma, checkpoint[2]};
    measure_set(o, name, m, qkv, 0, sums);
  }
  Point p{name, d, m, sigma};
  p.sampled_rel_mse = sums.sampled / static_cast<double>(sums.sets);
  auto log_exact = torch::cat(sums.log_exact).flatten();
  auto gain = torch::cat(sums.log_positive).flatten() - log_exact;
  p.log_mean_exact = (torch::logsumexp(log_exact, 0) - std::log(log_exact.numel())).item<double>();
  p.mean_log_exact = log_exact.mean().item<double>();
  p.gain_mean = gain.mean().item<double>();
  p.gain_max = gain.max().item<double>();
  p.attention_rel_mse = sums.attention / static_cast<double>(sums.draws);
  return p;
}

std::string sci(double v) {
  if (std::isnan(v)) return "—";
  std::ostringstream s;
  s << std::setprecision(3) << std::scientific << v;
  return s.str();
}

std::string log_text(double v) {
  return std::isfinite(v) ? fixed(v, 2) : (v > 0 ? "inf" : "-inf");
}

void print_table(const std::vector<Point>& points) {
  std::cout << "| d | m | sigma | estimator | ln mean Var/K² | mean ln Var/K² | ln(Var₊/Var) mean "
               "| max | sampled MSE/K² | attention rel. MSE |\n"
               "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& p : points)
    std::cout << "| " << p.head_dim << " | " << p.features << " | " << p.sigma << " | "
              << p.estimator << " | " << log_text(p.log_mean_exact) << " | "
              << log_text(p.mean_log_exact) << " | " << log_text(p.gain_mean) << " | "
              << log_text(p.gain_max) << " | " << sci(p.sampled_rel_mse) << " | "
              << sci(p.attention_rel_mse) << " |\n";
}

void write_csv(const KernelVarianceOptions& o, const std::vector<Point>& points, int64_t length) {
  std::ofstream csv(o.csv);
  if (!csv) throw std::runtime_error(o.csv + ": cannot write");
  csv << "estimator,weight_sampler,head_dim,features,sigma,length,inputs,draws,source,"
         "log_mean_rel_var,mean_log_rel_var,log_gain_vs_positive_mean,log_gain_vs_positive_max,"
         "sampled_rel_mse,attention_rel_mse\n"
      << std::setprecision(10);
  for (const auto& p : points)
    csv << p.estimator << "," << o.weight_sampler << "," << p.head_dim << "," << p.features << ","
        << p.sigma << "," << length << "," << (o.run.empty() ? o.inputs : 1) << "," << o.draws
        << "," << (o.run.empty() ? "random" : o.run) << "," << p.log_mean_exact << ","
        << p.mean_log_exact << "," << p.gain_mean << "," << p.gain_max << "," << p.sampled_rel_mse
        << "," << p.attention_rel_mse << "\n";
  if (!csv) throw std::runtime_error(o.csv + ": cannot write");
}

}  // namespace

std::vector<std::string> kernel_variance_estimators() {
  return {"trigonometric", "positive", "oprf", "saderf", "favor_sharp"};
}

int run_kernel_variance(const KernelVarianceOptions& o) {
  const auto checkpoint =
      o.run.empty() ? std::vector<torch::Tensor>()
                    : checkpoint_qkv(o.run, o.layer, o.example, torch::Device(torch::kCPU));
  const std::vector<int64_t> dims =
      checkpoint.empty() ? o.head_dims : std::vector<int64_t>{checkpoint[0].size(3)};
  const int64_t length = checkpoint.empty() ? o.length : checkpoint[0].size(2);
  std::vector<Point> points;
  for (int64_t d : dims)
    for (int64_t m : o.features)
      for (double sigma : o.sigmas)
        for (const auto& name : o.estimators)
          points.push_back(measure(o, name, d, m, sigma, checkpoint));
  std::cout << "kernel-variance: "
            << (checkpoint.empty() ? "x, y ~ N(0, sigma^2 I_d)"
                                   : "q, k of " + o.run + " times sigma")
            << ", " << length << " queries x " << length << " keys per input set, "
            << (checkpoint.empty() ? o.inputs : 1) << " input sets, " << o.draws
            << " feature draws each, weight sampler " << o.weight_sampler << "\n"
            << "K = exp(x.y); Var/K² exact per (query, key) pair for i.i.d. N(0, I) rows "
               "(natural logs; Var₊ = FAVOR+'s); sampled MSE/K² = mean over pairs of the draws' "
               "(K^ - K)²/K² (the "
            << o.weight_sampler
            << " sampler; it misses heavy tails "
               "once Var/K² >> 1); attention rel. MSE = E|out - exact|²/|exact|²\n\n";
  print_table(points);
  if (!o.csv.empty()) write_csv(o, points, length);
  return 0;
}

}  // namespace lra::bench
