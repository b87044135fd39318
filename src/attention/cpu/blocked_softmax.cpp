#include "attention/cpu/blocked_softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/cpu/counter_dropout.h"
#include "attention/cpu/gemm.h"
#include "attention/cpu/key_padding.h"
#include "attention/cpu/vector_math.h"

namespace lra {
namespace {

using cpu::exp_shifted;
using cpu::row_max;
using cpu::softmax_backward_row;

// A block's scores, weights and their gradient (3 x 256 x 256 floats, 768 KiB) fit in a 1 MiB
// L2. Of 64 x 512, 128 x 256, 128 x 128 and 256 x 256, the last was the fastest forward+backward
// at L = 1024 and 4096, and with a 2 MiB L2 256 x 512 and 512 x 512 were no faster
// (experiments/peers/results/HISTORY.md, "Softmax block sizes").
// LRA_SOFTMAX_BLOCKS=<queries>x<keys> overrides them for such sweeps
// (experiments/peers/softmax_blocks.sh); the result changes only by float rounding, and the dropout
// mask not at all (it is keyed by row and column).
struct BlockSizes {
  int64_t query = 256, key = 256;
};

const BlockSizes& block_sizes() {
  static const BlockSizes sizes = [] {
    BlockSizes b;
    const char* text = std::getenv("LRA_SOFTMAX_BLOCKS");
    if (!text) return b;
    char x = 0, rest = 0;
    long long q = 0, k = 0;
    if (std::sscanf(text, "%lld%c%lld%c", &q, &x, &k, &rest) != 3 || x != 'x' || q < 1 || k < 1 ||
        q > 4096 || k > 4096)
      throw std::invalid_argument(std::string("LRA_SOFTMAX_BLOCKS=") + text +
                                  ": expected <queries>x<keys>, each 1 to 4096, e.g. 256x256 "
                                  "(or unset it for the default)");
    b.query = q;
    b.key = k;
    return b;
  }();
  return sizes;
}

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

// What every block of one call shares.
struct Problem {
  int64_t B = 0, H = 0, L = 0, D = 0;
  int64_t query_block = 0, key_block = 0;
  double scale = 1.0;
  double dropout = 0.0;
  uint64_t seed = 0;
  uint32_t threshold = 0;
  std::vector<int64_t> extent;  // per batch row: last real key + 1 (0 = none)
  std::vector<char> holes;      // per batch row: padded keys before the extent
  torch::Tensor bias;           // (B, L): 0 real, -inf padded; for rows with holes

  bool drops() const { return dropout > 0.0; }
  // The dropout key of query row i of (batch x head) slice bh.
  uint64_t row_key(int64_t bh, int64_t i) const {
    return cpu::splitmix64(seed, static_cast<uint64_t>(bh * L + i));
  }
};

// The padding of key_mask; dropout's mask from `seed` (the forward's draw, again in the backward).
Problem describe(const torch::Tensor& q, const torch::Tensor& key_mask, double dropout,
                 double scale, uint64_t seed) {
  Problem p;
  p.B = q.size(0), p.H = q.size(1), p.L = q.size(2), p.D = q.size(3);
  p.query_block = block_sizes().query;
  p.key_block = block_sizes().key;
  p.scale = scale;
  p.dropout = dropout;
  auto padding = cpu::scan_key_padding(key_mask, q.scalar_type());
  p.extent = std::move(padding.extent);
  p.holes = std::move(padding.holes);
  p.bias = padding.bias;
  p.seed = seed;
  p.threshold = cpu::drop_threshold(dropout);
  return p;
}

// Scores of query rows [i0, i0 + nq) against keys [j0, j0 + w) into s (nq x w), with the
// padding bias.
template <typename T>
void scores(const Problem& p, int64_t b, const T* q, const T* k, const T* bias, int64_t i0,
            int64_t nq, int64_t j0, int64_t w, T* s) {
  const int64_t D = p.D;
  cpu::gemm(false, true, nq, w, D, static_cast<T>(p.scale), q + i0 * D, D, k + j0 * D, D, T(0), s,
            w);
  if (!p.holes[b]) return;
  for (int64_t r = 0; r < nq; ++r)
    for (int64_t j = 0; j < w; ++j) s[r * w + j] += bias[j0 + j];
}

template <typename T>
void dropout_rows(const Problem& p, int64_t bh, int64_t i0, int64_t nq, int64_t j0, int64_t w,
                  T* s) {
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p.dropout));
  for (int64_t r = 0; r < nq; ++r)
    cpu::apply_counter_dropout(s + r * w, w, p.row_key(bh, i0 + r), static_cast<uint32_t>(j0),
                               p.threshold, keep_scale);
}

