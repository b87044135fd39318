#include "attention/cpu/biased_softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/cpu/counter_dropout.h"
#include "attention/cpu/gemm.h"
#include "attention/cpu/key_padding.h"
#include "attention/cpu/vector_math.h"

namespace lra {
// Named, not anonymous: the unity build compiles this file with blocked_softmax.cpp, whose
// anonymous namespace has a Problem of its own.
namespace biased_softmax_kernel {

using cpu::axpy;
using cpu::exp_shifted;
using cpu::softmax_backward_row;

// blocked_softmax.cpp's block shape (its fastest forward+backward at L = 1024 and 4096): three
// 256 x 256 blocks (scores, dropped weights, their gradient) stay in a 1 MiB L2.
constexpr int64_t kQueryBlock = 256, kKeyBlock = 256;

// What every block of one call shares.
struct Problem {
  int64_t B = 0, H = 0, L = 0, D = 0;
  bool shared_bias = true;  // bias (1, H, L, L), else (B, H, L, L)
  bool dot = true;
  bool bias_scale_grad = false;  // the backward sums dS * bias
  double scale = 1.0, bias_scale = 1.0, dropout = 0.0;
  uint64_t seed = 0;
  uint32_t threshold = 0;
  std::vector<int64_t> extent;  // per batch row: last real key + 1 (0 = none)
  std::vector<char> holes;      // per batch row: padded keys before the extent
  torch::Tensor pad_bias;       // (B, L): 0 real, -inf padded; for rows with holes

  bool drops() const { return dropout > 0.0; }
  uint64_t row_key(int64_t bh, int64_t i) const {
    return cpu::splitmix64(seed, static_cast<uint64_t>(bh * L + i));
  }
  // Offset of the (L, L) bias of batch row b, head h.
  int64_t bias_offset(int64_t b, int64_t h) const {
    return ((shared_bias ? 0 : b) * H + h) * L * L;
  }
  int64_t query_blocks() const { return (L + kQueryBlock - 1) / kQueryBlock; }
};

Problem describe(const torch::Tensor& q, const torch::Tensor& key_mask, const torch::Tensor& bias,
                 double bias_scale, double dropout, double scale, bool dot, uint64_t seed) {
  Problem p;
  p.B = q.size(0), p.H = q.size(1), p.L = q.size(2), p.D = q.size(3);
  p.shared_bias = bias.size(0) == 1;
  p.dot = dot;
  p.scale = scale;
  p.bias_scale = bias_scale;
  p.dropout = dropout;
  p.seed = seed;
  p.threshold = cpu::drop_threshold(dropout);
  auto padding = cpu::scan_key_padding(key_mask, q.scalar_type());
  p.extent = std::move(padding.extent);
  p.holes = std::move(padding.holes);
  p.pad_bias = padding.bias;
  return p;
}

// The tensors of one (batch row, head) slice, offset to it.
template <typename T>
struct Slice {
  const T *q, *k, *v, *bias, *pad;  // pad: (L) padding bias, or null
};

template <typename T>
Slice<T> slice_of(const Problem& p, int64_t b, int64_t h, const std::vector<torch::Tensor>& in,
                  const T* pad) {
  const int64_t offset = (b * p.H + h) * p.L * p.D;
  return {in[0].data_ptr<T>() + offset, in[1].data_ptr<T>() + offset, in[2].data_ptr<T>() + offset,
          in[3].data_ptr<T>() + p.bias_offset(b, h), p.holes[b] && pad ? pad + b * p.L : nullptr};
}

// Scores of query rows [i0, i0 + nq) against keys [j0, j0 + w) into s (nq x w): scale q.k (when
// dot) + bias_scale bias + the padding bias.
// with_bias false leaves the bias to the caller (the forward adds it with the row maximum).
template <typename T>
void scores(const Problem& p, const Slice<T>& t, int64_t i0, int64_t nq, int64_t j0, int64_t w,
            T* s, bool with_bias = true) {
  const int64_t D = p.D, L = p.L;
  const T bias_scale = static_cast<T>(p.bias_scale);
  if (p.dot) {
    cpu::gemm(false, true, nq, w, D, static_cast<T>(p.scale), t.q + i0 * D, D, t.k + j0 * D, D,
              T(0), s, w);
  } else {
    std::fill(s, s + nq * w, T(0));
  }
  if (with_bias)
    for (int64_t r = 0; r < nq; ++r) axpy(bias_scale, t.bias + (i0 + r) * L + j0, s + r * w, w);
  if (t.pad)
    for (int64_t r = 0; r < nq; ++r) axpy(T(1), t.pad + j0, s + r * w, w);
}

// Two row loops of the kernel, each fusing two passes of the softmax kernel's into one; AVX-512
// and AVX2 + FMA where the CPU has them (cpu::best_path), plain loops elsewhere and in float64.
#if LRA_X86_VECTOR
// GCC 12's AVX-512 headers pass undefined vectors as the unused operands of their masked
// builtins, which it then warns about.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
LRA_AVX512 float add_bias_max_avx512(float* s, const float* bias, float c, int64_t n, float init) {
  const __m512 vc = _mm512_set1_ps(c);
  __m512 top = _mm512_set1_ps(init);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 x = _mm512_fmadd_ps(_mm512_loadu_ps(bias + j), vc, _mm512_loadu_ps(s + j));
    _mm512_storeu_ps(s + j, x);
    top = _mm512_max_ps(top, x);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, top);
  float m = init;
  for (float x : lanes) m = std::max(m, x);
  for (; j < n; ++j) {
    s[j] += c * bias[j];
    m = std::max(m, s[j]);
  }
  return m;
}

LRA_AVX2 float add_bias_max_avx2(float* s, const float* bias, float c, int64_t n, float init) {
  const __m256 vc = _mm256_set1_ps(c);
  __m256 top = _mm256_set1_ps(init);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_fmadd_ps(_mm256_loadu_ps(bias + j), vc, _mm256_loadu_ps(s + j));
    _mm256_storeu_ps(s + j, x);
    top = _mm256_max_ps(top, x);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, top);
  float m = init;
  for (float x : lanes) m = std::max(m, x);
  for (; j < n; ++j) {
    s[j] += c * bias[j];
    m = std::max(m, s[j]);
  }
  return m;
}

