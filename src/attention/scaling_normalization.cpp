#include "attention/scaling_normalization.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/cpu/vector_math.h"

namespace lra {
namespace {

constexpr double kStdEps = 1e-12;     // the official PreSBN's epsilon
constexpr double kNormFloor = 1e-12;  // head_dim 1 standardises to 0; keep it 0, not NaN
constexpr int64_t kRowGrain = 256;    // rows per task of the fused passes
constexpr int64_t kBlockRows = 64;    // post-SBN rows per block (its scratch stays in L1)

// The float row passes are compiled once per vector width (cpu/vector_math.h: LRA_VECTOR_CLONES,
// picked when the library loads); their helpers are inlined into each clone.
#define LRA_INLINE inline __attribute__((always_inline))

// Rows of 16 V floats (head_dim 16, 32, 64, 128) held in V GCC vectors of 16 lanes: one zmm
// register each in the AVX-512 clone, two ymm in the AVX2 one, so one body serves every clone.
// The generic row loops below leave each reduction a chain of scalar adds, several times the
// cost of reading and writing the rows; here a row's reductions are four in-register shuffles.
// Every function taking or returning these vectors is inlined into a clone, so no call crosses
// the ABI that -Wpsabi warns about.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float Floats16 __attribute__((vector_size(64)));
typedef int Ints16 __attribute__((vector_size(64)));

LRA_INLINE Floats16 load16(const float* p) {
  Floats16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

LRA_INLINE void store16(float* p, Floats16 v) {
  std::memcpy(p, &v, sizeof v);
}

LRA_INLINE float lanes_sum(Floats16 v) {
  v += __builtin_shuffle(v, Ints16{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  v += __builtin_shuffle(v, Ints16{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11});
  v += __builtin_shuffle(v, Ints16{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13});
  v += __builtin_shuffle(v, Ints16{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14});
  return v[0];
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool fused_here(const torch::Tensor& x, bool cpu_row_loops) {
  const auto type = x.scalar_type();
  return cpu_row_loops && x.is_cpu() && (type == torch::kFloat || type == torch::kDouble) &&
         x.dim() >= 1 && x.size(-1) > 0;
}

double quarter_root_scale(int64_t d) {
  return std::pow(static_cast<double>(d), -0.25);
}

// ---------------------------------------------------------------------------------------------
// pre-SBN

// One row's y = s c / r with c = x - mean, sd = sqrt(|c|^2 / d + eps), r = sd max(|c| / sd, floor):
// the reference's two divisions as one. through_norm: the max took |c| / sd (so r = |c| and
// dr/dc = c / |c|); otherwise dr/dc = floor c / (d sd), through sd.
template <typename T>
struct RowScale {
  T mean, norm, sd, r;
  bool through_norm;
};

// sum_{i < d} term(i) in kLanes independent partial sums, which the compiler vectorises (one
// running float sum is a chain of d dependent adds per row, the passes' bottleneck).
template <typename T, typename Term>
LRA_INLINE T lane_sum(int64_t d, Term term) {
  constexpr int64_t kLanes = 8;
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= d; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += term(i + l);
  T sum = 0;
  for (; i < d; ++i) sum += term(i);
  for (int64_t l = 0; l < kLanes; ++l) sum += acc[l];
  return sum;
}

// square = |c|^2.
template <typename T>
LRA_INLINE RowScale<T> row_scale_from(T mean, T square, int64_t d) {
  const T norm = std::sqrt(square);
  const T sd = std::sqrt(square / static_cast<T>(d) + static_cast<T>(kStdEps));
  const T standardized = norm / sd;
  const bool through_norm = standardized >= static_cast<T>(kNormFloor);
  return {mean, norm, sd, sd * std::max(standardized, static_cast<T>(kNormFloor)), through_norm};
}

template <typename T>
LRA_INLINE RowScale<T> row_scale(const T* x, int64_t d) {
  const T mean = lane_sum<T>(d, [&](int64_t i) { return x[i]; }) / static_cast<T>(d);
  const T square = lane_sum<T>(d, [&](int64_t i) { return (x[i] - mean) * (x[i] - mean); });
  return row_scale_from(mean, square, d);
}

// The row's scale, leaving c = x - mean in c.
template <int V>
LRA_INLINE RowScale<float> row_scale16(const float* x, Floats16 (&c)[V]) {
  constexpr int64_t d = 16 * V;
  Floats16 sum = {};
  for (int v = 0; v < V; ++v) sum += c[v] = load16(x + 16 * v);
  const float mean = lanes_sum(sum) / static_cast<float>(d);
  Floats16 square = {};
  for (int v = 0; v < V; ++v) {
    c[v] -= mean;
    square += c[v] * c[v];
  }
  return row_scale_from(mean, lanes_sum(square), d);
}

template <typename T>
LRA_INLINE void pre_sbn_forward_rows(const T* x, T* y, int64_t begin, int64_t end, int64_t d, T s) {
  for (int64_t r = begin; r < end; ++r) {
    const T* xr = x + r * d;
    const RowScale<T> st = row_scale(xr, d);
    const T k = s / st.r;
    for (int64_t i = 0; i < d; ++i) y[r * d + i] = (xr[i] - st.mean) * k;
  }
}

template <int V>
LRA_INLINE void pre_sbn_forward_rows16(const float* x, float* y, int64_t begin, int64_t end,
                                       float s) {
  constexpr int64_t d = 16 * V;
  for (int64_t r = begin; r < end; ++r) {
    Floats16 c[V];
    const float k = s / row_scale16<V>(x + r * d, c).r;
    for (int v = 0; v < V; ++v) store16(y + r * d + 16 * v, c[v] * k);
  }
}

LRA_VECTOR_CLONES void pre_sbn_forward_rows_float(const float* x, float* y, int64_t begin,
                                                  int64_t end, int64_t d, float s) {
  switch (d) {
    case 16:
      return pre_sbn_forward_rows16<1>(x, y, begin, end, s);
    case 32:
      return pre_sbn_forward_rows16<2>(x, y, begin, end, s);
    case 64:
      return pre_sbn_forward_rows16<4>(x, y, begin, end, s);
    case 128:
      return pre_sbn_forward_rows16<8>(x, y, begin, end, s);
    default:
      pre_sbn_forward_rows<float>(x, y, begin, end, d, s);
  }
}

template <typename T>
void pre_sbn_forward_cpu(const T* x, T* y, int64_t rows, int64_t d, T s) {
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>)
      pre_sbn_forward_rows_float(x, y, begin, end, d, s);
    else
      pre_sbn_forward_rows<T>(x, y, begin, end, d, s);
  });
}

// dc = (s / r) g - (s (g . c) / r^2) dr/dc, then dx = dc - mean(dc) (the centering's backward).
template <typename T>
LRA_INLINE void pre_sbn_backward_rows(const T* x, const T* g, T* dx, int64_t begin, int64_t end,
                                      int64_t d, T s) {
  for (int64_t r = begin; r < end; ++r) {
    const T *xr = x + r * d, *gr = g + r * d;
    T* out = dx + r * d;
    const RowScale<T> st = row_scale(xr, d);
    const T gc = lane_sum<T>(d, [&](int64_t i) { return gr[i] * (xr[i] - st.mean); });
    const T a = s / st.r;
    const T dr =
        st.through_norm ? 1 / st.norm : static_cast<T>(kNormFloor) / (static_cast<T>(d) * st.sd);
    const T b = a * gc / st.r * dr;
    for (int64_t i = 0; i < d; ++i) out[i] = a * gr[i] - b * (xr[i] - st.mean);
    const T mean = lane_sum<T>(d, [&](int64_t i) { return out[i]; }) / static_cast<T>(d);
    for (int64_t i = 0; i < d; ++i) out[i] -= mean;
  }
}

template <int V>
LRA_INLINE void pre_sbn_backward_rows16(const float* x, const float* g, float* dx, int64_t begin,
                                        int64_t end, float s) {
  constexpr int64_t d = 16 * V;
  for (int64_t r = begin; r < end; ++r) {
    Floats16 c[V], gr[V], out[V];
    const RowScale<float> st = row_scale16<V>(x + r * d, c);
    Floats16 gc = {};
    for (int v = 0; v < V; ++v) {
      gr[v] = load16(g + r * d + 16 * v);
      gc += gr[v] * c[v];
    }
    const float a = s / st.r;
    const float dr = st.through_norm
                         ? 1 / st.norm
                         : static_cast<float>(kNormFloor) / (static_cast<float>(d) * st.sd);
    const float b = a * lanes_sum(gc) / st.r * dr;
    Floats16 sum = {};
    for (int v = 0; v < V; ++v) sum += out[v] = a * gr[v] - b * c[v];
    const float mean = lanes_sum(sum) / static_cast<float>(d);
    for (int v = 0; v < V; ++v) store16(dx + r * d + 16 * v, out[v] - mean);
  }
}

LRA_VECTOR_CLONES void pre_sbn_backward_rows_float(const float* x, const float* g, float* dx,
                                                   int64_t begin, int64_t end, int64_t d, float s) {
  switch (d) {
    case 16:
      return pre_sbn_backward_rows16<1>(x, g, dx, begin, end, s);
    case 32:
      return pre_sbn_backward_rows16<2>(x, g, dx, begin, end, s);
    case 64:
      return pre_sbn_backward_rows16<4>(x, g, dx, begin, end, s);
    case 128:
      return pre_sbn_backward_rows16<8>(x, g, dx, begin, end, s);
    default:
      pre_sbn_backward_rows<float>(x, g, dx, begin, end, d, s);
  }
}

template <typename T>
void pre_sbn_backward_cpu(const T* x, const T* g, T* dx, int64_t rows, int64_t d, T s) {
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>)
      pre_sbn_backward_rows_float(x, g, dx, begin, end, d, s);
    else
      pre_sbn_backward_rows<T>(x, g, dx, begin, end, d, s);
  });
}