// Forward of query rows [i0, i0 + nq) of slice bh: out rows and their log-sum-exp.
template <typename T>
void forward_block(const Problem& p, int64_t bh, int64_t i0, int64_t nq, const T* q, const T* k,
                   const T* v, const T* bias, T* out, T* lse, std::vector<T>& s_buf,
                   std::vector<T>& acc, std::vector<T>& row_m, std::vector<T>& row_l) {
  const int64_t b = bh / p.H, D = p.D, n_keys = p.extent[b];
  const T neg_inf = -std::numeric_limits<T>::infinity();
  std::fill(acc.begin(), acc.begin() + nq * D, T(0));
  std::fill(row_m.begin(), row_m.begin() + nq, neg_inf);
  std::fill(row_l.begin(), row_l.begin() + nq, T(0));
  T* s = s_buf.data();
  for (int64_t j0 = 0; j0 < n_keys; j0 += p.key_block) {
    const int64_t w = std::min(p.key_block, n_keys - j0);
    scores(p, b, q, k, bias, i0, nq, j0, w, s);  // (nq, w)
    for (int64_t r = 0; r < nq; ++r) {
      T* row = s + r * w;
      const T top = row_max(row, w, row_m[r]);
      if (top == neg_inf) {  // every key so far padded
        std::fill(row, row + w, T(0));
        continue;
      }
      const T correction = std::exp(row_m[r] - top);
      row_l[r] = row_l[r] * correction + exp_shifted(row, w, top);
      row_m[r] = top;
      for (int64_t d = 0; d < D; ++d) acc[r * D + d] *= correction;
    }
    if (p.drops()) dropout_rows(p, bh, i0, nq, j0, w, s);
    cpu::gemm(false, false, nq, D, w, T(1), s, w, v + j0 * D, D, T(1), acc.data(), D);
  }
  for (int64_t r = 0; r < nq; ++r) {
    const T l = row_l[r];
    for (int64_t d = 0; d < D; ++d) out[(i0 + r) * D + d] = l > 0 ? acc[r * D + d] / l : T(0);
    lse[i0 + r] = l > 0 ? row_m[r] + std::log(l) : std::numeric_limits<T>::infinity();
  }
}

template <typename T>
void forward_kernel(const Problem& p, const torch::Tensor& q3, const torch::Tensor& k3,
                    const torch::Tensor& v3, torch::Tensor& out3, torch::Tensor& lse) {
  const int64_t L = p.L, D = p.D, BH = p.B * p.H;
  const int64_t QB = p.query_block, blocks = (L + QB - 1) / QB;
  const T* bias = p.bias.defined() ? p.bias.data_ptr<T>() : nullptr;
  at::parallel_for(0, BH * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> s(QB * p.key_block), acc(QB * D), m(QB), l(QB);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / blocks, i0 = (task % blocks) * QB;
      const int64_t b = bh / p.H, n_rows = p.extent[b];
      if (i0 >= n_rows) continue;  // padded queries: zero rows
      const int64_t nq = std::min(QB, n_rows - i0);
      forward_block<T>(p, bh, i0, nq, q3.data_ptr<T>() + bh * L * D, k3.data_ptr<T>() + bh * L * D,
                       v3.data_ptr<T>() + bh * L * D, bias ? bias + b * L : nullptr,
                       out3.data_ptr<T>() + bh * L * D, lse.data_ptr<T>() + bh * L, s, acc, m, l);
    }
  });
}

