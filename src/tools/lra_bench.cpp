// lra_bench: measurements of the attention backends outside training, one subcommand each
// (src/bench/): attention (time, memory, FLOPs and achieved rate per backend and length),
// train-step (end-to-end training throughput per backend through the trainer) and kernel-error
// (approximation error against the exact attention), step-profile (where a training step's time
// goes, part by part), pathfinder (the data generator's speed and
// statistics). This file only parses arguments.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "attention_spec/backend_spec.h"
#include "bench/attention_bench.h"
#include "bench/kernel_error_bench.h"
#include "bench/kernel_variance_bench.h"
#include "bench/pathfinder_bench.h"
#include "bench/step_profile_bench.h"
#include "util/allocator.h"
#include "util/openmp_policy.h"

namespace {

// --backends of `attention`: the registered backends and, for each exact one, its plain
// reference formula as "<name>_reference".
std::vector<std::string> attention_bench_choices() {
  std::vector<std::string> choices;
  for (const auto& spec : lra::attention_backends()) {
    choices.push_back(spec.name);
    if (spec.exact()) choices.push_back(spec.name + "_reference");
  }
  return choices;
}

void register_kernel_error(CLI::App& app, lra::bench::KernelErrorOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "kernel-error", "Approximation error of the approximate attention backends vs exact");
  cmd->add_option("--methods", o.methods, "Approximate backends to measure")
      ->check(CLI::IsMember(lra::bench::approximate_backend_names()))
      ->capture_default_str();
  cmd->add_option("--kernels", o.kernels,
                  "Kernels, for the backends that read attention.kernel (the others measure the "
                  "kernel they approximate)")
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
  cmd->add_option("--components", o.components,
                  "favor: component functions to cross with the samplers")
      ->check(CLI::IsMember(lra::component_function_names()))
      ->capture_default_str();
  cmd->add_option("--weight-samplers", o.weight_samplers,
                  "favor, favor_sharp: weight samplers (rows of W)")
      ->check(CLI::IsMember(lra::weight_sampler_names()))
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
  cmd->callback([&o, &exit_code] { exit_code = lra::bench::run_kernel_error(o); });
}

void register_kernel_variance(CLI::App& app, lra::bench::KernelVarianceOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "kernel-variance",
      "Relative variance of random-feature estimates of exp(x.y) and of attention, by input scale");
  cmd->add_option("--estimators", o.estimators, "Estimators to measure")
      ->check(CLI::IsMember(lra::bench::kernel_variance_estimators()))
      ->capture_default_str();
  cmd->add_option("--sigmas", o.sigmas,
                  "Std of the kernel inputs x = q d^-1/4 (with --run: multipliers of the "
                  "checkpoint's q and k)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--head-dims,-d", o.head_dims, "Input dimensions d (random inputs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--features,-m", o.features, "Feature counts m")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--draws", o.draws, "Feature draws per input set")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--inputs", o.inputs, "Random input sets per point")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--length,-L", o.length, "Queries (and keys) per input set")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--weight-sampler", o.weight_sampler,
                  "Rows of W (gaussian = i.i.d., the closed form's and the papers' setting)")
      ->check(CLI::IsMember(lra::weight_sampler_names()))
      ->capture_default_str();
  cmd->add_option("--csv", o.csv, "Also write the table as CSV to this file");
  cmd->add_option("--run", o.run, "Take q, k, v from a trained run folder (config.yaml, best.pt)");
  cmd->add_option("--layer", o.layer, "With --run: encoder block")->capture_default_str();
  cmd->add_option("--example", o.example, "With --run: validation example index")
      ->capture_default_str();
  cmd->callback([&o, &exit_code] { exit_code = lra::bench::run_kernel_variance(o); });
}