LRA_AVX512 void score_gradient_row_avx512(float* dp, const float* pd, const float* a, int64_t n,
                                          float delta, float* sum) {
  const __m512 vd = _mm512_set1_ps(delta);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 ds = _mm512_fmsub_ps(_mm512_loadu_ps(dp + j), _mm512_loadu_ps(pd + j),
                                      _mm512_mul_ps(_mm512_loadu_ps(a + j), vd));
    _mm512_storeu_ps(dp + j, ds);
    _mm512_storeu_ps(sum + j, _mm512_add_ps(_mm512_loadu_ps(sum + j), ds));
  }
  for (; j < n; ++j) {
    dp[j] = dp[j] * pd[j] - a[j] * delta;
    sum[j] += dp[j];
  }
}

LRA_AVX2 void score_gradient_row_avx2(float* dp, const float* pd, const float* a, int64_t n,
                                      float delta, float* sum) {
  const __m256 vd = _mm256_set1_ps(delta);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 ds = _mm256_fmsub_ps(_mm256_loadu_ps(dp + j), _mm256_loadu_ps(pd + j),
                                      _mm256_mul_ps(_mm256_loadu_ps(a + j), vd));
    _mm256_storeu_ps(dp + j, ds);
    _mm256_storeu_ps(sum + j, _mm256_add_ps(_mm256_loadu_ps(sum + j), ds));
  }
  for (; j < n; ++j) {
    dp[j] = dp[j] * pd[j] - a[j] * delta;
    sum[j] += dp[j];
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// s[j] += c bias[j], returning max(init, s[0..n)): the forward's bias and row maximum in one pass.
template <typename T>
T add_bias_max(T* s, const T* bias, T c, int64_t n, T init) {
#if LRA_X86_VECTOR
  if constexpr (std::is_same_v<T, float>) {
    const auto path = cpu::best_path();
    if (path == cpu::VectorPath::avx512) return add_bias_max_avx512(s, bias, c, n, init);
    if (path == cpu::VectorPath::avx2) return add_bias_max_avx2(s, bias, c, n, init);
  }
#endif
  T top = init;
  for (int64_t j = 0; j < n; ++j) {
    s[j] += c * bias[j];
    top = std::max(top, s[j]);
  }
  return top;
}

// dp[j] = dp[j] pd[j] - a[j] delta, the score gradient dS of one row (softmax_backward_row), also
// added to sum[j]: one pass instead of two for a shared bias's batch sum.
template <typename T>
void score_gradient_row(T* dp, const T* pd, const T* a, int64_t n, T delta, T* sum) {
#if LRA_X86_VECTOR
  if constexpr (std::is_same_v<T, float>) {
    const auto path = cpu::best_path();
    if (path == cpu::VectorPath::avx512) return score_gradient_row_avx512(dp, pd, a, n, delta, sum);
    if (path == cpu::VectorPath::avx2) return score_gradient_row_avx2(dp, pd, a, n, delta, sum);
  }
#endif
  for (int64_t j = 0; j < n; ++j) {
    dp[j] = dp[j] * pd[j] - a[j] * delta;
    sum[j] += dp[j];
  }
}

template <typename T>
void dropout_rows(const Problem& p, int64_t bh, int64_t i0, int64_t nq, int64_t j0, int64_t w,
                  T* s) {
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p.dropout));
  for (int64_t r = 0; r < nq; ++r)
    cpu::apply_counter_dropout(s + r * w, w, p.row_key(bh, i0 + r), static_cast<uint32_t>(j0),
                               p.threshold, keep_scale);
}

