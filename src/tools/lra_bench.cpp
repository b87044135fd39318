// lra_bench: measurements of the attention backends outside training. One subcommand per
// measurement, each registered by its own register_* function.
//
//   attention: time, memory, FLOPs and achieved rate per backend and length (src/bench/).
//   train-step: end-to-end training throughput per backend through the trainer (src/bench/).
//
//   kernel-error: for each random-feature method and kernel, the relative Frobenius error of the
//   feature Gram matrix against the exact kernel matrix, ||K^ - K|| / ||K||, and of the attention
//   output against the exact backend it approximates (softmax for favor and favor_sharp,
//   kernelized for schoenbat), over feature dimensions and seeds; mean and standard deviation per
//   point, as a Markdown table and optionally CSV.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "attention/attention.h"
#include "attention/dot_kernels.h"
#include "attention/random_feature_attention.h"
#include "bench/attention_bench.h"
#include "config/config.h"
#include "data/dataset.h"
#include "model/transformer.h"
#include "train/device.h"
#include "util/format.h"

namespace {

struct KernelErrorOptions {
  std::vector<std::string> methods{"favor", "favor_sharp", "schoenbat"};
  std::vector<std::string> kernels{"exp", "inverse", "logi", "trigh", "sqrt"};
  std::vector<int64_t> features{16, 32, 64, 128, 256, 512, 1024};
  int64_t seeds = 10;
  int64_t length = 256;
  int64_t head_dim = 32;
  int64_t heads = 1;
  double qk_scale = 0.5;
  bool orthogonal = true;
  std::string row_norm = "chi";
  std::string device = "cpu";
  std::string csv;
  std::string run;      // a run folder (config.yaml + best.pt): q, k, v from the trained model
  int64_t layer = 0;    // which encoder block's attention inputs (with --run)
  int64_t example = 0;  // which validation example (with --run)
};

struct MeanStd {
  double mean = 0.0;
  double std = 0.0;
};

MeanStd mean_std(const std::vector<double>& xs) {
  MeanStd r;
  for (double x : xs) r.mean += x / static_cast<double>(xs.size());
  if (xs.size() > 1) {
    for (double x : xs) r.std += (x - r.mean) * (x - r.mean);
    r.std = std::sqrt(r.std / static_cast<double>(xs.size() - 1));
  }
  return r;
}

struct ErrorPoint {
  std::string method, kernel;
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

// q, k, v: (1, heads, real tokens, head_dim) float64 from a trained model: what block
// `o.layer` attends with for validation example `o.example`, padded positions dropped.
std::vector<torch::Tensor> checkpoint_qkv(const KernelErrorOptions& o,
                                          const torch::Device& device) {
  auto config = lra::load_config(o.run + "/config.yaml");
  auto data = lra::load_task_data(config);
  lra::Classifier model(config.model, config.attention, data.vocab_size, data.max_length,
                        data.num_classes, data.train.tokens2.defined(),
                        static_cast<uint64_t>(config.seed));
  torch::load(model, o.run + "/best.pt");
  model->eval();
  torch::NoGradGuard no_grad;
  if (o.example < 0 || o.example >= data.val.size())
    throw std::invalid_argument("--example " + std::to_string(o.example) + " is outside the " +
                                std::to_string(data.val.size()) + " validation examples");
  auto batch = lra::gather_batch(data.val, {o.example});
  auto inputs = model->encoder()->attention_inputs(batch.tokens, o.layer);
  auto real = inputs[3][0].nonzero().squeeze(1);  // positions of real tokens
  std::vector<torch::Tensor> qkv;
  for (int i = 0; i < 3; ++i)
    qkv.push_back(inputs[i].index_select(2, real).to(device, torch::kFloat64));
  return qkv;
}

ErrorPoint measure(const KernelErrorOptions& o, const std::string& method,
                   const std::string& kernel, int64_t m, const torch::Device& device,
                   const std::vector<torch::Tensor>& fixed_qkv) {
  lra::AttentionConfig config;
  config.type = method;
  config.kernel = kernel;
  config.features = m;
  config.orthogonal = o.orthogonal;
  config.row_norm = o.row_norm;
  std::vector<double> gram_errors, attention_errors;
  torch::NoGradGuard no_grad;
  for (int64_t seed = 0; seed < o.seeds; ++seed) {
    auto qkv = fixed_qkv.empty() ? random_qkv(o, seed, device) : fixed_qkv;
    lra::AttentionContext ctx{qkv[0].size(1), qkv[0].size(3), 0.0, static_cast<uint64_t>(seed)};
    auto backend = lra::make_attention(config, ctx);
    backend->to(device, torch::kFloat64);
    backend->eval();
    auto rf = std::dynamic_pointer_cast<lra::RandomFeatureAttention>(backend);
    auto mask = torch::ones({1, qkv[0].size(2)}, qkv[0].options());
    auto phi = rf->features(qkv[0], qkv[1], mask, /*stabilized=*/false);
    auto gram = torch::matmul(phi.query, phi.key.transpose(-2, -1));  // (1, H, L, L)
    auto exact = rf->exact_kernel(qkv[0], qkv[1]);                    // (1, H, L, L)
    gram_errors.push_back(((gram - exact).norm() / exact.norm()).item<double>());
    auto out = backend->forward(qkv[0], qkv[1], qkv[2], mask);
    auto reference = rf->exact_attention(qkv[0], qkv[1], qkv[2], mask);
    attention_errors.push_back(((out - reference).norm() / reference.norm()).item<double>());
  }
  return {method, kernel, m, mean_std(gram_errors), mean_std(attention_errors)};
}

std::string fmt(const MeanStd& x) {
  return lra::fixed(x.mean, 4) + " ± " + lra::fixed(x.std, 4);
}

int run_kernel_error(const KernelErrorOptions& o) {
  const torch::Device device = lra::pick_device(o.device);
  std::vector<ErrorPoint> points;
  const auto fixed_qkv = o.run.empty() ? std::vector<torch::Tensor>() : checkpoint_qkv(o, device);
  for (const auto& method : o.methods) {
    // FAVOR+ and FAVOR# estimate the softmax kernel only.
    const std::vector<std::string> kernels =
        method == "schoenbat" ? o.kernels : std::vector<std::string>{"exp"};
    for (const auto& kernel : kernels)
      for (int64_t m : o.features)
        points.push_back(measure(o, method, kernel, m, device, fixed_qkv));
  }
  if (fixed_qkv.empty())
    std::cout << "kernel-error: L=" << o.length << " head_dim=" << o.head_dim
              << " heads=" << o.heads << " q,k ~ N(0, " << o.qk_scale << "^2) v ~ N(0, 1)";
  else
    std::cout << "kernel-error: q, k, v of " << o.run << " layer " << o.layer
              << ", validation example " << o.example << " (L=" << fixed_qkv[0].size(2)
              << " real tokens, heads=" << fixed_qkv[0].size(1)
              << ", head_dim=" << fixed_qkv[0].size(3) << ")";
  std::cout << " seeds=" << o.seeds << " orthogonal=" << (o.orthogonal ? "true" : "false")
            << " row_norm=" << o.row_norm << " device=" << o.device << "\n"
            << "gram = ||K^ - K||_F / ||K||_F; attention = ||out - exact||_F / ||exact||_F "
               "(exact: softmax for favor/favor_sharp, kernelized for schoenbat); mean ± std "
               "over seeds\n\n";
  std::cout << "| method | kernel | m | gram error | attention error |\n"
            << "|---|---|---:|---|---|\n";
  for (const auto& p : points)
    std::cout << "| " << p.method << " | " << p.kernel << " | " << p.features << " | "
              << fmt(p.gram) << " | " << fmt(p.attention) << " |\n";
  if (!o.csv.empty()) {
    std::ofstream csv(o.csv);
    if (!csv) {
      std::cerr << "kernel-error: cannot write " << o.csv << "\n";
      return 1;
    }
    csv << "method,kernel,features,seeds,length,head_dim,qk_scale,gram_error_mean,"
           "gram_error_std,attention_error_mean,attention_error_std\n";
    csv << std::setprecision(10);
    for (const auto& p : points)
      csv << p.method << "," << p.kernel << "," << p.features << "," << o.seeds << "," << o.length
          << "," << o.head_dim << "," << o.qk_scale << "," << p.gram.mean << "," << p.gram.std
          << "," << p.attention.mean << "," << p.attention.std << "\n";
  }
  return 0;
}

void register_kernel_error(CLI::App& app, KernelErrorOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "kernel-error", "Approximation error of the random-feature attention backends vs exact");
  cmd->add_option("--methods", o.methods, "Random-feature backends to measure")
      ->check(CLI::IsMember({"favor", "favor_sharp", "schoenbat"}))
      ->capture_default_str();
  cmd->add_option("--kernels", o.kernels, "SchoenbAt kernels (favor/favor_sharp: exp only)")
      ->check(CLI::IsMember(lra::dot_kernel_names()))
      ->capture_default_str();
  cmd->add_option("--features,-m", o.features, "Feature dimensions m, e.g. -m 16 32 ... 2048")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--seeds", o.seeds, "Independent draws (features and inputs) per point")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--length,-L", o.length, "Tokens per sequence")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--head-dim,-d", o.head_dim, "Head dimension")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--heads", o.heads, "Heads (each an independent input)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--qk-scale", o.qk_scale, "Standard deviation of the random q and k entries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--orthogonal", o.orthogonal, "FAVOR+/FAVOR#: orthogonal blocks")
      ->capture_default_str();
  cmd->add_option("--row-norm", o.row_norm, "FAVOR+/FAVOR#: chi | sqrt_d")
      ->check(CLI::IsMember({"chi", "sqrt_d"}))
      ->capture_default_str();
  cmd->add_option("--device", o.device, "cpu | cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--csv", o.csv, "Also write the table as CSV to this file");
  cmd->add_option("--run", o.run,
                  "Take q, k, v from a trained run folder (its config.yaml and best.pt) instead "
                  "of random inputs; seeds then vary the features only");
  cmd->add_option("--layer", o.layer, "With --run: encoder block (0-based)")->capture_default_str();
  cmd->add_option("--example", o.example, "With --run: validation example index")
      ->capture_default_str();
  cmd->callback([&o, &exit_code] { exit_code = run_kernel_error(o); });
}

