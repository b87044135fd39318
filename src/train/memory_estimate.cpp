#include "train/memory_estimate.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>

#include "config/tasks.h"
#include "model/transformer.h"
#include "util/log.h"

namespace lra {
namespace {

constexpr double kFloat = 4.0;  // bytes of a float32, the training precision of every tensor

bool generates_images(const Config& config) {
  const TaskSpec* task = find_task(config.task);
  return task && task->generator == TaskGenerator::kPathfinder;
}

double linear(double in, double out) {
  return in * out + out;  // weight and bias
}

std::string gib(double bytes) {
  return log::format("%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
}

// The cgroup v2 (memory.max) or v1 (memory.limit_in_bytes) limit of this process, or 0.
double cgroup_limit_bytes() {
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(path);
    std::string text;
    if (in >> text && text != "max") {
      try {
        return std::stod(text);
      } catch (const std::exception&) {
      }
    }
  }
  return 0;
}

}  // namespace

double parameter_count(const ModelConfig& m, const ModelShape& shape) {
  const double dim = static_cast<double>(m.dim);
  const double qkv = static_cast<double>(m.qkv_width());
  const double positions = static_cast<double>(shape.max_length) + (m.pooling == "cls" ? 1 : 0);
  double n = static_cast<double>(shape.vocab_size) * dim;  // token embedding
  if (m.pos_embedding == "learned") n += positions * dim;
  if (m.pooling == "cls") n += dim;
  const double block = 2 * (2 * dim) + 3 * linear(dim, qkv) + linear(qkv, dim) +
                       linear(dim, static_cast<double>(m.mlp_dim)) +
                       linear(static_cast<double>(m.mlp_dim), dim);
  n += static_cast<double>(m.layers) * block + 2 * dim;  // blocks, final LayerNorm
  const double pooled = !shape.two_tower ? dim : m.interaction == "nli" ? 4 * dim : 2 * dim;
  n += linear(pooled, static_cast<double>(m.head_hidden)) +
       linear(static_cast<double>(m.head_hidden), static_cast<double>(shape.num_classes));
  return n;
}

MemoryEstimate estimate_training_memory(const Config& config, const ModelShape& shape) {
  MemoryEstimate e;
  const ModelConfig& m = config.model;
  e.parameters = parameter_count(m, shape);
  // Weights, gradients, AdamW's first and second moments, and the best model's copy.
  e.training_state = 5 * e.parameters * kFloat;
  // Per token and layer the backward needs at least the block's input, both LayerNorm outputs,
  // q, k, v, the attention output and the MLP's hidden layer (before and after GELU).
  const TrainConfig& t = config.train;
  const double chunk =
      std::ceil(static_cast<double>(t.batch_size) / static_cast<double>(t.grad_accum)) *
      (shape.two_tower ? 2 : 1);
  const double qkv = static_cast<double>(m.qkv_width());
  const double per_token_layer = 3 * static_cast<double>(m.dim) + 4 * qkv + 2 * m.mlp_dim;
  e.activations = chunk * static_cast<double>(shape.max_length) * static_cast<double>(m.layers) *
                  per_token_layer * kFloat;
  e.data = synthetic_data_bytes(config);
  return e;
}

double synthetic_data_bytes(const Config& config) {
  if (config.data.source != "synthetic") return 0;
  if (generates_images(config)) {
    const double side = config.data.pathfinder.resolution > 0
                            ? static_cast<double>(config.data.pathfinder.resolution)
                            : static_cast<double>(task_spec(config.task).image_side);
    return static_cast<double>(config.data.pathfinder.images) * side * side;  // uint8 pixels
  }
  const auto& s = config.data.synthetic;
  // At least one byte per padded token (the narrowest token type).
  return static_cast<double>(s.train_size + s.val_size + s.test_size) *
         static_cast<double>(config.data.max_length);
}

double available_memory_bytes() {
  const double physical =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  const double limit = cgroup_limit_bytes();
  return limit > 0 ? std::min(physical, limit) : physical;
}

void check_fits_in_memory(const Config& config, const MemoryEstimate& e, double available) {
  if (e.total() <= available) return;
  const ModelConfig& m = config.model;
  const TrainConfig& t = config.train;
  std::string msg = "the run cannot fit in memory: it needs at least " + gib(e.total()) +
                    ", and this machine has " + gib(available) + ".";
  if (e.training_state > 0)
    msg += log::format(
        "\n  parameters: %.3g (model.dim %ld, model.mlp_dim %ld, model.layers %ld, with the "
        "data's vocabulary and classes) -> %s with gradients, AdamW's moments and the best copy",
        e.parameters, m.dim, m.mlp_dim, m.layers, gib(e.training_state).c_str());
  if (e.activations > 0)
    msg += log::format(
        "\n  activations of one step: %s (train.batch_size %ld / train.grad_accum %ld examples "
        "at a time, data.max_length %ld, model.layers %ld)",
        gib(e.activations).c_str(), t.batch_size, t.grad_accum, config.data.max_length, m.layers);
  if (e.data > e.total() / 100)  // a line of 0.0 GiB would only distract
    msg += "\n  generated data: " + gib(e.data) +
           (generates_images(config)
                ? " (data.pathfinder.images, data.pathfinder.resolution)"
                : " (data.synthetic.train_size + val_size + test_size, data.max_length)");
  const double largest = std::max({e.training_state, e.activations, e.data});
  msg += largest == e.activations
             ? "\nlower train.batch_size or data.max_length, or raise train.grad_accum"
         : largest == e.data ? "\ngenerate fewer examples or shorter ones"
                             : "\nlower model.dim, model.mlp_dim or model.layers (or, if the "
                               "data's vocab_size or num_classes is wrong, fix the data)";
  throw std::runtime_error(msg);
}

}  // namespace lra
