#include "attention/maclaurin_products.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace lra {
namespace {

// Rows per task of the outer parallel loop (inside a thread's own slice it runs inline).
constexpr int64_t kRowGrain = 64;

struct Slots {
  const int64_t* offset;
  const int64_t* count;
  int64_t n;
};

template <typename T>
void products_rows(const T* proj, T* phi, const T* scales, Slots s, int64_t F, int64_t m,
                   int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
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
                       int64_t m, int64_t begin, int64_t end) {
  std::vector<T> running(static_cast<size_t>(m - 1));
  T* __restrict acc = running.data();
  for (int64_t r = begin; r < end; ++r) {
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
      products_rows<scalar_t>(p, out, sp, s, F, m, begin, end);
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
      products_vjp_rows<scalar_t>(p, g, dp, sp, s, F, m, begin, end);
    });
  });
  return dproj;
}

template <typename T>
void maclaurin_products_rows(const T* proj, T* phi, const T* scales, const int64_t* slot_offset,
                             const int64_t* slot_count, int64_t slots, int64_t F, int64_t m,
                             int64_t rows) {
  products_rows<T>(proj, phi, scales, {slot_offset, slot_count, slots}, F, m, 0, rows);
}

template <typename T>
void maclaurin_products_vjp_rows(const T* proj, const T* dphi, T* dproj, const T* scales,
                                 const int64_t* slot_offset, const int64_t* slot_count,
                                 int64_t slots, int64_t F, int64_t m, int64_t rows) {
  products_vjp_rows<T>(proj, dphi, dproj, scales, {slot_offset, slot_count, slots}, F, m, 0, rows);
}

template void maclaurin_products_rows<float>(const float*, float*, const float*, const int64_t*,
                                             const int64_t*, int64_t, int64_t, int64_t, int64_t);
template void maclaurin_products_rows<double>(const double*, double*, const double*, const int64_t*,
                                              const int64_t*, int64_t, int64_t, int64_t, int64_t);
template void maclaurin_products_vjp_rows<float>(const float*, const float*, float*, const float*,
                                                 const int64_t*, const int64_t*, int64_t, int64_t,
                                                 int64_t, int64_t);
template void maclaurin_products_vjp_rows<double>(const double*, const double*, double*,
                                                  const double*, const int64_t*, const int64_t*,
                                                  int64_t, int64_t, int64_t, int64_t);

}  // namespace lra
