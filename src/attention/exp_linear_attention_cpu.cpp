#include "attention/exp_linear_attention_cpu.h"

#include <algorithm>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu_gemm.h"
#include "attention/cpu_vector_math.h"

namespace lra {
namespace {

template <typename T>
constexpr T kInf = std::numeric_limits<T>::infinity();

// Rows per block when not given: the block's log-features (rows x m) take 128 KiB in float32, so
// they and their gradient stay in L2 while the products run, and blocks are still wide enough for
// the GEMMs (m = 128: 256 rows).
int64_t block_rows(int64_t wanted, int64_t length, int64_t m) {
  if (wanted > 0) return std::min(wanted, std::max<int64_t>(length, 1));
  const int64_t rows = (int64_t{1} << 15) / std::max<int64_t>(m, 1);
  return std::clamp<int64_t>(rows, 16, std::max<int64_t>(length, 16));
}

// The pointers and sizes of one (batch, head).
template <typename T>
struct Head {
  int64_t L, d, D, m;
  const T *x, *y, *v1;  // (L, d), (L, d), (L, D+1)
  const T* pt;          // (d, m) or (d + 1, m): P^T and the offset row
  const T* p;           // (m, d)
  bool offset;
  T half_square;

  Head(const ExpProjection& w, const LinearAttentionTensors& t, int64_t bh)
      : L(t.x3.size(1)),
        d(t.x3.size(2)),
        D(t.v1.size(2) - 1),
        m(w.projection.size(1)),
        x(t.x3.data_ptr<T>() + bh * L * d),
        y(t.y3.data_ptr<T>() + bh * L * d),
        v1(t.v1.data_ptr<T>() + bh * L * (D + 1)),
        pt(w.projection_t.data_ptr<T>() +
           (w.projection_t.size(0) > 1 ? bh : 0) * w.projection_t.size(1) * m),
        p(w.projection.data_ptr<T>() + (w.projection.size(0) > 1 ? bh : 0) * m * d),
        offset(w.has_offset),
        half_square(static_cast<T>(w.half_square)) {}
};

// Per-thread scratch for one block.
template <typename T>
struct Scratch {
  std::vector<T> phi, dphi;  // (rows, m): log-features, then features; their gradient
  std::vector<T> o1;         // (rows, D+1): [num, den] or its gradient
  std::vector<T> minus;      // (rows): s^2 |y|^2 / 2 of key rows, +inf for padded ones
  std::vector<T> dsum;       // (D+1, m): d loss / d S^T
  Scratch(int64_t rows, int64_t m, int64_t D)
      : phi(rows * m), dphi(rows * m), o1(rows * (D + 1)), minus(rows), dsum((D + 1) * m) {}
};

// phi (n, m) = x (n, d) P^T (+ the offset row).
template <typename T>
void log_features(const Head<T>& h, const T* x, int64_t n, T* phi) {
  if (h.offset)
    for (int64_t r = 0; r < n; ++r)
      std::copy(h.pt + h.d * h.m, h.pt + (h.d + 1) * h.m, phi + r * h.m);
  cpu::gemm(false, false, n, h.m, h.d, T(1), x, h.d, h.pt, h.m, h.offset ? T(1) : T(0), phi, h.m);
}

// minus[r] = s^2 |y_r|^2 / 2 for the keys of rows [r0, r0 + n), +inf where padded; false when
// every one of them is padded.
template <typename T>
bool key_terms(const Head<T>& h, int64_t r0, int64_t n, T* minus) {
  bool any = false;
  for (int64_t r = 0; r < n; ++r) {
    const T* y = h.y + (r0 + r) * h.d;
    const bool real = h.v1[(r0 + r) * (h.D + 1) + h.D] != T(0);
    T sq = 0;
    for (int64_t i = 0; i < h.d; ++i) sq += y[i] * y[i];
    minus[r] = real ? h.half_square * sq : kInf<T>;
    any = any || real;
  }
  return any;
}

// The key features of rows [r0, r0 + n) under the (batch, head) shift: exp(log phi - shift -
// minus), 0 for padded keys.
template <typename T>
void key_features(const Head<T>& h, int64_t r0, int64_t n, T shift, Scratch<T>& s) {
  log_features(h, h.y + r0 * h.d, n, s.phi.data());
  for (int64_t r = 0; r < n; ++r) cpu::exp_shifted(s.phi.data() + r * h.m, h.m, shift + s.minus[r]);
}

// S^T (D+1, m) and the key shift of one (batch, head): blocks whose maximum exceeds the shift so
// far rescale what was summed (the online-softmax trick), so keys are visited once.
template <typename T>
T key_sum(const Head<T>& h, int64_t rows, Scratch<T>& s, T* sum_t) {
  const int64_t m = h.m, D1 = h.D + 1;
  std::fill(sum_t, sum_t + D1 * m, T(0));
  T shift = static_cast<T>(kNoKeyShift);
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    if (!key_terms(h, r0, n, s.minus.data())) continue;  // every key padded: phi = 0
    log_features(h, h.y + r0 * h.d, n, s.phi.data());
    T top = -kInf<T>;
    for (int64_t r = 0; r < n; ++r)
      if (s.minus[r] < kInf<T>)
        top = std::max(top, cpu::row_max(s.phi.data() + r * m, m, -kInf<T>) - s.minus[r]);
    if (top > shift) {
      const T rescale = std::exp(shift - top);
      for (int64_t i = 0; i < D1 * m; ++i) sum_t[i] *= rescale;
      shift = top;
    }
    for (int64_t r = 0; r < n; ++r) cpu::exp_shifted(s.phi.data() + r * m, m, shift + s.minus[r]);
    cpu::gemm(true, false, D1, m, n, T(1), h.v1 + r0 * D1, D1, s.phi.data(), m, T(1), sum_t, m);
  }
  return shift;
}

template <typename T>
void forward_head(const Head<T>& h, int64_t rows, T eps, Scratch<T>& s, T* sum_t, T* key_shift,
                  T* out, T* den, T* query_shift) {
  const int64_t m = h.m, D = h.D, D1 = D + 1;
  *key_shift = key_sum(h, rows, s, sum_t);
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    log_features(h, h.x + r0 * h.d, n, s.phi.data());
    for (int64_t r = 0; r < n; ++r) {
      T* row = s.phi.data() + r * m;
      const T top = cpu::row_max(row, m, -kInf<T>);
      cpu::exp_shifted(row, m, top);
      query_shift[r0 + r] = top;
    }
    cpu::gemm(false, true, n, D1, m, T(1), s.phi.data(), m, sum_t, m, T(0), s.o1.data(), D1);
    for (int64_t r = 0; r < n; ++r) {
      const T* o1 = s.o1.data() + r * D1;
      const T inv = T(1) / std::max(o1[D], eps);
      T* o = out + (r0 + r) * D;
      for (int64_t j = 0; j < D; ++j) o[j] = o1[j] * inv;
      den[r0 + r] = o1[D];
    }
  }
}