class PreSbnFunction : public torch::autograd::Function<PreSbnFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);  // (..., d)
    const int64_t d = x.size(-1), rows = x.numel() / d;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pre_sbn_forward_cpu", [&] {
      pre_sbn_forward_cpu<scalar_t>(xc.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), rows, d,
                                    static_cast<scalar_t>(quarter_root_scale(d)));
    });
    ctx->save_for_backward({xc});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto xc = ctx->get_saved_variables()[0];
    auto g = grads[0].contiguous();
    auto dx = torch::empty_like(xc);  // (..., d)
    const int64_t d = xc.size(-1), rows = xc.numel() / d;
    AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "pre_sbn_backward_cpu", [&] {
      pre_sbn_backward_cpu<scalar_t>(xc.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                                     dx.data_ptr<scalar_t>(), rows, d,
                                     static_cast<scalar_t>(quarter_root_scale(d)));
    });
    return {dx};
  }
};

// pre_sbn's two divisions are per-vector scalars: with c = x - mean and |c|^2 = d var, the
// result is c / (sqrt(var + eps) max(sqrt(d var / (var + eps)), floor)), i.e. one reduction
// besides the mean, and three elementwise passes over (.., d) instead of eight.
torch::Tensor schoenbat_normalize_ops(const torch::Tensor& x) {
  const double d = static_cast<double>(x.size(-1));
  auto centered = x - x.mean(-1, /*keepdim=*/true);
  auto norm = torch::linalg_vector_norm(centered, 2, {-1}, /*keepdim=*/true);  // (.., 1)
  auto var = norm.square() / d;
  auto std_dev = torch::sqrt(var + kStdEps);
  auto standardized_norm = (norm / std_dev).clamp_min(kNormFloor);
  return centered * (std::pow(d, -0.25) / (std_dev * standardized_norm));
}

