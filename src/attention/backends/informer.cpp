// informer (Zhou et al. 2021, "Informer: Beyond Efficient Transformer for Long Sequence
// Time-Series Forecasting"): ProbSparse self-attention. Each query's sparsity measure
//   M(q_i) = max_s q_i.k_{p(i,s)} - (1/n) sum_s q_i.k_{p(i,s)}
// over U keys p(i, .) sampled uniformly with replacement from the n real keys ranks the queries;
// the top u = U = ceil(c ceil(ln n)) get exact softmax(q_i k^T / sqrt(d)) rows, every other
// query the mean of the real values (the non-causal "lazy" output). O(L U d + u L d) per head.
// It approximates exact softmax attention (its reference); with u >= n it is exact.
//
// As the Skyformer code (src/models/attention_informer.py, adapted from Informer2020): c =
// ceil(in_nb_features / ln max_seq_len) (attention.features, default 128), the same sample
// positions for every head, M on the unscaled scores, the attention dropout declared there but
// never applied, so none here. Departures (docs/attention.md; convention skyformer_code restores
// the first two): the code ignores the key mask (pads are sampled, get weight in the exact rows
// and enter the mean) and sizes U and u by the padded length; here only real keys count. Its
// unseeded torch.randint becomes a counter-based draw of (layer seed, optimizer step), kept in
// buffers for checkpoints; evaluation uses one fixed draw.
#include "attention/backends/informer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/cpu/counter_dropout.h"
#include "attention/cpu/vector_math.h"
#include "attention/exact_softmax.h"
#include "attention/registry.h"
#include "attention/step_draw.h"
#include "attention_spec/exact_forms.h"