void register_attention(CLI::App& app, lra::bench::AttentionBenchOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "attention", "Forward / forward+backward time, memory and GFLOP/s of each backend by length");
  cmd->add_option("--backends", o.backends,
                  "Backends (softmax_reference = the unfused softmax, for comparison)")
      ->check(CLI::IsMember(
          {"softmax", "softmax_reference", "kernelized", "favor", "favor_sharp", "schoenbat"}))
      ->capture_default_str();
  cmd->add_option("--lengths,-L", o.lengths, "Sequence lengths")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--scopes", o.scopes, "attention (one layer) | block (one encoder block)")
      ->check(CLI::IsMember({"attention", "block"}))
      ->capture_default_str();
  cmd->add_option("--passes", o.passes, "forward | forward+backward")
      ->check(CLI::IsMember({"forward", "forward+backward"}))
      ->capture_default_str();
  cmd->add_option("--batch,-b", o.batch, "Batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--heads", o.heads, "Heads")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--head-dim,-d", o.head_dim, "Head dimension")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--features,-m", o.features, "Random features m")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--mlp-dim", o.mlp_dim, "Block MLP width")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--kernel", o.kernel, "kernelized / schoenbat kernel")
      ->check(CLI::IsMember(lra::dot_kernel_names()))
      ->capture_default_str();
  cmd->add_option("--config", o.config,
                  "Take the other attention and model settings (redraw, orthogonal, max_degree, "
                  "pooling...) from this config; the flags above still set the shape");
  cmd->add_option("--warmup", o.warmup, "Untimed runs per case")->capture_default_str();
  cmd->add_option("--repeats", o.repeats, "Timed runs per case (fewer when over the time cap)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--time-cap", o.time_cap_s,
                  "Seconds: a run (or its prediction from the previous length) longer than this "
                  "stops the backend")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--memory-cap-mib", o.memory_cap_mib,
                  "A predicted peak above this stops the backend before it runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "LibTorch threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--chunk-rows", o.chunk_rows,
                  "Rows per slice of the linear attention (0 = automatic)")
      ->capture_default_str();
  cmd->add_option("--device", o.device, "cpu | cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--json", o.json, "Write every case as JSON to this file");
  cmd->add_option("--markdown", o.markdown, "Also write the tables to this file");
  cmd->callback([&o, &exit_code] { exit_code = lra::bench::run_attention_bench(o); });
}

void register_train_step(CLI::App& app, lra::bench::TrainStepOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand("train-step",
                                 "End-to-end training throughput per backend for a task config");
  cmd->add_option("--config,-c", o.config, "Task config (YAML)")->capture_default_str();
  cmd->add_option("--set,-s", o.overrides, "key.path=value overrides, as lra_train");
  cmd->add_option("--backends", o.backends, "Backends")
      ->check(CLI::IsMember({"softmax", "kernelized", "favor", "favor_sharp", "schoenbat"}))
      ->capture_default_str();
  cmd->add_option("--steps", o.steps,
                  "Optimizer steps per backend (the trainer leaves out the first min(10, steps/5))")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "LibTorch threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--json", o.json, "Write the results as JSON to this file");
  cmd->callback([&o, &exit_code] { exit_code = lra::bench::run_train_step_bench(o); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lra_bench: measurements of the attention backends"};
  app.require_subcommand(1);
  KernelErrorOptions kernel_error;
  lra::bench::AttentionBenchOptions attention;
  lra::bench::TrainStepOptions train_step;
  int exit_code = 0;
  register_kernel_error(app, kernel_error, exit_code);
  register_attention(app, attention, exit_code);
  register_train_step(app, train_step, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "lra_bench: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