// ---------------------------------------------------------------------------------------------
// post-SBN

// p = max(|z|, floor)^(beta - 1) for a block of rows (rows x D entries), as exp((beta - 1)
// log a); log_a receives log a. float: the vector loops; double: libm.
template <typename T>
LRA_INLINE void post_sbn_power_block(const T* z, int64_t rows, int64_t D, const T* beta, T* log_a,
                                     T* p) {
  const int64_t n = rows * D;
  for (int64_t i = 0; i < n; ++i)
    log_a[i] = std::max(std::abs(z[i]), static_cast<T>(kPostSbnFloor));
  cpu::log_inplace(log_a, n);
  // float's exp would wrap past e^88; the reference's pow gives inf there, this the largest float.
  constexpr T kTop = std::is_same_v<T, float> ? T(88.7) : T(709.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < D; ++j) p[r * D + j] = std::min((beta[j] - 1) * log_a[r * D + j], kTop);
  cpu::exp_shifted(p, n, T(0));
}

LRA_VECTOR_CLONES void post_sbn_power_float(const float* z, int64_t rows, int64_t D,
                                            const float* beta, float* log_a, float* p) {
  post_sbn_power_block<float>(z, rows, D, beta, log_a, p);
}

template <typename T>
void post_sbn_power(const T* z, int64_t rows, int64_t D, const T* beta, T* log_a, T* p) {
  if constexpr (std::is_same_v<T, float>)
    post_sbn_power_float(z, rows, D, beta, log_a, p);
  else
    post_sbn_power_block<T>(z, rows, D, beta, log_a, p);
}

