#include "attention/cpu/maclaurin_products.h"

#include <algorithm>
#include <type_traits>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#if LRA_X86_VECTOR
#include <immintrin.h>
#endif

namespace lra {
namespace {

// Rows per task of the outer parallel loop (inside a thread's own slice it runs inline).
constexpr int64_t kRowGrain = 64;

struct Slots {
  const int64_t* offset;
  const int64_t* count;
  int64_t n;
};

// The plain loops: the float64 path, and float32 where the CPU has no vector path.
template <typename T>
void products_rows(const T* proj, T* phi, const T* scales, Slots s, int64_t F, int64_t m,
                   int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* p = proj + r * F;
    T* __restrict random = phi + r * m + 1;
    const T* __restrict first = p + s.offset[0];
    for (int64_t f = 0; f < s.count[0]; ++f) random[f] = first[f];
    for (int64_t j = 1; j < s.n; ++j) {
      const T* __restrict slot = p + s.offset[j];
      for (int64_t f = 0; f < s.count[j]; ++f) random[f] *= slot[f];
    }
    for (int64_t f = 0; f < m - 1; ++f) random[f] *= scales[f];
  }
}

template <typename T>
void products_vjp_rows(const T* proj, const T* dphi, T* dproj, const T* scales, Slots s, int64_t F,
                       int64_t m, int64_t rows) {
  std::vector<T> running(static_cast<size_t>(m - 1));
  T* __restrict acc = running.data();
  for (int64_t r = 0; r < rows; ++r) {
    const T* p = proj + r * F;
    T* dp = dproj + r * F;
    const T* __restrict g = dphi + r * m + 1;
    // Down the slots: dp[j] = g s prod_{i < j} p[i], with the running prefix in acc.
    for (int64_t f = 0; f < m - 1; ++f) acc[f] = g[f] * scales[f];
    for (int64_t j = 0; j < s.n; ++j) {
      const T* __restrict slot = p + s.offset[j];
      T* __restrict dslot = dp + s.offset[j];
      for (int64_t f = 0; f < s.count[j]; ++f) {
        dslot[f] = acc[f];
        acc[f] *= slot[f];
      }
    }
    // Up the slots: dp[j] *= prod_{i > j} p[i], with the running suffix in acc.
    for (int64_t f = 0; f < m - 1; ++f) acc[f] = T(1);
    for (int64_t j = s.n - 1; j >= 0; --j) {
      const T* __restrict slot = p + s.offset[j];
      T* __restrict dslot = dp + s.offset[j];
      for (int64_t f = 0; f < s.count[j]; ++f) {
        dslot[f] *= acc[f];
        acc[f] *= slot[f];
      }
    }
  }
}

#if LRA_X86_VECTOR
// Slots the vector vjp keeps on its stack (attention.max_degree is at most 64); layouts with more
// take the plain loops.
constexpr int64_t kVectorSlots = 64;

// The vector loops go feature-block by feature-block instead of slot by slot: a block's running
// product stays in one register across its slots, so each factor is loaded once and each
// feature stored once (the plain loops store the running row once per slot). Slot counts do not
// grow with j, so the slots covering block f0 are the first ones with count > f0, and lanes past
// a slot's count are past every later slot's too: the products read 1 there (a lower slot may
// still cover the lane) and nothing is stored there.
LRA_AVX512 inline __mmask16 lanes_below(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
}

LRA_AVX512 void products_rows_avx512(const float* proj, float* phi, const float* scales, Slots s,
                                     int64_t F, int64_t m, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = proj + r * F;
    float* random = phi + r * m + 1;
    for (int64_t f0 = 0; f0 < m - 1; f0 += 16) {
      const __mmask16 all = lanes_below(m - 1 - f0);
      __m512 acc = _mm512_mul_ps(_mm512_maskz_loadu_ps(all, scales + f0),
                                 _mm512_maskz_loadu_ps(all, p + s.offset[0] + f0));
      for (int64_t j = 1; j < s.n && s.count[j] > f0; ++j)
        acc = _mm512_mul_ps(acc,
                            _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), lanes_below(s.count[j] - f0),
                                                 p + s.offset[j] + f0));
      _mm512_mask_storeu_ps(random + f0, all, acc);
    }
  }
}