namespace lra::backends::informer {
namespace {

constexpr uint64_t kStream = 0x1F0A11CEull;  // keeps this backend's draws apart from others'

// Real keys per sequence, on the CPU. key_mask: (B, L).
std::vector<int64_t> real_counts(const torch::Tensor& key_mask) {
  auto n = (key_mask > 0).sum(-1).to(torch::kCPU, torch::kInt64).contiguous();  // (B)
  return {n.data_ptr<int64_t>(), n.data_ptr<int64_t>() + n.numel()};
}

std::vector<int64_t> counts_of(const std::vector<int64_t>& n, double factor) {
  std::vector<int64_t> u(n.size());
  for (size_t b = 0; b < n.size(); ++b) u[b] = prob_sparse_count(factor, n[b]);
  return u;
}

// A sequence with no real token has only padded queries, whose rows are unspecified: it is
// treated as all real, so that no softmax row is empty.
torch::Tensor without_empty_rows(const torch::Tensor& key_mask) {
  auto empty = (key_mask > 0).sum(-1, /*keepdim=*/true) == 0;  // (B, 1)
  return torch::where(empty, torch::ones_like(key_mask), key_mask);
}

// Uniform in [0, 1) for (stream key, query rank, slot): 53 bits of a SplitMix64 output.
double uniform(uint64_t key, int64_t rank, int64_t slot) {
  const uint64_t counter = (static_cast<uint64_t>(rank) << 24) | static_cast<uint64_t>(slot);
  return static_cast<double>(cpu::splitmix64(key, counter) >> 11) * 0x1.0p-53;
}

// The largest and the sum of q_row.k_p over a query's sampled positions p. The float loop keeps
// 16 independent partial sums, so the compiler vectorises it (one clone per vector width)
// without reassociating; float64 is the plain loop.
LRA_VECTOR_CLONES void sampled_scores(const float* q_row, const float* k_head, const int64_t* p,
                                      int64_t samples, int64_t d, float* best, float* sum) {
  constexpr int64_t kLanes = 16;
  float top = -std::numeric_limits<float>::infinity(), total = 0;
  for (int64_t s = 0; s < samples; ++s) {
    const float* k_row = k_head + p[s] * d;
    float lanes[kLanes] = {};
    int64_t c = 0;
    for (; c + kLanes <= d; c += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += q_row[c + l] * k_row[c + l];
    float score = 0;
    for (; c < d; ++c) score += q_row[c] * k_row[c];
    for (int64_t l = 0; l < kLanes; ++l) score += lanes[l];
    top = std::max(top, score);
    total += score;
  }
  *best = top;
  *sum = total;
}

void sampled_scores(const double* q_row, const double* k_head, const int64_t* p, int64_t samples,
                    int64_t d, double* best, double* sum) {
  double top = -std::numeric_limits<double>::infinity(), total = 0;
  for (int64_t s = 0; s < samples; ++s) {
    const double* k_row = k_head + p[s] * d;
    double score = 0;
    for (int64_t c = 0; c < d; ++c) score += q_row[c] * k_row[c];
    top = std::max(top, score);
    total += score;
  }
  *best = top;
  *sum = total;
}

// M for every (b, h, i) row; k_head is the (L, d) key block of the row's (b, h).
template <typename T>
void sparsity_rows(const T* q, const T* k, const int64_t* positions, const uint8_t* real,
                   const std::vector<int64_t>& n, const std::vector<int64_t>& samples, int64_t H,
                   int64_t L, int64_t U_max, int64_t d, T* m) {
  const int64_t rows = static_cast<int64_t>(n.size()) * H * L;
  at::parallel_for(0, rows, 64, [&](int64_t first, int64_t last) {
    for (int64_t row = first; row < last; ++row) {
      const int64_t b = row / (H * L), i = row % L;
      if (!real[b * L + i]) {
        m[row] = -std::numeric_limits<T>::infinity();
        continue;
      }
      T best, sum;
      sampled_scores(q + row * d, k + (row / L) * L * d, positions + (b * L + i) * U_max,
                     samples[b], d, &best, &sum);
      m[row] = best - sum / static_cast<T>(n[b]);
    }
  });
}

// The same from gathered tensor ops, a chunk of queries at a time (the CUDA path).
torch::Tensor sparsity_gathered(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& key_mask, const torch::Tensor& positions,
                                const std::vector<int64_t>& n,
                                const std::vector<int64_t>& samples) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3);
  const int64_t U = positions.size(2);
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  auto slot_ok =
      torch::arange(U, opts).unsqueeze(0) < torch::tensor(samples, opts).unsqueeze(1);  // (B, U)
  slot_ok = slot_ok.view({B, 1, 1, U}).to(q.device());  // (B, 1, 1, U)
  auto count = torch::tensor(n, opts).to(q.device(), q.scalar_type()).view({B, 1, 1});  // (B,1,1)
  const int64_t rows =
      std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, B * H * U * d));
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < L; start += rows) {
    const int64_t len = std::min(rows, L - start);
    auto where = positions.narrow(1, start, len).reshape({B, 1, len * U, 1});
    auto keys = k.gather(2, where.expand({B, H, len * U, d})).view({B, H, len, U, d});
    auto scores = (q.narrow(2, start, len).unsqueeze(-2) * keys).sum(-1);  // (B, H, len, U)
    auto ok = slot_ok.expand_as(scores);
    auto best = scores.masked_fill(ok.logical_not(), -INFINITY).amax(-1);  // (B, H, len)
    parts.push_back(best - scores.masked_fill(ok.logical_not(), 0.0).sum(-1) / count);
  }
  auto m = torch::cat(parts, 2);                                  // (B, H, L)
  return m.masked_fill((key_mask <= 0).unsqueeze(1), -INFINITY);  // padded queries last
}

class InformerAttention : public AttentionBackend {
 public:
  InformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : factor_(sampling_factor(config, context.max_length)),
        skyformer_code_(config.convention == "skyformer_code"),
        draw_(*this),
        draw_seed_(register_draw_seed(*this, context.seed)) {}

  void on_train_step(int64_t step) override { draw_.on_train_step(step); }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    auto mask = without_empty_rows(effective_key_mask(key_mask, skyformer_code_));  // (B, L)
    const auto n = real_counts(mask);
    const auto u = counts_of(n, factor_);
    // Every real query selected: exact softmax attention, through the fused kernel.
    if (std::equal(u.begin(), u.end(), n.begin()))
      return softmax_attention_fused(q, k, v, mask, 0.0, false);
    auto positions = sample_key_positions(mask, factor_, draw_seed(draw_seed_),
                                          draw_.current(is_training()));  // (B, L, U_max)
    return prob_sparse_attention(q, k, v, mask, positions.to(q.device()), factor_);
  }

  double factor() const { return factor_; }

 private:
  double factor_;
  bool skyformer_code_;  // convention skyformer_code: the key mask is ignored
  StepDraw draw_;
  torch::Tensor draw_seed_;  // (1) int64: the layer seed's bits, restored from checkpoints
};

}  // namespace