template <typename T>
void post_sbn_forward_cpu(const T* z, T* y, int64_t rows, int64_t D, const T* beta, T gamma) {
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<T> log_a(kBlockRows * D), p(kBlockRows * D);
    for (int64_t r = begin; r < end; r += kBlockRows) {
      const int64_t block = std::min(kBlockRows, end - r);
      const T* zb = z + r * D;
      post_sbn_power(zb, block, D, beta, log_a.data(), p.data());
      for (int64_t i = 0; i < block * D; ++i) y[r * D + i] = gamma * zb[i] * p[i];
    }
  });
}

// One block of post-SBN's backward given p and log a: dz, and the float sums of d gamma and
// d beta / gamma per column.
template <typename T>
LRA_INLINE void post_sbn_backward_block(const T* z, const T* g, const T* p, const T* log_a,
                                        int64_t rows, int64_t D, const T* beta, T gamma, T* dz,
                                        T* gamma_acc, T* beta_acc) {
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t j = 0; j < D; ++j) {
      const int64_t i = row * D + j;
      const T t = g[i] * z[i] * p[i];
      const T slope = std::abs(z[i]) >= static_cast<T>(kPostSbnFloor) ? beta[j] : T(1);
      dz[i] = gamma * g[i] * p[i] * slope;
      gamma_acc[j] += t;
      beta_acc[j] += t * log_a[i];
    }
  }
}

// The same for rows of 16 V floats, the column sums in registers (the loop above runs scalar:
// the sums may alias dz as far as the compiler knows).
template <int V>
LRA_INLINE void post_sbn_backward_block16(const float* z, const float* g, const float* p,
                                          const float* log_a, int64_t rows, const float* beta,
                                          float gamma, float* dz, float* gamma_acc,
                                          float* beta_acc) {
  constexpr int64_t D = 16 * V;
  const Ints16 magnitude_bits = Ints16{} + 0x7fffffff;
  Floats16 b[V], gamma_sum[V] = {}, beta_sum[V] = {};
  for (int v = 0; v < V; ++v) b[v] = load16(beta + 16 * v);
  for (int64_t row = 0; row < rows; ++row) {
    for (int v = 0; v < V; ++v) {
      const int64_t i = row * D + 16 * v;
      const Floats16 zi = load16(z + i), gp = load16(g + i) * load16(p + i);
      const Floats16 abs_z = (Floats16)((Ints16)zi & magnitude_bits);
      const Floats16 t = gp * zi;
      const Floats16 slope = abs_z >= static_cast<float>(kPostSbnFloor) ? b[v] : Floats16{} + 1;
      store16(dz + i, gamma * gp * slope);
      gamma_sum[v] += t;
      beta_sum[v] += t * load16(log_a + i);
    }
  }
  for (int v = 0; v < V; ++v) {
    store16(gamma_acc + 16 * v, load16(gamma_acc + 16 * v) + gamma_sum[v]);
    store16(beta_acc + 16 * v, load16(beta_acc + 16 * v) + beta_sum[v]);
  }
}