// Per-thread scratch of the backward: scores / weights, dropped weights, their gradient.
template <typename T>
struct BackwardScratch {
  std::vector<T> a, pd, dp, delta;
  explicit BackwardScratch(const Problem& p)
      : a(p.query_block * p.key_block),
        pd(p.query_block * p.key_block),
        dp(p.query_block * p.key_block),
        delta(p.query_block) {}
};

struct SliceTensors {
  const void *q, *k, *v, *out, *grad, *lse, *bias;
  void *dq, *dk, *dv;
};

// Backward of query rows [i0, i0 + nq) of slice bh against every real key: adds to dq rows,
// dk, dv.
template <typename T>
void backward_block(const Problem& p, int64_t bh, int64_t i0, int64_t nq, const SliceTensors& t,
                    BackwardScratch<T>& w_) {
  const int64_t b = bh / p.H, D = p.D, n_keys = p.extent[b];
  const T *q = static_cast<const T*>(t.q), *k = static_cast<const T*>(t.k),
          *v = static_cast<const T*>(t.v), *o = static_cast<const T*>(t.out),
          *g = static_cast<const T*>(t.grad), *lse = static_cast<const T*>(t.lse),
          *bias = static_cast<const T*>(t.bias);
  T *dq = static_cast<T*>(t.dq), *dk = static_cast<T*>(t.dk), *dv = static_cast<T*>(t.dv);
  const T scale = static_cast<T>(p.scale);
  for (int64_t r = 0; r < nq; ++r)
    w_.delta[r] = dot(g + (i0 + r) * D, o + (i0 + r) * D, D);  // rowsum(dO * O)
  for (int64_t j0 = 0; j0 < n_keys; j0 += p.key_block) {
    const int64_t w = std::min(p.key_block, n_keys - j0);
    T *a = w_.a.data(), *dp = w_.dp.data();
    scores(p, b, q, k, bias, i0, nq, j0, w, a);                               // (nq, w)
    for (int64_t r = 0; r < nq; ++r) exp_shifted(a + r * w, w, lse[i0 + r]);  // weights A
    T* pd = a;                                                                // dropped weights
    if (p.drops()) {
      pd = w_.pd.data();
      std::copy(a, a + nq * w, pd);
      dropout_rows(p, bh, i0, nq, j0, w, pd);
    }
    cpu::gemm(true, false, w, D, nq, T(1), pd, w, g + i0 * D, D, T(1), dv + j0 * D, D);
    cpu::gemm(false, true, nq, w, D, T(1), g + i0 * D, D, v + j0 * D, D, T(0), dp, w);
    for (int64_t r = 0; r < nq; ++r)
      softmax_backward_row(dp + r * w, pd + r * w, a + r * w, w, w_.delta[r]);  // dS
    cpu::gemm(false, false, nq, D, w, scale, dp, w, k + j0 * D, D, T(1), dq + i0 * D, D);
    cpu::gemm(true, false, w, D, nq, scale, dp, w, q + i0 * D, D, T(1), dk + j0 * D, D);
  }
}