// Online-softmax state of one batch row's query block.
template <typename T>
struct RowState {
  std::vector<T> acc, m, l;  // (nq, D), (nq), (nq)
};

// Forward of query block [i0, i0 + QB) of head h for batch rows [b0, b1): key block by key
// block, every batch row in turn, so that each bias block is read from memory once for them all.
template <typename T>
void forward_task(const Problem& p, int64_t h, int64_t i0, int64_t b0, int64_t b1,
                  const std::vector<torch::Tensor>& in, const T* pad, T* out, T* lse,
                  std::vector<RowState<T>>& state, std::vector<T>& s_buf) {
  const int64_t D = p.D, L = p.L;
  const T neg_inf = -std::numeric_limits<T>::infinity();
  int64_t n_keys = 0;
  for (int64_t b = b0; b < b1; ++b) {
    auto& st = state[static_cast<size_t>(b - b0)];
    std::fill(st.acc.begin(), st.acc.end(), T(0));
    std::fill(st.m.begin(), st.m.end(), neg_inf);
    std::fill(st.l.begin(), st.l.end(), T(0));
    if (i0 < p.extent[b]) n_keys = std::max(n_keys, p.extent[b]);
  }
  T* s = s_buf.data();
  for (int64_t j0 = 0; j0 < n_keys; j0 += kKeyBlock)
    for (int64_t b = b0; b < b1; ++b) {
      if (i0 >= p.extent[b] || j0 >= p.extent[b]) continue;  // padded queries, trailing keys
      auto& st = state[static_cast<size_t>(b - b0)];
      const int64_t nq = std::min(kQueryBlock, p.extent[b] - i0),
                    w = std::min(kKeyBlock, p.extent[b] - j0), bh = b * p.H + h;
      const auto t = slice_of<T>(p, b, h, in, pad);
      scores(p, t, i0, nq, j0, w, s, /*with_bias=*/false);  // (nq, w)
      const T bias_scale = static_cast<T>(p.bias_scale);
      for (int64_t r = 0; r < nq; ++r) {
        T* row = s + r * w;
        const T top = add_bias_max(row, t.bias + (i0 + r) * L + j0, bias_scale, w, st.m[r]);
        if (top == neg_inf) {  // every key so far padded
          std::fill(row, row + w, T(0));
          continue;
        }
        const T correction = std::exp(st.m[r] - top);
        st.l[r] = st.l[r] * correction + exp_shifted(row, w, top);
        st.m[r] = top;
        for (int64_t d = 0; d < D; ++d) st.acc[r * D + d] *= correction;
      }
      if (p.drops()) dropout_rows(p, bh, i0, nq, j0, w, s);
      cpu::gemm(false, false, nq, D, w, T(1), s, w, t.v + j0 * D, D, T(1), st.acc.data(), D);
    }
  for (int64_t b = b0; b < b1; ++b) {
    if (i0 >= p.extent[b]) continue;
    const auto& st = state[static_cast<size_t>(b - b0)];
    const int64_t nq = std::min(kQueryBlock, p.extent[b] - i0), bh = b * p.H + h;
    T* o = out + bh * L * D;
    T* e = lse + bh * L;
    for (int64_t r = 0; r < nq; ++r) {
      const T l = st.l[r];
      for (int64_t d = 0; d < D; ++d) o[(i0 + r) * D + d] = l > 0 ? st.acc[r * D + d] / l : T(0);
      e[i0 + r] = l > 0 ? st.m[r] + std::log(l) : std::numeric_limits<T>::infinity();
    }
  }
}