LRA_VECTOR_CLONES void post_sbn_backward_block_float(const float* z, const float* g, const float* p,
                                                     const float* log_a, int64_t rows, int64_t D,
                                                     const float* beta, float gamma, float* dz,
                                                     float* gamma_acc, float* beta_acc) {
  // Explicit calls: a lambda's body would not be compiled for the clone's target.
  switch (D) {
    case 16:
      return post_sbn_backward_block16<1>(z, g, p, log_a, rows, beta, gamma, dz, gamma_acc,
                                          beta_acc);
    case 32:
      return post_sbn_backward_block16<2>(z, g, p, log_a, rows, beta, gamma, dz, gamma_acc,
                                          beta_acc);
    case 64:
      return post_sbn_backward_block16<4>(z, g, p, log_a, rows, beta, gamma, dz, gamma_acc,
                                          beta_acc);
    case 128:
      return post_sbn_backward_block16<8>(z, g, p, log_a, rows, beta, gamma, dz, gamma_acc,
                                          beta_acc);
    default:
      post_sbn_backward_block<float>(z, g, p, log_a, rows, D, beta, gamma, dz, gamma_acc, beta_acc);
  }
}

// y = gamma z p: dz = gamma g p (1 + (beta - 1) [|z| >= floor]), d gamma = sum g z p,
// d beta_j = gamma sum_rows g z p log a. Sums: per range of rows in float64, added at the end.
template <typename T>
void post_sbn_backward_cpu(const T* z, const T* g, T* dz, int64_t rows, int64_t D, const T* beta,
                           T gamma, double* d_gamma, double* d_beta) {
  const int64_t ranges = std::max<int64_t>(
      1, std::min<int64_t>(at::get_num_threads(), (rows + kRowGrain - 1) / kRowGrain));
  std::vector<double> partial(static_cast<size_t>(ranges * (D + 1)), 0.0);  // (ranges, D + 1)
  at::parallel_for(0, ranges, 1, [&](int64_t first, int64_t last) {
    std::vector<T> log_a(kBlockRows * D), p(kBlockRows * D);
    for (int64_t c = first; c < last; ++c) {
      // Per column: d beta_j / gamma, then d gamma's share (summed over columns at the end).
      std::vector<T> beta_acc(static_cast<size_t>(D), T(0)),
          gamma_acc(static_cast<size_t>(D), T(0));
      const int64_t begin = rows * c / ranges, end = rows * (c + 1) / ranges;
      for (int64_t r = begin; r < end; r += kBlockRows) {
        const int64_t block = std::min(kBlockRows, end - r);
        const T *zb = z + r * D, *gb = g + r * D;
        T* db = dz + r * D;
        post_sbn_power(zb, block, D, beta, log_a.data(), p.data());
        if constexpr (std::is_same_v<T, float>)
          post_sbn_backward_block_float(zb, gb, p.data(), log_a.data(), block, D, beta, gamma, db,
                                        gamma_acc.data(), beta_acc.data());
        else
          post_sbn_backward_block<T>(zb, gb, p.data(), log_a.data(), block, D, beta, gamma, db,
                                     gamma_acc.data(), beta_acc.data());
        // Blocks of float sums, then float64 across blocks.
        double* acc = partial.data() + c * (D + 1);  // d beta_0..D-1 / gamma, then d gamma
        for (int64_t j = 0; j < D; ++j) {
          acc[j] += static_cast<double>(beta_acc[j]);
          acc[D] += static_cast<double>(gamma_acc[j]);
          beta_acc[j] = gamma_acc[j] = T(0);
        }
      }
    }
  });
  for (int64_t c = 0; c < ranges; ++c) {
    const double* acc = partial.data() + c * (D + 1);
    for (int64_t j = 0; j < D; ++j) d_beta[j] += static_cast<double>(gamma) * acc[j];
    *d_gamma += acc[D];
  }
}