void register_attention(CLI::App& app, lra::bench::AttentionBenchOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "attention", "Forward / forward+backward time, memory and GFLOP/s of each backend by length");
  cmd->add_option("--backends", o.backends,
                  "Backends (<exact backend>_reference = its plain reference formula, e.g. "
                  "softmax_reference = the unfused softmax, for comparison)")
      ->check(CLI::IsMember(attention_bench_choices()))
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
  cmd->add_option("--padded-fraction", o.padded_fraction,
                  "Pad the last floor(L x this) keys of every sequence (the masked case)")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option("--attention-dropout", o.attention_dropout,
                  "Attention-weight dropout, applied as in training (backends that form weights)")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option("--kernel", o.kernel, "kernelized / schoenbat kernel")
      ->check(CLI::IsMember(lra::dot_kernel_names()))
      ->capture_default_str();
  cmd->add_option(
      "--config", o.config,
      "Take the other attention and model settings (redraw, weight_sampler, max_degree, "
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
      ->check(CLI::IsMember(lra::attention_backend_names()))
      ->capture_default_str();
  cmd->add_option("--steps", o.steps,
                  "Optimizer steps per backend (the trainer leaves out the first min(10, steps/5))")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "LibTorch threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--json", o.json, "Write the results as JSON to this file");
  cmd->callback([&o, &exit_code] {
    lra::retain_freed_memory();  // as lra_train does
    exit_code = lra::bench::run_train_step_bench(o);
  });
}

void register_step_profile(CLI::App& app, lra::bench::StepProfileOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "step-profile", "Where a training step's time goes: each part of the model timed alone");
  cmd->add_option("--config,-c", o.config, "Task config (YAML)")->capture_default_str();
  cmd->add_option("--set,-s", o.overrides, "key.path=value overrides, as lra_train");
  cmd->add_option("--backends", o.backends, "Backends")
      ->check(CLI::IsMember(lra::attention_backend_names()))
      ->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Untimed runs per part")->capture_default_str();
  cmd->add_option("--repeats", o.repeats, "Timed runs per part (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "LibTorch threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--json", o.json, "Write the results as JSON to this file");
  cmd->add_option("--markdown", o.markdown, "Also write the table to this file");
  cmd->callback([&o, &exit_code] {
    lra::retain_freed_memory();  // as lra_train does
    exit_code = lra::bench::run_step_profile(o);
  });
}

void register_pathfinder(CLI::App& app, lra::bench::PathfinderBenchOptions& o, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "pathfinder", "Speed and statistics of the built-in Pathfinder / Path-X generator");
  cmd->add_option("--resolutions", o.resolutions, "Presets (32, 64, 128)")
      ->check(CLI::IsMember({32, 64, 128}))
      ->capture_default_str();
  cmd->add_option("--difficulties", o.difficulties, "Difficulties")->capture_default_str();
  cmd->add_option("--images", o.images, "Images per case")
      ->check(CLI::Range(int64_t{8}, int64_t{10000000}))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Generator seed")->capture_default_str();
  cmd->add_option("--grid", o.grid_dir, "Write pathfinder_samples_<resolution>.png here");
  cmd->add_option("--json", o.json, "Write the results as JSON to this file");
  cmd->add_option("--markdown", o.markdown, "Write the table to this file");
  cmd->callback([&o, &exit_code] { exit_code = lra::bench::run_pathfinder_bench(o); });
}

}  // namespace

int main(int argc, char** argv) {
  lra::wait_passively_unless_set(argv);
  CLI::App app{"lra_bench: measurements of the attention backends"};
  app.require_subcommand(1);
  lra::bench::KernelErrorOptions kernel_error;
  lra::bench::AttentionBenchOptions attention;
  lra::bench::TrainStepOptions train_step;
  int exit_code = 0;
  register_kernel_error(app, kernel_error, exit_code);
  lra::bench::KernelVarianceOptions kernel_variance;
  register_kernel_variance(app, kernel_variance, exit_code);
  register_attention(app, attention, exit_code);
  register_train_step(app, train_step, exit_code);
  lra::bench::PathfinderBenchOptions pathfinder;
  register_pathfinder(app, pathfinder, exit_code);
  lra::bench::StepProfileOptions step_profile;
  register_step_profile(app, step_profile, exit_code);
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
