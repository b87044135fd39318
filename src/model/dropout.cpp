#include "model/dropout.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/cpu/counter_dropout.h"

namespace lra {
namespace {

// Elements per mask row (one splitmix64 key each): whole rows per parallel task.
constexpr int64_t kRow = 4096;

template <typename T>
void apply_mask(T* data, int64_t n, uint64_t seed, double p) {
  const uint32_t threshold = cpu::drop_threshold(p);
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  const int64_t rows = (n + kRow - 1) / kRow;
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      cpu::apply_counter_dropout(data + r * kRow, std::min(kRow, n - r * kRow),
                                 cpu::splitmix64(seed, static_cast<uint64_t>(r)), 0, threshold,
                                 keep_scale);
  });
}

torch::Tensor masked_copy(const torch::Tensor& x, uint64_t seed, double p) {
  auto out = x.clone(at::MemoryFormat::Contiguous);  // one copy, whatever x's layout
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "counter_dropout",
                             [&] { apply_mask(out.data_ptr<scalar_t>(), out.numel(), seed, p); });
  return out;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class CounterDropout : public torch::autograd::Function<CounterDropout> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p) {
    const uint64_t seed = cpu::draw_dropout_seed();
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["p"] = p;
    return masked_copy(x, seed, p);
  }

  // Dropout is linear in x: its vector-Jacobian product applies the same mask to the gradient.
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {masked_copy(grads[0], seed, ctx->saved_data["p"].toDouble()), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0.0) return x;
  const bool counter = x.device().is_cpu() &&
                       (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
  if (!counter || p >= 1.0) return torch::dropout(x, p, training);
  return CounterDropout::apply(x, p);
}

}  // namespace lra
