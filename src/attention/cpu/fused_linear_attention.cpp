#include "attention/cpu/fused_linear_attention.h"

#include <algorithm>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/gemm.h"
#include "attention/cpu/maclaurin_products.h"
#include "attention/cpu/vector_math.h"

namespace lra {
namespace {

template <typename T>
constexpr T kInf = std::numeric_limits<T>::infinity();

// Row bh of a (BH, ...) tensor of per_head elements per row; null for undefined tensors (the
// shifts of maps without them).
template <typename T>
T* head_ptr(const torch::Tensor& t, int64_t bh, int64_t per_head) {
  return t.defined() ? t.data_ptr<T>() + bh * per_head : nullptr;
}

// Rows per block when not given: the block's widest per-row buffer (rows x width: features, or
// the Maclaurin factors) takes about 128 KiB in float32, so it and its gradient stay in L2 while
// the products run, and blocks are still wide enough for the GEMMs (m = 128: 256 rows). The
// width is the unpadded factor count: the Maclaurin buffers' padded stride makes them ~139 KiB
// at F = 255 (128 rows); 256- and 512-row blocks measured the same.
int64_t block_rows(int64_t wanted, int64_t length, int64_t width) {
  if (wanted > 0) return std::min(wanted, std::max<int64_t>(length, 1));
  const int64_t rows = (int64_t{1} << 15) / std::max<int64_t>(width, 1);
  return std::clamp<int64_t>(rows, 16, std::max<int64_t>(length, 16));
}

// The pointers and sizes of one (batch, head) that both maps share.
template <typename T>
struct Head {
  int64_t L, d, D, m;
  const T *x, *y, *v1;  // (L, d), (L, d), (L, D+1)

  Head(const LinearAttentionTensors& t, int64_t bh, int64_t features)
      : L(t.x3.size(1)),
        d(t.x3.size(2)),
        D(t.v1.size(2) - 1),
        m(features),
        x(head_ptr<T>(t.x3, bh, L * d)),
        y(head_ptr<T>(t.y3, bh, L * d)),
        v1(head_ptr<T>(t.v1, bh, L * (D + 1))) {}

  bool real(int64_t r) const { return v1[r * (D + 1) + D] != T(0); }
  bool any_real(int64_t r0, int64_t n) const {
    for (int64_t r = r0; r < r0 + n; ++r)
      if (real(r)) return true;
    return false;
  }
};

// Per-thread scratch for one block, shared by both maps.
template <typename T>
struct Scratch {
  std::vector<T> phi, dphi;  // (rows, m): features (log-features first for exp); their gradient
  std::vector<T> o1;         // (rows, D+1): [num, den] or its gradient
  std::vector<T> dsum;       // (D+1, m): d loss / d S^T
  Scratch(int64_t rows, int64_t m, int64_t D)
      : phi(rows * m), dphi(rows * m), o1(rows * (D + 1)), dsum((D + 1) * m) {}
};

// The exp maps' rows. key_logits leaves log-features and (if asked) returns their maximum over real
// keys; key_finish exponentiates them under the (batch, head) shift.
template <typename T>
class ExpRows {
 public:
  static constexpr bool kShifted = true;

  ExpRows(const ExpProjection& w, int64_t bh, int64_t rows)
      : m_(w.projection.size(1)),
        d_(w.projection.size(2)),
        pt_(w.projection_t.data_ptr<T>() +
            (w.projection_t.size(0) > 1 ? bh : 0) * w.projection_t.size(1) * m_),
        p_(w.projection.data_ptr<T>() + (w.projection.size(0) > 1 ? bh : 0) * m_ * d_),
        offset_(w.has_offset),
        half_square_(static_cast<T>(w.half_square)),
        minus_(rows) {}

  T key_logits(const Head<T>& h, int64_t r0, int64_t n, T* phi, bool want_top = true) {
    T top = -kInf<T>;
    for (int64_t r = 0; r < n; ++r) {  // s^2 |y|^2 / 2 per key, +inf where padded
      const T* y = h.y + (r0 + r) * d_;
      T sq = 0;
      for (int64_t i = 0; i < d_; ++i) sq += y[i] * y[i];
      minus_[r] = h.real(r0 + r) ? half_square_ * sq : kInf<T>;
    }
    log_features(h.y + r0 * d_, n, phi);
    for (int64_t r = 0; want_top && r < n; ++r)
      if (minus_[r] < kInf<T>)
        top = std::max(top, cpu::row_max(phi + r * m_, m_, -kInf<T>) - minus_[r]);
    return top;
  }