template <typename T>
void backward_head(const Head<T>& h, int64_t rows, T eps, Scratch<T>& s, const T* sum_t,
                   T key_shift, const T* out, const T* den, const T* query_shift, const T* g, T* dx,
                   T* dy, T* dv) {
  const int64_t m = h.m, d = h.d, D = h.D, D1 = D + 1;
  T *phi = s.phi.data(), *dphi = s.dphi.data(), *d_o1 = s.o1.data(), *dsum = s.dsum.data();
  std::fill(dsum, dsum + D1 * m, T(0));
  // Queries: d out / d [num, den] per row, then through phi(q) and into d S^T.
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    log_features(h, h.x + r0 * d, n, phi);
    for (int64_t r = 0; r < n; ++r) {
      cpu::exp_shifted(phi + r * m, m, query_shift[r0 + r]);
      output_grad_row(g + (r0 + r) * D, out + (r0 + r) * D, den[r0 + r], eps, D, d_o1 + r * D1);
    }
    cpu::gemm(false, false, n, m, D1, T(1), d_o1, D1, sum_t, m, T(0), dphi, m);
    cpu::gemm(true, false, D1, m, n, T(1), d_o1, D1, phi, m, T(1), dsum, m);
    for (int64_t r = 0; r < n; ++r) cpu::multiply_sum(dphi + r * m, phi + r * m, m);  // d log phi
    cpu::gemm(false, false, n, d, m, T(1), dphi, m, h.p, d, T(0), dx + r0 * d, d);
  }
  // Keys and values, through S^T = sum_j [v_j, 1] phi(k_j)^T.
  for (int64_t r0 = 0; r0 < h.L; r0 += rows) {
    const int64_t n = std::min(rows, h.L - r0);
    if (!key_terms(h, r0, n, s.minus.data())) {  // phi = 0: no gradient reaches these rows
      std::fill(dy + r0 * d, dy + (r0 + n) * d, T(0));
      std::fill(dv + r0 * D, dv + (r0 + n) * D, T(0));
      continue;
    }
    key_features(h, r0, n, key_shift, s);
    cpu::gemm(false, false, n, m, D1, T(1), h.v1 + r0 * D1, D1, dsum, m, T(0), dphi, m);
    T* dyb = dy + r0 * d;
    cpu::gemm(false, true, n, D, m, T(1), phi, m, dsum, m, T(0), dv + r0 * D, D);
    for (int64_t r = 0; r < n; ++r)  // d log phi, its row sum kept in minus[r] (no longer needed)
      s.minus[r] = cpu::multiply_sum(dphi + r * m, phi + r * m, m);
    cpu::gemm(false, false, n, d, m, T(1), dphi, m, h.p, d, T(0), dyb, d);
    for (int64_t r = 0; r < n; ++r) {  // through -s^2 |y|^2 / 2
      const T c = T(2) * h.half_square * s.minus[r];
      const T* y = h.y + (r0 + r) * d;
      for (int64_t i = 0; i < d; ++i) dyb[r * d + i] -= c * y[i];
    }
  }
}

