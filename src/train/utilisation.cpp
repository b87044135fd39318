#include "train/utilisation.h"

#include <chrono>
#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "attention/registry.h"
#include "train/system_info.h"
#include "util/stats.h"

namespace lra {

double block_linear_forward_flops(int64_t batch, int64_t length, int64_t dim, int64_t qkv_dim,
                                  int64_t mlp_dim) {
  const auto tokens = static_cast<double>(batch * length);
  const double weights = 3.0 * static_cast<double>(dim * qkv_dim) +
                         static_cast<double>(qkv_dim * dim) +
                         2.0 * static_cast<double>(dim * mlp_dim);
  return 2.0 * tokens * weights;
}

StepFlops training_step_flops(const Config& config, int64_t batch, int64_t length) {
  const ModelConfig& m = config.model;
  const int64_t qkv = m.qkv_dim > 0 ? m.qkv_dim : m.dim;
  const int64_t sequences = batch * (config.task == "retrieval" ? 2 : 1);
  const int64_t positions = length + (m.pooling == "cls" ? 1 : 0);
  // A throwaway instance: some counts depend on what the backend drew (SchoenbAt's degrees).
  AttentionContext context{m.heads, qkv / m.heads, 0.0, static_cast<uint64_t>(config.seed), {}};
  context.max_length = positions;
  const AttentionPtr instance = make_attention(config.attention, context);
  const AttentionShape shape{sequences, m.heads, positions, qkv / m.heads,
                             config.attention.features};
  const FlopCount attention =
      attention_implementation(config.attention.type).flops(shape, *instance);
  const double linear = block_linear_forward_flops(sequences, positions, m.dim, qkv, m.mlp_dim);
  StepFlops f;
  f.forward = static_cast<double>(m.layers) * (linear + attention.forward);
  f.backward = static_cast<double>(m.layers) * (2.0 * linear + attention.backward);
  return f;
}

double measure_matmul_gflops(const c10::Device& device, int64_t n, int repeats,
                             c10::ScalarType dtype) {
  auto opts = torch::TensorOptions().device(device).dtype(dtype);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  auto c = torch::empty({n, n}, opts);
  std::vector<double> seconds;
  for (int i = 0; i <= repeats; ++i) {  // the first run warms up and is not counted
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    torch::matmul_out(c, a, b);
    synchronize(device);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i > 0) seconds.push_back(s);
  }
  return 2.0 * std::pow(static_cast<double>(n), 3) / median(seconds) / 1e9;
}

}  // namespace lra