class PostSbnFunction : public torch::autograd::Function<PostSbnFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& z,
                               const torch::Tensor& gamma, const torch::Tensor& beta) {
    auto zc = z.contiguous();
    auto b = beta.contiguous();
    auto y = torch::empty_like(zc);  // (..., D)
    const int64_t D = z.size(-1), rows = z.numel() / D;
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "post_sbn_forward_cpu", [&] {
      post_sbn_forward_cpu<scalar_t>(zc.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), rows, D,
                                     b.data_ptr<scalar_t>(), gamma.item<scalar_t>());
    });
    ctx->save_for_backward({zc, gamma, b});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &zc = saved[0], &gamma = saved[1], &b = saved[2];
    auto g = grads[0].contiguous();
    auto dz = torch::empty_like(zc);  // (..., D)
    const int64_t D = zc.size(-1), rows = zc.numel() / D;
    std::vector<double> d_beta(static_cast<size_t>(D), 0.0);
    double d_gamma = 0.0;
    AT_DISPATCH_FLOATING_TYPES(zc.scalar_type(), "post_sbn_backward_cpu", [&] {
      post_sbn_backward_cpu<scalar_t>(zc.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                                      dz.data_ptr<scalar_t>(), rows, D, b.data_ptr<scalar_t>(),
                                      gamma.item<scalar_t>(), &d_gamma, d_beta.data());
    });
    auto as_grad = [](std::vector<double> values, const torch::Tensor& like) {
      return torch::tensor(values, torch::kFloat64).to(like.scalar_type()).view(like.sizes());
    };
    return {dz, as_grad({d_gamma}, gamma), as_grad(d_beta, b)};
  }
};

torch::Tensor post_sbn_ops(const torch::Tensor& z, const torch::Tensor& gamma,
                           const torch::Tensor& beta) {
  return gamma * z * z.abs().clamp_min(kPostSbnFloor).pow(beta - 1.0);
}

}  // namespace

torch::Tensor pre_sbn(const torch::Tensor& x) {
  auto centered = x - x.mean(-1, /*keepdim=*/true);
  auto var = centered.pow(2).mean(-1, /*keepdim=*/true);  // biased, as the official code
  auto standardized = centered / torch::sqrt(var + kStdEps);
  return standardized / standardized.norm(2, -1, /*keepdim=*/true).clamp_min(kNormFloor);
}

torch::Tensor schoenbat_normalize(const torch::Tensor& x, bool cpu_row_loops) {
  if (!fused_here(x, cpu_row_loops)) return schoenbat_normalize_ops(x);
  return PreSbnFunction::apply(x);
}

torch::Tensor post_sbn(const torch::Tensor& z, const torch::Tensor& gamma,
                       const torch::Tensor& beta, bool cpu_row_loops) {
  TORCH_CHECK(gamma.numel() == 1 && beta.dim() == 1 && beta.size(0) == z.size(-1),
              "post_sbn: expected gamma (1) and beta (", z.size(-1), ")");
  if (!fused_here(z, cpu_row_loops) || gamma.scalar_type() != z.scalar_type() ||
      beta.scalar_type() != z.scalar_type() || !gamma.is_cpu() || !beta.is_cpu())
    return post_sbn_ops(z, gamma, beta);
  return PostSbnFunction::apply(z, gamma, beta);
}

}  // namespace lra