double sampling_factor(const AttentionConfig& config, int64_t max_length) {
  if (config.features != 0 && max_length < 2)
    throw std::invalid_argument(
        "informer: attention.features sets c = ceil(features / ln(max_length)), but the layer's "
        "max_length (AttentionContext::max_length) is " +
        std::to_string(max_length) + "; it needs at least 2");
  return informer_sampling_factor(config, max_length);
}

int64_t prob_sparse_count(double factor, int64_t n) {
  return informer_count(factor, n);
}

torch::Tensor effective_key_mask(const torch::Tensor& key_mask, bool skyformer_code) {
  return skyformer_code ? torch::ones_like(key_mask) : key_mask;
}

torch::Tensor sample_key_positions(const torch::Tensor& key_mask, double factor, uint64_t seed,
                                   int64_t draw) {
  auto real = (key_mask > 0).to(torch::kCPU).contiguous();  // (B, L) bool
  const int64_t B = real.size(0), L = real.size(1);
  const auto n = real_counts(real);
  const auto samples = counts_of(n, factor);
  const int64_t U_max = std::max<int64_t>(1, *std::max_element(samples.begin(), samples.end()));
  auto positions = torch::zeros({B, L, U_max}, torch::kInt64);  // (B, L, U_max)
  const uint64_t key = cpu::splitmix64(seed ^ kStream, static_cast<uint64_t>(draw));
  const bool* is_real = real.data_ptr<bool>();
  int64_t* out = positions.data_ptr<int64_t>();
  at::parallel_for(0, B, 1, [&](int64_t first, int64_t last) {
    std::vector<int64_t> real_at;  // the real positions of sequence b, in order
    for (int64_t b = first; b < last; ++b) {
      real_at.clear();
      for (int64_t j = 0; j < L; ++j)
        if (is_real[b * L + j]) real_at.push_back(j);
      if (real_at.empty()) continue;
      const auto count = static_cast<double>(n[b]);
      for (int64_t i = 0, rank = 0; i < L; ++i) {
        if (!is_real[b * L + i]) continue;
        int64_t* row = out + (b * L + i) * U_max;
        for (int64_t s = 0; s < U_max; ++s) {
          const auto r = static_cast<int64_t>(uniform(key, rank, s) * count);
          row[s] = real_at[std::min(r, n[b] - 1)];
        }
        ++rank;
      }
    }
  });
  return positions;
}

torch::Tensor sparsity_measure(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& key_mask, const torch::Tensor& positions,
                               double factor, bool row_loop) {
  torch::NoGradGuard no_grad;  // M only ranks the queries: no gradient flows through it
  const auto n = real_counts(key_mask);
  const auto samples = counts_of(n, factor);
  const bool loop_ok =
      q.is_cpu() && (q.scalar_type() == torch::kFloat32 || q.scalar_type() == torch::kFloat64);
  if (!row_loop || !loop_ok) return sparsity_gathered(q, k, key_mask, positions, n, samples);
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3);
  auto qc = q.contiguous(), kc = k.to(q.scalar_type()).contiguous();
  auto pc = positions.to(torch::kCPU, torch::kInt64).contiguous();
  auto real = (key_mask > 0).to(torch::kCPU, torch::kUInt8).contiguous();  // (B, L)
  auto m = torch::empty({B, H, L}, q.options());                           // (B, H, L)
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "informer_sparsity", [&] {
    sparsity_rows<scalar_t>(qc.data_ptr<scalar_t>(), kc.data_ptr<scalar_t>(),
                            pc.data_ptr<int64_t>(), real.data_ptr<uint8_t>(), n, samples, H, L,
                            pc.size(2), d, m.data_ptr<scalar_t>());
  });
  return m;
}