  void key_finish(int64_t n, T shift, T* phi) {
    for (int64_t r = 0; r < n; ++r) cpu::exp_shifted(phi + r * m_, m_, shift + minus_[r]);
  }

  // shift: the rows' shifts, found here (and stored) unless given.
  void query_features(const Head<T>& h, int64_t r0, int64_t n, T* phi, T* shift, bool given) {
    log_features(h.x + r0 * d_, n, phi);
    for (int64_t r = 0; r < n; ++r) {
      T* row = phi + r * m_;
      if (!given) shift[r] = cpu::row_max(row, m_, -kInf<T>);
      cpu::exp_shifted(row, m_, shift[r]);
    }
  }

  // dx (n, d) for rows [r0, r0 + n) given dphi (overwritten) and the features phi.
  void vjp(const Head<T>& h, int64_t r0, int64_t n, bool key, T* dphi, const T* phi, T* dx) {
    for (int64_t r = 0; r < n; ++r)  // d log phi; a key's row sum kept in minus_[r]
      minus_[r] = cpu::multiply_sum(dphi + r * m_, phi + r * m_, m_);
    cpu::gemm(false, false, n, d_, m_, T(1), dphi, m_, p_, d_, T(0), dx, d_);
    if (!key) return;
    for (int64_t r = 0; r < n; ++r) {  // through -s^2 |y|^2 / 2
      const T c = T(2) * half_square_ * minus_[r];
      const T* y = h.y + (r0 + r) * d_;
      for (int64_t i = 0; i < d_; ++i) dx[r * d_ + i] -= c * y[i];
    }
  }

 private:
  // phi (n, m) = x (n, d) P^T (+ the offset row).
  void log_features(const T* x, int64_t n, T* phi) const {
    if (offset_)
      for (int64_t r = 0; r < n; ++r) std::copy(pt_ + d_ * m_, pt_ + (d_ + 1) * m_, phi + r * m_);
    cpu::gemm(false, false, n, m_, d_, T(1), x, d_, pt_, m_, offset_ ? T(1) : T(0), phi, m_);
  }

  int64_t m_, d_;
  const T* pt_;  // (d, m) or (d + 1, m): P^T and the offset row
  const T* p_;   // (m, d)
  bool offset_;
  T half_square_;
  std::vector<T> minus_;  // (rows)
};

// SchoenbAt's Maclaurin rows: one GEMM gives every factor (kept for the vjp of the same block),
// the running products give the features. The factor count F is padded to a multiple of 16
// (zero factors the products never read): MKL runs odd widths such as 255 10-15% slower than 256
// when both threads run these GEMMs. The rows of the factor buffers are an odd number of 64-byte
// lines apart, so that a column of 128 of them does not fall into a few cache sets (a 1 KiB
// stride made the vjp's GEMM 30% slower).
template <typename T>
class MaclaurinRows {
 public:
  static constexpr bool kShifted = false;

  MaclaurinRows(const MaclaurinLayout& w, int64_t rows)
      : w_(w),
        m_(w.features),
        d_(w.factors_t.size(0)),
        F_((w.factors_t.size(1) + 15) / 16 * 16),
        ld_(odd_lines(F_)),
        factors_t_(d_ * F_, T(0)),
        factors_(F_ * d_, T(0)),
        proj_(rows * ld_),
        dproj_(rows * ld_, T(0)) {
    const int64_t F = w.factors_t.size(1);
    const T* t = w.factors_t.data_ptr<T>();  // (d, F)
    for (int64_t i = 0; i < d_; ++i) std::copy(t + i * F, t + (i + 1) * F, &factors_t_[i * F_]);
    std::copy(w.factors.data_ptr<T>(), w.factors.data_ptr<T>() + F * d_, factors_.begin());
  }