// Per feature block: the prefix products go down the slots, then the suffix products come back
// up and multiply in. Both stay in registers (or plain stack slots): storing the prefix into
// dproj with a masked store and loading it back stalls, as masked stores do not forward to loads.
LRA_AVX512 void products_vjp_rows_avx512(const float* proj, const float* dphi, float* dproj,
                                         const float* scales, Slots s, int64_t F, int64_t m,
                                         int64_t rows) {
  __m512 prefix[kVectorSlots], factor[kVectorSlots];
  __mmask16 mask[kVectorSlots];
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = proj + r * F;
    float* dp = dproj + r * F;
    const float* g = dphi + r * m + 1;
    for (int64_t f0 = 0; f0 < m - 1; f0 += 16) {
      int64_t slots = 1;
      while (slots < s.n && s.count[slots] > f0) ++slots;
      __m512 acc = _mm512_set1_ps(1.0f);
      for (int64_t j = 0; j < slots; ++j) {
        mask[j] = lanes_below(s.count[j] - f0);
        factor[j] = _mm512_mask_loadu_ps(one, mask[j], p + s.offset[j] + f0);
        prefix[j] = acc;
        acc = _mm512_mul_ps(acc, factor[j]);
      }
      __m512 suffix = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask[0], g + f0),
                                    _mm512_maskz_loadu_ps(mask[0], scales + f0));
      for (int64_t j = slots - 1; j >= 0; --j) {
        _mm512_mask_storeu_ps(dp + s.offset[j] + f0, mask[j], _mm512_mul_ps(prefix[j], suffix));
        suffix = _mm512_mul_ps(suffix, factor[j]);
      }
    }
  }
}

// The same at 8 lanes; AVX2's masked loads take a lane mask vector.
LRA_AVX2 inline __m256i lanes_below8(int64_t n) {
  const int32_t k = static_cast<int32_t>(std::min<int64_t>(n, 8));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

LRA_AVX2 inline __m256 load_or_one(__m256i k, const float* x) {
  return _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_maskload_ps(x, k), _mm256_castsi256_ps(k));
}

LRA_AVX2 void products_rows_avx2(const float* proj, float* phi, const float* scales, Slots s,
                                 int64_t F, int64_t m, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = proj + r * F;
    float* random = phi + r * m + 1;
    for (int64_t f0 = 0; f0 < m - 1; f0 += 8) {
      const __m256i all = lanes_below8(m - 1 - f0);
      __m256 acc = _mm256_mul_ps(_mm256_maskload_ps(scales + f0, all),
                                 _mm256_maskload_ps(p + s.offset[0] + f0, all));
      for (int64_t j = 1; j < s.n && s.count[j] > f0; ++j)
        acc = _mm256_mul_ps(acc, load_or_one(lanes_below8(s.count[j] - f0), p + s.offset[j] + f0));
      _mm256_maskstore_ps(random + f0, all, acc);
    }
  }
}

LRA_AVX2 void products_vjp_rows_avx2(const float* proj, const float* dphi, float* dproj,
                                     const float* scales, Slots s, int64_t F, int64_t m,
                                     int64_t rows) {
  __m256 prefix[kVectorSlots], factor[kVectorSlots];
  __m256i mask[kVectorSlots];
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = proj + r * F;
    float* dp = dproj + r * F;
    const float* g = dphi + r * m + 1;
    for (int64_t f0 = 0; f0 < m - 1; f0 += 8) {
      int64_t slots = 1;
      while (slots < s.n && s.count[slots] > f0) ++slots;
      __m256 acc = _mm256_set1_ps(1.0f);
      for (int64_t j = 0; j < slots; ++j) {
        mask[j] = lanes_below8(s.count[j] - f0);
        factor[j] = load_or_one(mask[j], p + s.offset[j] + f0);
        prefix[j] = acc;
        acc = _mm256_mul_ps(acc, factor[j]);
      }
      __m256 suffix = _mm256_mul_ps(_mm256_maskload_ps(g + f0, mask[0]),
                                    _mm256_maskload_ps(scales + f0, mask[0]));
      for (int64_t j = slots - 1; j >= 0; --j) {
        _mm256_maskstore_ps(dp + s.offset[j] + f0, mask[j], _mm256_mul_ps(prefix[j], suffix));
        suffix = _mm256_mul_ps(suffix, factor[j]);
      }
    }
  }
}
#endif

// rows rows from row 0 of each pointer, on the calling thread, by the given path (float) or the
// plain loops (double).
template <typename T>
void products_on_path(const T* proj, T* phi, const T* scales, Slots s, int64_t F, int64_t m,
                      int64_t rows, cpu::VectorPath path) {
#if LRA_X86_VECTOR
  if constexpr (std::is_same_v<T, float>) {
    if (path == cpu::VectorPath::avx512)
      return products_rows_avx512(proj, phi, scales, s, F, m, rows);
    if (path == cpu::VectorPath::avx2) return products_rows_avx2(proj, phi, scales, s, F, m, rows);
  }
#endif
  (void)path;
  products_rows<T>(proj, phi, scales, s, F, m, rows);
}

template <typename T>
void products_vjp_on_path(const T* proj, const T* dphi, T* dproj, const T* scales, Slots s,
                          int64_t F, int64_t m, int64_t rows, cpu::VectorPath path) {
#if LRA_X86_VECTOR
  if constexpr (std::is_same_v<T, float>) {
    if (s.n > kVectorSlots) path = cpu::VectorPath::scalar;
    if (path == cpu::VectorPath::avx512)
      return products_vjp_rows_avx512(proj, dphi, dproj, scales, s, F, m, rows);
    if (path == cpu::VectorPath::avx2)
      return products_vjp_rows_avx2(proj, dphi, dproj, scales, s, F, m, rows);
  }
#endif
  (void)path;
  products_vjp_rows<T>(proj, dphi, dproj, scales, s, F, m, rows);
}