// Tasks: (head, query block, batch chunk); the chunks only as many as the threads need.
template <typename T>
void forward_kernel(const Problem& p, const std::vector<torch::Tensor>& in, torch::Tensor& out,
                    torch::Tensor& lse) {
  const int64_t blocks = p.query_blocks(), cells = p.H * blocks;
  const int64_t chunks =
      std::clamp<int64_t>((2 * at::get_num_threads() + cells - 1) / cells, 1, p.B);
  const int64_t per_chunk = (p.B + chunks - 1) / chunks;
  const T* pad = p.pad_bias.defined() ? p.pad_bias.data_ptr<T>() : nullptr;
  at::parallel_for(0, cells * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<RowState<T>> state(static_cast<size_t>(per_chunk));
    for (auto& st : state) {
      st.acc.resize(kQueryBlock * p.D);
      st.m.resize(kQueryBlock);
      st.l.resize(kQueryBlock);
    }
    std::vector<T> s(kQueryBlock * kKeyBlock);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t cell = task / chunks, chunk = task % chunks;
      const int64_t h = cell / blocks, i0 = (cell % blocks) * kQueryBlock;
      const int64_t b0 = chunk * per_chunk, b1 = std::min(p.B, b0 + per_chunk);
      if (b0 < b1)
        forward_task<T>(p, h, i0, b0, b1, in, pad, out.data_ptr<T>(), lse.data_ptr<T>(), state, s);
    }
  });
}

// Per-thread scratch of the backward: weights, dropped weights, their gradient, row deltas.
template <typename T>
struct Scratch {
  std::vector<T> a, pd, dp, delta, tile;  // tile: a shared bias block's dS summed over the batch
  explicit Scratch(int64_t batch)
      : a(kQueryBlock * kKeyBlock),
        pd(kQueryBlock * kKeyBlock),
        dp(kQueryBlock * kKeyBlock),
        delta(static_cast<size_t>(batch * kQueryBlock)),
        tile(kQueryBlock * kKeyBlock) {}
};

// Where the gradients go: dq and the bias gradient rows of a query block are its task's own, dk
// and dv its share's copy.
template <typename T>
struct Grads {
  const T *out, *grad, *lse;
  T *dq, *dk, *dv, *dbias;  // dbias null when the bias needs none
};