  T key_logits(const Head<T>& h, int64_t r0, int64_t n, T* phi, bool = true) {
    features(h.y + r0 * d_, n, phi);
    return -kInf<T>;
  }
  void key_finish(int64_t, T, T*) {}
  void query_features(const Head<T>& h, int64_t r0, int64_t n, T* phi, T*, bool) {
    features(h.x + r0 * d_, n, phi);
  }
  // The padded columns of dproj_ stay 0 (the vjp writes real factors only).
  void vjp(const Head<T>&, int64_t, int64_t n, bool, T* dphi, const T*, T* dx) {
    maclaurin_products_vjp_rows(proj_.data(), dphi, dproj_.data(), w_.scales.data_ptr<T>(),
                                w_.slot_offset.data(), w_.slot_count.data(),
                                static_cast<int64_t>(w_.slot_count.size()), ld_, m_, n);
    cpu::gemm(false, false, n, d_, F_, T(1), dproj_.data(), ld_, factors_.data(), d_, T(0), dx, d_);
  }

 private:
  void features(const T* x, int64_t n, T* phi) {
    cpu::gemm(false, false, n, F_, d_, T(1), x, d_, factors_t_.data(), F_, T(0), proj_.data(), ld_);
    for (int64_t r = 0; r < n; ++r) phi[r * m_] = static_cast<T>(w_.constant);
    maclaurin_products_rows(proj_.data(), phi, w_.scales.data_ptr<T>(), w_.slot_offset.data(),
                            w_.slot_count.data(), static_cast<int64_t>(w_.slot_count.size()), ld_,
                            m_, n);
  }

  // A row stride of an odd number of 64-byte lines, at least `columns` elements.
  static int64_t odd_lines(int64_t columns) {
    const int64_t per_line = 64 / static_cast<int64_t>(sizeof(T));
    const int64_t lines = (columns + per_line - 1) / per_line;
    return (lines | 1) * per_line;
  }

  const MaclaurinLayout& w_;
  int64_t m_, d_, F_, ld_;  // F_: the padded factor count; ld_: the factor buffers' row stride
  std::vector<T> factors_t_, factors_;  // (d, F_), (F_, d): the layout's, zero-padded
  std::vector<T> proj_, dproj_;         // (rows, ld_): factors and their gradient
};

// The products with a D+1 = 33 wide side run ~25% slower per FLOP in MKL than with 32, so
// the last column (the denominator's ones, or its gradient) goes through dot and axpy rows.

// sum_t (D+1, m) += a^T phi for a (n, D+1), phi (n, m).
template <typename T>
void accumulate_sum(const T* a, int64_t D, int64_t m, int64_t n, const T* phi, T* sum_t) {
  const int64_t D1 = D + 1;
  cpu::gemm(true, false, D, m, n, T(1), a, D1, phi, m, T(1), sum_t, m);
  for (int64_t r = 0; r < n; ++r)
    if (const T w = a[r * D1 + D]; w != T(0)) cpu::axpy(w, phi + r * m, sum_t + D * m, m);
}

// o1 (n, D+1) = phi sum_t^T for phi (n, m), sum_t (D+1, m).
template <typename T>
void contract_sum(const T* phi, const T* sum_t, int64_t D, int64_t m, int64_t n, T* o1) {
  const int64_t D1 = D + 1;
  cpu::gemm(false, true, n, D, m, T(1), phi, m, sum_t, m, T(0), o1, D1);
  for (int64_t r = 0; r < n; ++r) o1[r * D1 + D] = cpu::dot(phi + r * m, sum_t + D * m, m);
}

// S^T (D+1, m) and the key shift of one (batch, head). With shifts, blocks whose maximum exceeds
// the shift so far rescale what was summed (the online-softmax trick), so keys are visited once.
template <typename T, typename Rows>
T key_sum(const Head<T>& h, Rows& map, int64_t rows, Scratch<T>& s, T* sum_t) {
  const int64_t m = h.m, D1 = h.D + 1;
  std::fill(sum_t, sum_t + D1 * m, T(0));
  T shift = static_cast<T>(kNoKeyShift);
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    if (!h.any_real(r0, n)) continue;  // nothing reaches S from padded keys
    const T top = map.key_logits(h, r0, n, s.phi.data());
    if (Rows::kShifted && top > shift) {
      const T rescale = std::exp(shift - top);
      for (int64_t i = 0; i < D1 * m; ++i) sum_t[i] *= rescale;
      shift = top;
    }
    map.key_finish(n, shift, s.phi.data());
    accumulate_sum(h.v1 + r0 * D1, h.D, m, n, s.phi.data(), sum_t);
  }
  return shift;
}

template <typename T, typename Rows>
void forward_head(const Head<T>& h, Rows& map, int64_t rows, T eps, Scratch<T>& s, T* sum_t,
                  T* key_shift, T* out, T* den, T* query_shift) {
  const int64_t m = h.m, D = h.D, D1 = D + 1;
  const T shift = key_sum(h, map, rows, s, sum_t);
  if (key_shift) *key_shift = shift;
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    map.query_features(h, r0, n, s.phi.data(), query_shift ? query_shift + r0 : nullptr, false);
    contract_sum(s.phi.data(), sum_t, D, m, n, s.o1.data());
    for (int64_t r = 0; r < n; ++r) {
      const T* o1 = s.o1.data() + r * D1;
      const T inv = T(1) / std::max(o1[D], eps);
      T* o = out + (r0 + r) * D;
      for (int64_t j = 0; j < D; ++j) o[j] = o1[j] * inv;
      den[r0 + r] = o1[D];
    }
  }
}