template <typename T>
const T* ptr(const torch::Tensor& t) {
  return t.data_ptr<T>();
}

}  // namespace

bool exp_kernel_applies(const ExpProjection& w, const LinearAttentionTensors& t) {
  const auto type = t.x3.scalar_type();
  if (!t.x3.is_cpu() || (type != torch::kFloat && type != torch::kDouble)) return false;
  for (const auto* p : {&w.projection, &w.projection_t, &t.x3, &t.y3, &t.v1})
    if (p->scalar_type() != type || !p->is_contiguous()) return false;
  return true;
}

void exp_linear_attention_forward_cpu(const ExpProjection& w, const LinearAttentionTensors& t,
                                      double eps, int64_t rows, int64_t b0, int64_t b1) {
  AT_DISPATCH_FLOATING_TYPES(t.x3.scalar_type(), "exp_linear_attention_forward_cpu", [&] {
    using T = scalar_t;
    const int64_t L = t.x3.size(1), D = t.v1.size(2) - 1, m = w.projection.size(1);
    const int64_t block = block_rows(rows, L, m);
    Scratch<T> s(block, m, D);
    for (int64_t bh = b0; bh < b1; ++bh)
      forward_head(Head<T>(w, t, bh), block, static_cast<T>(eps), s,
                   t.sum_t.data_ptr<T>() + bh * (D + 1) * m, t.key_shift.data_ptr<T>() + bh,
                   t.out3.data_ptr<T>() + bh * L * D, t.den.data_ptr<T>() + bh * L,
                   t.query_shift.data_ptr<T>() + bh * L);
  });
}

void exp_linear_attention_backward_cpu(const ExpProjection& w, const LinearAttentionTensors& t,
                                       double eps, int64_t rows, int64_t b0, int64_t b1,
                                       const torch::Tensor& g, torch::Tensor& dx, torch::Tensor& dy,
                                       torch::Tensor& dv) {
  AT_DISPATCH_FLOATING_TYPES(t.x3.scalar_type(), "exp_linear_attention_backward_cpu", [&] {
    using T = scalar_t;
    const int64_t L = t.x3.size(1), d = t.x3.size(2), D = t.v1.size(2) - 1;
    const int64_t m = w.projection.size(1), block = block_rows(rows, L, m);
    Scratch<T> s(block, m, D);
    for (int64_t bh = b0; bh < b1; ++bh)
      backward_head(
          Head<T>(w, t, bh), block, static_cast<T>(eps), s, ptr<T>(t.sum_t) + bh * (D + 1) * m,
          ptr<T>(t.key_shift)[bh], ptr<T>(t.out3) + bh * L * D, ptr<T>(t.den) + bh * L,
          ptr<T>(t.query_shift) + bh * L, ptr<T>(g) + bh * L * D, dx.data_ptr<T>() + bh * L * d,
          dy.data_ptr<T>() + bh * L * d, dv.data_ptr<T>() + bh * L * D);
  });
}

}  // namespace lra