void check_rows(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.dim() == 2 && t.is_contiguous(),
              "maclaurin products: ", name, " must be a contiguous 2-d CPU tensor");
}

// Checks proj (R, F) and the features-sized rows (R, m) against the layout; returns the slots.
Slots checked_slots(const torch::Tensor& proj, const torch::Tensor& feature_rows,
                    const char* feature_name, const std::vector<int64_t>& slot_offset,
                    const std::vector<int64_t>& slot_count, const torch::Tensor& scales) {
  check_rows(proj, "proj");
  check_rows(feature_rows, feature_name);
  const int64_t m = feature_rows.size(1);
  TORCH_CHECK(feature_rows.size(0) == proj.size(0) && scales.numel() == m - 1 &&
                  !slot_count.empty() && slot_count[0] == m - 1 &&
                  slot_offset.size() == slot_count.size(),
              "maclaurin products: layout does not match the tensors");
  return {slot_offset.data(), slot_count.data(), static_cast<int64_t>(slot_count.size())};
}

}  // namespace

void maclaurin_products_cpu(const torch::Tensor& proj, const std::vector<int64_t>& slot_offset,
                            const std::vector<int64_t>& slot_count, const torch::Tensor& scales,
                            torch::Tensor& phi) {
  const Slots s = checked_slots(proj, phi, "phi", slot_offset, slot_count, scales);
  const int64_t R = proj.size(0), F = proj.size(1), m = phi.size(1);
  auto sc = scales.to(proj.scalar_type()).contiguous();
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "maclaurin_products_cpu", [&] {
    const auto* p = proj.data_ptr<scalar_t>();
    auto* out = phi.data_ptr<scalar_t>();
    const auto* sp = sc.data_ptr<scalar_t>();
    at::parallel_for(0, R, kRowGrain, [&](int64_t begin, int64_t end) {
      products_on_path<scalar_t>(p + begin * F, out + begin * m, sp, s, F, m, end - begin,
                                 cpu::best_path());
    });
  });
}

torch::Tensor maclaurin_products_vjp_cpu(const torch::Tensor& proj, const torch::Tensor& dphi,
                                         const std::vector<int64_t>& slot_offset,
                                         const std::vector<int64_t>& slot_count,
                                         const torch::Tensor& scales) {
  const Slots s = checked_slots(proj, dphi, "dphi", slot_offset, slot_count, scales);
  const int64_t R = proj.size(0), F = proj.size(1), m = dphi.size(1);
  auto sc = scales.to(proj.scalar_type()).contiguous();
  auto dproj = torch::empty_like(proj);  // (R, F)
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "maclaurin_products_vjp_cpu", [&] {
    const auto* p = proj.data_ptr<scalar_t>();
    const auto* g = dphi.data_ptr<scalar_t>();
    auto* dp = dproj.data_ptr<scalar_t>();
    const auto* sp = sc.data_ptr<scalar_t>();
    at::parallel_for(0, R, kRowGrain, [&](int64_t begin, int64_t end) {
      products_vjp_on_path<scalar_t>(p + begin * F, g + begin * m, dp + begin * F, sp, s, F, m,
                                     end - begin, cpu::best_path());
    });
  });
  return dproj;
}

template <typename T>
void maclaurin_products_rows(const T* proj, T* phi, const T* scales, const int64_t* slot_offset,
                             const int64_t* slot_count, int64_t slots, int64_t F, int64_t m,
                             int64_t rows, cpu::VectorPath path) {
  products_on_path<T>(proj, phi, scales, {slot_offset, slot_count, slots}, F, m, rows, path);
}

template <typename T>
void maclaurin_products_vjp_rows(const T* proj, const T* dphi, T* dproj, const T* scales,
                                 const int64_t* slot_offset, const int64_t* slot_count,
                                 int64_t slots, int64_t F, int64_t m, int64_t rows,
                                 cpu::VectorPath path) {
  products_vjp_on_path<T>(proj, dphi, dproj, scales, {slot_offset, slot_count, slots}, F, m, rows,
                          path);
}

template void maclaurin_products_rows<float>(const float*, float*, const float*, const int64_t*,
                                             const int64_t*, int64_t, int64_t, int64_t, int64_t,
                                             cpu::VectorPath);
template void maclaurin_products_rows<double>(const double*, double*, const double*, const int64_t*,
                                              const int64_t*, int64_t, int64_t, int64_t, int64_t,
                                              cpu::VectorPath);
template void maclaurin_products_vjp_rows<float>(const float*, const float*, float*, const float*,
                                                 const int64_t*, const int64_t*, int64_t, int64_t,
                                                 int64_t, int64_t, cpu::VectorPath);
template void maclaurin_products_vjp_rows<double>(const double*, const double*, double*,
                                                  const double*, const int64_t*, const int64_t*,
                                                  int64_t, int64_t, int64_t, int64_t,
                                                  cpu::VectorPath);

}  // namespace lra