// Backward of query block [i0, i0 + QB) of head h against every real key, all batch rows:
// key block by key block, every batch row in turn, so that the bias block stays in cache for the
// batch; a shared bias's gradient block is summed over the batch in scratch, then scaled into
// place and dotted with the bias once. Returns sum dS * bias over the block (bias_scale's
// gradient).
template <typename T>
double backward_task(const Problem& p, int64_t h, int64_t i0, const std::vector<torch::Tensor>& in,
                     const T* pad, const Grads<T>& g, Scratch<T>& w_) {
  const int64_t D = p.D, L = p.L;
  const T scale = static_cast<T>(p.scale), bias_scale = static_cast<T>(p.bias_scale);
  int64_t n_keys = 0;
  for (int64_t b = 0; b < p.B; ++b) {
    if (i0 >= p.extent[b]) continue;
    n_keys = std::max(n_keys, p.extent[b]);
    const int64_t nq = std::min(kQueryBlock, p.extent[b] - i0), offset = (b * p.H + h) * L * D;
    for (int64_t r = 0; r < nq; ++r)  // rowsum(dO * O)
      w_.delta[b * kQueryBlock + r] =
          cpu::dot(g.grad + offset + (i0 + r) * D, g.out + offset + (i0 + r) * D, D);
  }
  double bias_dot = 0.0;
  for (int64_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    int64_t tile_rows = 0, tile_cols = 0;  // the part of the shared block some batch row reached
    if (p.shared_bias) std::fill(w_.tile.begin(), w_.tile.end(), T(0));
    for (int64_t b = 0; b < p.B; ++b) {
      if (i0 >= p.extent[b] || j0 >= p.extent[b]) continue;
      const int64_t nq = std::min(kQueryBlock, p.extent[b] - i0),
                    w = std::min(kKeyBlock, p.extent[b] - j0), bh = b * p.H + h,
                    offset = bh * L * D;
      const auto t = slice_of<T>(p, b, h, in, pad);
      const T *grad = g.grad + offset, *lse = g.lse + bh * L;
      T *dq = g.dq + offset, *dk = g.dk + offset, *dv = g.dv + offset;
      T *a = w_.a.data(), *dp = w_.dp.data();
      scores(p, t, i0, nq, j0, w, a);                                           // (nq, w)
      for (int64_t r = 0; r < nq; ++r) exp_shifted(a + r * w, w, lse[i0 + r]);  // weights A
      T* pd = a;                                                                // dropped
      if (p.drops()) {
        pd = w_.pd.data();
        std::copy(a, a + nq * w, pd);
        dropout_rows(p, bh, i0, nq, j0, w, pd);
      }
      cpu::gemm(true, false, w, D, nq, T(1), pd, w, grad + i0 * D, D, T(1), dv + j0 * D, D);
      cpu::gemm(false, true, nq, w, D, T(1), grad + i0 * D, D, t.v + j0 * D, D, T(0), dp, w);
      for (int64_t r = 0; r < nq; ++r) {
        const T delta = w_.delta[b * kQueryBlock + r];
        if (p.shared_bias)
          score_gradient_row(dp + r * w, pd + r * w, a + r * w, w, delta,
                             w_.tile.data() + r * kKeyBlock);
        else
          softmax_backward_row(dp + r * w, pd + r * w, a + r * w, w, delta);
      }
      if (p.dot) {  // dp holds dS
        cpu::gemm(false, false, nq, D, w, scale, dp, w, t.k + j0 * D, D, T(1), dq + i0 * D, D);
        cpu::gemm(true, false, w, D, nq, scale, dp, w, t.q + i0 * D, D, T(1), dk + j0 * D, D);
      }
      if (p.shared_bias) {  // dS is in the tile already
        tile_rows = std::max(tile_rows, nq);
        tile_cols = std::max(tile_cols, w);
        continue;
      }
      T* dbias = g.dbias ? g.dbias + p.bias_offset(b, h) : nullptr;
      for (int64_t r = 0; r < nq; ++r) {
        const T* ds = dp + r * w;
        if (p.bias_scale_grad)
          bias_dot += static_cast<double>(cpu::dot(ds, t.bias + (i0 + r) * L + j0, w));
        if (dbias) axpy(bias_scale, ds, dbias + (i0 + r) * L + j0, w);
      }
    }
    // The shared block, summed over the batch: this task's alone, so assigned.
    const T* bias = in[3].data_ptr<T>() + p.bias_offset(0, h);
    T* dbias = g.dbias ? g.dbias + p.bias_offset(0, h) : nullptr;
    for (int64_t r = 0; r < tile_rows; ++r) {
      const T* sum = w_.tile.data() + r * kKeyBlock;
      if (p.bias_scale_grad)
        bias_dot += static_cast<double>(cpu::dot(sum, bias + (i0 + r) * L + j0, tile_cols));
      if (dbias) {
        T* out = dbias + (i0 + r) * L + j0;
        for (int64_t j = 0; j < tile_cols; ++j) out[j] = bias_scale * sum[j];
      }
    }
  }
  return bias_dot;
}