// Each task takes the query blocks of one slice (with fewer slices than threads, a share of
// them, into its own dk / dv copy, summed afterwards: no two threads add to the same rows).
template <typename T>
void backward_kernel(const Problem& p, const std::vector<torch::Tensor>& in,
                     const torch::Tensor& lse, torch::Tensor& dq, torch::Tensor& dk,
                     torch::Tensor& dv) {
  const int64_t L = p.L, D = p.D, BH = p.B * p.H;
  const int64_t QB = p.query_block, blocks = (L + QB - 1) / QB;
  // More shares than query blocks would only add idle copies of dk and dv.
  const int64_t shares =
      std::clamp<int64_t>((at::get_num_threads() + BH - 1) / BH, 1, std::max<int64_t>(1, blocks));
  auto dk_parts =
      shares == 1 ? dk.view({1, BH, L, D}) : torch::zeros({shares, BH, L, D}, dk.options());
  auto dv_parts =
      shares == 1 ? dv.view({1, BH, L, D}) : torch::zeros({shares, BH, L, D}, dv.options());
  const T* bias = p.bias.defined() ? p.bias.data_ptr<T>() : nullptr;
  at::parallel_for(0, BH * shares, 1, [&](int64_t begin, int64_t end) {
    BackwardScratch<T> scratch(p);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / shares, share = task % shares, b = bh / p.H;
      const int64_t offset = bh * L * D;
      const SliceTensors t{
          in[0].data_ptr<T>() + offset,           in[1].data_ptr<T>() + offset,
          in[2].data_ptr<T>() + offset,           in[3].data_ptr<T>() + offset,
          in[4].data_ptr<T>() + offset,           lse.data_ptr<T>() + bh * L,
          bias ? bias + b * L : nullptr,          dq.data_ptr<T>() + offset,
          dk_parts[share].data_ptr<T>() + offset, dv_parts[share].data_ptr<T>() + offset};
      for (int64_t blk = share; blk < blocks; blk += shares) {
        const int64_t i0 = blk * QB;
        if (i0 >= p.extent[b]) break;
        backward_block<T>(p, bh, i0, std::min(QB, p.extent[b] - i0), t, scratch);
      }
    }
  });
  if (shares > 1) {
    dk.view({BH, L, D}).copy_(dk_parts.sum(0));  // (BH, L, D): the slices dk's (B, H) holds
    dv.view({BH, L, D}).copy_(dv_parts.sum(0));
  }
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class BlockedSoftmaxFunction : public torch::autograd::Function<BlockedSoftmaxFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& key_mask,
                               double dropout, double scale) {
    const uint64_t seed = dropout > 0.0 ? cpu::draw_dropout_seed() : 0;
    const Problem p = describe(q, key_mask, dropout, scale, seed);
    auto q3 = q.contiguous(), k3 = k.contiguous(), v3 = v.contiguous();  // (B, H, L, D)
    auto out = torch::zeros_like(q3);                                    // (B, H, L, D)
    auto lse = torch::full({p.B, p.H, p.L}, INFINITY, q3.options());     // (B, H, L)
    AT_DISPATCH_FLOATING_TYPES(q3.scalar_type(), "blocked_softmax_forward",
                               [&] { forward_kernel<scalar_t>(p, q3, k3, v3, out, lse); });
    ctx->save_for_backward({q3, k3, v3, out, lse, key_mask});
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    const Problem p = describe(s[0], s[5], ctx->saved_data["dropout"].toDouble(),
                               ctx->saved_data["scale"].toDouble(),
                               static_cast<uint64_t>(ctx->saved_data["seed"].toInt()));
    auto g = grads[0].contiguous();  // (B, H, L, D)
    auto dq = torch::zeros_like(s[0]), dk = torch::zeros_like(s[1]), dv = torch::zeros_like(s[2]);
    const std::vector<torch::Tensor> in = {s[0], s[1], s[2], s[3], g};
    AT_DISPATCH_FLOATING_TYPES(s[0].scalar_type(), "blocked_softmax_backward",
                               [&] { backward_kernel<scalar_t>(p, in, s[4], dq, dk, dv); });
    return {dq, dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool blocked_softmax_supported(const torch::Tensor& q) {
  return q.device().is_cpu() &&
         (q.scalar_type() == torch::kFloat || q.scalar_type() == torch::kDouble);
}

torch::Tensor blocked_softmax_attention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, const torch::Tensor& key_mask,
                                        double dropout, double scale) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "blocked_softmax_attention: expected q, k, v of one shape (B, H, L, D)");
  TORCH_CHECK(key_mask.dim() == 2 && key_mask.size(0) == q.size(0) && key_mask.size(1) == q.size(2),
              "blocked_softmax_attention: expected key_mask (B, L)");
  TORCH_CHECK(blocked_softmax_supported(q), "blocked_softmax_attention: CPU float32/float64 only");
  TORCH_CHECK(dropout >= 0.0 && dropout < 1.0,
              "blocked_softmax_attention: dropout must be in [0, 1)");
  return BlockedSoftmaxFunction::apply(q, k, v, key_mask, dropout, scale);
}

}  // namespace lra