template <typename T, typename Rows>
void backward_head(const Head<T>& h, Rows& map, int64_t rows, T eps, Scratch<T>& s, const T* sum_t,
                   T key_shift, const T* out, const T* den, T* query_shift, const T* g, T* dx,
                   T* dy, T* dv) {
  const int64_t m = h.m, d = h.d, D = h.D, D1 = D + 1;
  T *phi = s.phi.data(), *dphi = s.dphi.data(), *d_o1 = s.o1.data(), *dsum = s.dsum.data();
  std::fill(dsum, dsum + D1 * m, T(0));
  // Queries: d out / d [num, den] per row, then through phi(q) and into d S^T.
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    map.query_features(h, r0, n, phi, query_shift ? query_shift + r0 : nullptr, true);
    for (int64_t r = 0; r < n; ++r)
      output_grad_row(g + (r0 + r) * D, out + (r0 + r) * D, den[r0 + r], eps, D, d_o1 + r * D1);
    cpu::gemm(false, false, n, m, D1, T(1), d_o1, D1, sum_t, m, T(0), dphi, m);
    accumulate_sum(d_o1, D, m, n, phi, dsum);
    map.vjp(h, r0, n, false, dphi, phi, dx + r0 * d);
  }
  // Keys and values, through S^T = sum_j [v_j, 1] phi(k_j)^T.
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    if (!h.any_real(r0, n)) {  // padded keys: zero rows of [v, 1], so no gradient
      std::fill(dy + r0 * d, dy + (r0 + n) * d, T(0));
      std::fill(dv + r0 * D, dv + (r0 + n) * D, T(0));
      continue;
    }
    map.key_logits(h, r0, n, phi, /*want_top=*/false);
    map.key_finish(n, key_shift, phi);
    cpu::gemm(false, false, n, m, D1, T(1), h.v1 + r0 * D1, D1, dsum, m, T(0), dphi, m);
    cpu::gemm(false, true, n, D, m, T(1), phi, m, dsum, m, T(0), dv + r0 * D, D);
    for (int64_t r = 0; r < n; ++r)  // features of padded keys need not be 0 (Maclaurin)
      if (!h.real(r0 + r)) std::fill(dv + (r0 + r) * D, dv + (r0 + r + 1) * D, T(0));
    map.vjp(h, r0, n, true, dphi, phi, dy + r0 * d);
  }
}