// Each task takes one head and a share of its query blocks: the bias gradient rows of a (head,
// query block) belong to one task, which sums the batch into them in order (the same bits
// whatever the thread count); dk and dv go to the share's own copy, summed afterwards. Returns
// sum dS * bias, summed over the query blocks in order.
template <typename T>
double backward_kernel(const Problem& p, const std::vector<torch::Tensor>& in,
                       const torch::Tensor& out, const torch::Tensor& grad,
                       const torch::Tensor& lse, torch::Tensor& dq, torch::Tensor& dk,
                       torch::Tensor& dv, torch::Tensor& dbias) {
  const int64_t L = p.L, D = p.D, BH = p.B * p.H, blocks = p.query_blocks();
  const int64_t shares = std::clamp<int64_t>((at::get_num_threads() + p.H - 1) / p.H, 1, blocks);
  auto dk_parts =
      shares == 1 ? dk.view({1, BH, L, D}) : torch::zeros({shares, BH, L, D}, dk.options());
  auto dv_parts =
      shares == 1 ? dv.view({1, BH, L, D}) : torch::zeros({shares, BH, L, D}, dv.options());
  const T* pad = p.pad_bias.defined() ? p.pad_bias.data_ptr<T>() : nullptr;
  std::vector<double> bias_dots(static_cast<size_t>(p.H * blocks), 0.0);
  at::parallel_for(0, p.H * shares, 1, [&](int64_t begin, int64_t end) {
    Scratch<T> scratch(p.B);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t h = task / shares, share = task % shares;
      const Grads<T> g{out.data_ptr<T>(),
                       grad.data_ptr<T>(),
                       lse.data_ptr<T>(),
                       dq.data_ptr<T>(),
                       dk_parts[share].data_ptr<T>(),
                       dv_parts[share].data_ptr<T>(),
                       dbias.defined() ? dbias.data_ptr<T>() : nullptr};
      for (int64_t blk = share; blk < blocks; blk += shares)
        bias_dots[static_cast<size_t>(h * blocks + blk)] =
            backward_task<T>(p, h, blk * kQueryBlock, in, pad, g, scratch);
    }
  });
  if (shares > 1) {
    dk.view({BH, L, D}).copy_(dk_parts.sum(0));  // (BH, L, D)
    dv.view({BH, L, D}).copy_(dv_parts.sum(0));
  }
  double total = 0.0;
  for (double x : bias_dots) total += x;
  return total;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class BiasedSoftmaxFunction : public torch::autograd::Function<BiasedSoftmaxFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& key_mask,
                               const torch::Tensor& bias, const torch::Tensor& bias_scale,
                               double dropout, double scale, bool dot) {
    const uint64_t seed = dropout > 0.0 ? cpu::draw_dropout_seed() : 0;
    const double b_scale = bias_scale.item<double>();
    const Problem p = describe(q, key_mask, bias, b_scale, dropout, scale, dot, seed);
    const std::vector<torch::Tensor> in = {q.contiguous(), k.contiguous(), v.contiguous(),
                                           bias.contiguous()};
    auto out = torch::zeros_like(in[0]);                                 // (B, H, L, D)
    auto lse = torch::full({p.B, p.H, p.L}, INFINITY, in[0].options());  // (B, H, L)
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "biased_softmax_forward",
                               [&] { forward_kernel<scalar_t>(p, in, out, lse); });
    ctx->save_for_backward({in[0], in[1], in[2], in[3], out, lse, key_mask, bias_scale});
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["dot"] = dot;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    const bool dot = ctx->saved_data["dot"].toBool();
    Problem p = describe(s[0], s[6], s[3], s[7].item<double>(),
                         ctx->saved_data["dropout"].toDouble(), ctx->saved_data["scale"].toDouble(),
                         dot, static_cast<uint64_t>(ctx->saved_data["seed"].toInt()));
    p.bias_scale_grad = ctx->needs_input_grad(5);
    auto g = grads[0].contiguous();  // (B, H, L, D)
    auto dq = torch::zeros_like(s[0]), dk = torch::zeros_like(s[1]), dv = torch::zeros_like(s[2]);
    // A shared bias's gradient is assigned block by block (only the part past every sequence's
    // last real key is left to zero here); a per-sequence one is accumulated.
    torch::Tensor dbias;
    if (ctx->needs_input_grad(4)) {
      if (p.shared_bias) {
        dbias = torch::empty_like(s[3]);  // (1, H, L, L)
        const int64_t reached = *std::max_element(p.extent.begin(), p.extent.end());
        if (reached < p.L) {
          dbias.narrow(2, reached, p.L - reached).zero_();
          dbias.narrow(3, reached, p.L - reached).zero_();
        }
      } else {
        dbias = torch::zeros_like(s[3]);  // (B, H, L, L)
      }
    }
    const std::vector<torch::Tensor> in = {s[0], s[1], s[2], s[3]};
    double bias_dot = 0.0;
    AT_DISPATCH_FLOATING_TYPES(s[0].scalar_type(), "biased_softmax_backward", [&] {
      bias_dot = backward_kernel<scalar_t>(p, in, s[4], g, s[5], dq, dk, dv, dbias);
    });
    if (!dot) dq = dk = torch::Tensor();  // q and k are not read
    auto dscale = ctx->needs_input_grad(5) ? torch::full_like(s[7], bias_dot) : torch::Tensor();
    return {dq,
            dk,
            dv,
            torch::Tensor(),
            dbias,
            dscale,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace biased_softmax_kernel

bool biased_softmax_supported(const torch::Tensor& q) {
  return q.device().is_cpu() &&
         (q.scalar_type() == torch::kFloat || q.scalar_type() == torch::kDouble);
}

torch::Tensor biased_softmax_attention(const torch::Tensor& q, const torch::Tensor& k,
                                       const torch::Tensor& v, const torch::Tensor& key_mask,
                                       const torch::Tensor& bias, const torch::Tensor& bias_scale,
                                       double dropout, double scale, bool dot) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2);
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "biased_softmax_attention: expected q, k, v of one shape (B, H, L, D)");
  TORCH_CHECK(key_mask.dim() == 2 && key_mask.size(0) == B && key_mask.size(1) == L,
              "biased_softmax_attention: expected key_mask (B, L)");
  TORCH_CHECK(bias.dim() == 4 && (bias.size(0) == 1 || bias.size(0) == B) && bias.size(1) == H &&
                  bias.size(2) == L && bias.size(3) == L,
              "biased_softmax_attention: expected bias (1 or B, H, L, L)");
  TORCH_CHECK(biased_softmax_supported(q) && bias.scalar_type() == q.scalar_type(),
              "biased_softmax_attention: CPU float32/float64 only, bias of q's dtype");
  TORCH_CHECK(dropout >= 0.0 && dropout < 1.0, "biased_softmax_attention: dropout in [0, 1)");
  auto factor = bias_scale.defined() ? bias_scale.reshape({}).to(q.scalar_type())
                                     : torch::ones({}, q.options());
  return biased_softmax_kernel::BiasedSoftmaxFunction::apply(q, k, v, key_mask, bias, factor,
                                                             dropout, scale, dot);
}

torch::Tensor biased_softmax_attention_ops(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, const torch::Tensor& key_mask,
                                           const torch::Tensor& bias,
                                           const torch::Tensor& bias_scale, double dropout,
                                           double scale, bool dot, bool training) {
  auto scaled = bias_scale.defined() ? bias * bias_scale : bias;
  auto scores = dot ? torch::matmul(q, k.transpose(-2, -1)) * scale + scaled
                    : scaled.expand({q.size(0), q.size(1), q.size(2), q.size(2)});  // (B, H, L, L)
  // A finite mask keeps a sequence without real keys finite; beside a real key it underflows
  // to exactly 0 weight.
  auto weights = torch::softmax(scores.masked_fill(padded_key_columns(key_mask), -1e30), -1);
  if (training && dropout > 0.0) weights = torch::dropout(weights, dropout, true);
  return torch::matmul(weights, v);
}

}  // namespace lra