torch::Tensor prob_sparse_attention(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& key_mask,
                                    const torch::Tensor& positions, double factor) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3);
  auto mask = without_empty_rows(key_mask);
  const auto n = real_counts(mask);
  const auto u = counts_of(n, factor);
  const int64_t u_max = std::max<int64_t>(1, *std::max_element(u.begin(), u.end()));

  // The top u queries by M, ties to the lower position (stable sort).
  auto m = sparsity_measure(q, k, mask, positions, factor, /*row_loop=*/true);  // (B, H, L)
  auto order = std::get<1>(m.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/true));
  auto chosen = order.narrow(-1, 0, u_max).unsqueeze(-1);  // (B, H, u_max, 1)
  auto index_opts = torch::TensorOptions().dtype(torch::kInt64).device(q.device());
  auto in_top = torch::arange(u_max, index_opts).unsqueeze(0) <
                torch::tensor(u, torch::kInt64).to(q.device()).unsqueeze(1);  // (B, u_max)
  in_top = in_top.view({B, 1, u_max, 1});

  // Their exact rows, through LibTorch's fused attention (its CPU flash kernel: blocks of keys,
  // no u x L weights kept); an unpadded batch passes no mask.
  auto q_top = q.gather(2, chosen.expand({B, H, u_max, d}));  // (B, H, u_max, d)
  std::optional<torch::Tensor> attend;
  if (std::any_of(n.begin(), n.end(), [&](int64_t count) { return count < L; }))
    attend = padded_key_columns(mask).logical_not();  // (B, 1, 1, L), true = real key
  auto exact_rows = at::scaled_dot_product_attention(q_top, k, v, attend, 0.0, false,
                                                     1.0 / std::sqrt(static_cast<double>(d)));
  // Everyone else: the mean of the real values.
  auto real = mask.to(v.scalar_type()).view({B, 1, L, 1});
  auto mean = (v * real).sum(2, /*keepdim=*/true) / real.sum(2, /*keepdim=*/true);  // (B,H,1,d)
  auto rows = torch::where(in_top, exact_rows, mean);                               // (B,H,u,d)
  return mean.expand({B, H, L, d}).scatter(2, chosen.expand({B, H, u_max, d}), rows);
}

torch::Tensor prob_sparse_reference(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& key_mask,
                                    const torch::Tensor& positions, double factor) {
  auto q64 = q.to(torch::kFloat64), k64 = k.to(torch::kFloat64), v64 = v.to(torch::kFloat64);
  auto mask = without_empty_rows(key_mask).to(torch::kFloat64);
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2);
  const auto n = real_counts(mask);
  const auto u = counts_of(n, factor);
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  auto n_t = torch::tensor(n, opts).to(torch::kFloat64);
  auto samples = torch::tensor(u, opts);  // U = u for self-attention

  // M of every query from the dense unscaled scores at its sampled positions.
  auto dense = torch::matmul(q64, k64.transpose(-2, -1));  // (B, H, L, L)
  const int64_t U = positions.size(2);
  auto sampled = dense.gather(3, positions.to(torch::kInt64).unsqueeze(1).expand({B, H, L, U}));
  auto slot_ok = (torch::arange(U, opts).unsqueeze(0) < samples.unsqueeze(1)).view({B, 1, 1, U});
  auto best = sampled.masked_fill(slot_ok.logical_not(), -INFINITY).amax(-1);  // (B, H, L)
  auto m = best - sampled.masked_fill(slot_ok.logical_not(), 0.0).sum(-1) / n_t.view({B, 1, 1});
  m = m.masked_fill((mask <= 0).unsqueeze(1), -INFINITY);

  // A query is selected when fewer than u queries come before it in the stable order.
  auto order = std::get<1>(m.sort(/*stable=*/true, -1, /*descending=*/true));  // (B, H, L)
  auto place =
      torch::empty_like(order).scatter_(-1, order, torch::arange(L, opts).expand_as(order));
  auto selected = (place < samples.view({B, 1, 1})).unsqueeze(-1);  // (B, H, L, 1)

  auto exact = softmax_attention_reference(q64, k64, v64, mask, 0.0, false);  // (B, H, L, d)
  auto real = mask.view({B, 1, L, 1});
  auto mean = (v64 * real).sum(2, true) / real.sum(2, true);  // (B, H, 1, d)
  return torch::where(selected, exact, mean).to(v.scalar_type());
}

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<InformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const InformerAttention&>(instance);
  const int64_t u = prob_sparse_count(self.factor(), s.length);
  if (u >= s.length) return quadratic_attention_flops(s);  // the exact fallback
  const double bh = static_cast<double>(s.batch * s.heads), L = static_cast<double>(s.length),
               d = static_cast<double>(s.head_dim), U = static_cast<double>(u);
  // The sampled scores (U per query, no gradient), then the u exact rows: q_top k^T and the
  // weights times v, each two products of the same size backwards.
  const double sampled = 2 * bh * L * U * d, rows = 2 * (2 * bh * U * L * d);
  return {sampled + rows, 2 * rows};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::informer