// Runs fn(rows, bh) for bh in [b0, b1) with the map's row policy (the exp one holds per-head
// pointers, the Maclaurin one is made once per thread).
template <typename T, typename Fn>
void for_heads(const FusedFeatureMap& map, int64_t block, int64_t b0, int64_t b1, Fn&& fn) {
  if (const ExpProjection* w = map.exp) {
    for (int64_t bh = b0; bh < b1; ++bh) {
      ExpRows<T> rows(*w, bh, block);
      fn(rows, bh);
    }
  } else {
    MaclaurinRows<T> rows(*map.maclaurin, block);
    for (int64_t bh = b0; bh < b1; ++bh) fn(rows, bh);
  }
}

int64_t widest_row(const FusedFeatureMap& map) {
  const MaclaurinLayout* w = map.maclaurin;
  return w ? std::max(w->features, w->factors_t.size(1)) : map.features;
}

}  // namespace

bool fused_kernel_applies(const FusedFeatureMap& map, const LinearAttentionTensors& t) {
  const auto type = t.x3.scalar_type();
  if (!t.x3.is_cpu() || (type != torch::kFloat && type != torch::kDouble)) return false;
  std::vector<const torch::Tensor*> tensors = {&t.x3, &t.y3, &t.v1};
  if (const ExpProjection* w = map.exp) {
    tensors.insert(tensors.end(), {&w->projection, &w->projection_t});
  } else if (const MaclaurinLayout* w = map.maclaurin) {
    if (w->features < 2) return false;  // the constant feature alone: nothing to fuse
    tensors.insert(tensors.end(), {&w->factors_t, &w->factors, &w->scales});
  } else {
    return false;
  }
  for (const auto* p : tensors)
    if (p->scalar_type() != type || !p->is_contiguous()) return false;
  return true;
}

void fused_linear_attention_forward_cpu(const FusedFeatureMap& map, const LinearAttentionTensors& t,
                                        double eps, int64_t rows, int64_t b0, int64_t b1) {
  AT_DISPATCH_FLOATING_TYPES(t.x3.scalar_type(), "fused_linear_attention_forward_cpu", [&] {
    using T = scalar_t;
    const int64_t L = t.x3.size(1), D = t.v1.size(2) - 1, m = map.features;
    const int64_t block = block_rows(rows, L, widest_row(map));
    Scratch<T> s(block, m, D);
    for_heads<T>(map, block, b0, b1, [&](auto& map_rows, int64_t bh) {
      forward_head(Head<T>(t, bh, m), map_rows, block, static_cast<T>(eps), s,
                   head_ptr<T>(t.sum_t, bh, (D + 1) * m), head_ptr<T>(t.key_shift, bh, 1),
                   head_ptr<T>(t.out3, bh, L * D), head_ptr<T>(t.den, bh, L),
                   head_ptr<T>(t.query_shift, bh, L));
    });
  });
}

void fused_linear_attention_backward_cpu(const FusedFeatureMap& map,
                                         const LinearAttentionTensors& t, double eps, int64_t rows,
                                         int64_t b0, int64_t b1, const torch::Tensor& g,
                                         torch::Tensor& dx, torch::Tensor& dy, torch::Tensor& dv) {
  AT_DISPATCH_FLOATING_TYPES(t.x3.scalar_type(), "fused_linear_attention_backward_cpu", [&] {
    using T = scalar_t;
    const int64_t L = t.x3.size(1), d = t.x3.size(2), D = t.v1.size(2) - 1;
    const int64_t m = map.features, block = block_rows(rows, L, widest_row(map));
    Scratch<T> s(block, m, D);
    for_heads<T>(map, block, b0, b1, [&](auto& map_rows, int64_t bh) {
      const T* key_shift = head_ptr<T>(t.key_shift, bh, 1);
      backward_head(Head<T>(t, bh, m), map_rows, block, static_cast<T>(eps), s,
                    head_ptr<T>(t.sum_t, bh, (D + 1) * m), key_shift ? *key_shift : T(0),
                    head_ptr<T>(t.out3, bh, L * D), head_ptr<T>(t.den, bh, L),
                    head_ptr<T>(t.query_shift, bh, L), head_ptr<T>(g, bh, L * D),
                    head_ptr<T>(dx, bh, L * d), head_ptr<T>(dy, bh, L * d),
                    head_ptr<T>(dv, bh, L * D));
    });
  });
}

}  // namespace lra
