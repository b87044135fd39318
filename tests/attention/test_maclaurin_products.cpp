// SchoenbAt's running products (maclaurin_products.h) on every float32 path this CPU runs (16
// lanes, 8 lanes, the plain loops) against the float64 plain loops, values and vjp: layouts
// whose feature count and slot counts leave every tail of a 16- or 8-lane block, down to a slot
// covering one feature; and the vjp against a finite difference of the float64 products.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "attention/cpu/maclaurin_products.h"
#include "attention/cpu/vector_math.h"

namespace lra {
namespace {

// A factor-major layout for `features` random features (m - 1) of degrees drawn on 1..5, as
// make_maclaurin_layout builds it: slot j covers the first count_j features, counts non-increasing.
struct ProductsLayout {
  std::vector<int64_t> offset, count;
  int64_t F = 0, m = 0;
};

ProductsLayout random_layout(int64_t features, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> degree(1, 5);
  std::vector<int64_t> degrees(features);
  for (auto& n : degrees) n = degree(gen);
  std::sort(degrees.rbegin(), degrees.rend());
  degrees[0] = 5;  // every slot is used
  ProductsLayout out;
  out.m = features + 1;
  for (int64_t j = 0; j < 5; ++j) {
    int64_t covered = 0;
    while (covered < features && degrees[covered] > j) ++covered;
    out.offset.push_back(out.F);
    out.count.push_back(covered);
    out.F += covered;
  }
  return out;
}

std::vector<double> uniform_values(int64_t n, double lo, double hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> x(n);
  for (auto& v : x) v = u(gen);
  return x;
}

std::vector<float> to_float(const std::vector<double>& x) {
  return {x.begin(), x.end()};
}

std::vector<cpu::VectorPath> product_paths_here() {
  std::vector<cpu::VectorPath> out;
  for (auto p : {cpu::VectorPath::scalar, cpu::VectorPath::avx2, cpu::VectorPath::avx512})
    if (cpu::supports(p)) out.push_back(p);
  return out;
}

// Inputs exactly representable in float32, so the two precisions start from the same numbers.
struct ProductsCase {
  ProductsLayout layout;
  int64_t rows = 3;
  std::vector<double> proj, scales, dphi;
  explicit ProductsCase(int64_t features, uint32_t seed) : layout(random_layout(features, seed)) {
    auto exact = [](std::vector<double> x) {
      for (auto& v : x) v = static_cast<float>(v);
      return x;
    };
    proj = exact(uniform_values(rows * layout.F, -1.5, 1.5, seed + 1));
    scales = exact(uniform_values(features, 0.5, 2.0, seed + 2));
    dphi = exact(uniform_values(rows * layout.m, -1.0, 1.0, seed + 3));
  }
  int64_t slots() const { return static_cast<int64_t>(layout.count.size()); }
};

template <typename T>
std::vector<T> products(const ProductsCase& c, const std::vector<T>& proj,
                        const std::vector<T>& scales, cpu::VectorPath path) {
  std::vector<T> phi(c.rows * c.layout.m, T(-7));  // column 0 is the caller's: must stay -7
  maclaurin_products_rows<T>(proj.data(), phi.data(), scales.data(), c.layout.offset.data(),
                             c.layout.count.data(), c.slots(), c.layout.F, c.layout.m, c.rows,
                             path);
  return phi;
}

template <typename T>
std::vector<T> vjp(const ProductsCase& c, const std::vector<T>& proj, const std::vector<T>& dphi,
                   const std::vector<T>& scales, cpu::VectorPath path) {
  std::vector<T> dproj(c.rows * c.layout.F, T(0));
  maclaurin_products_vjp_rows<T>(proj.data(), dphi.data(), dproj.data(), scales.data(),
                                 c.layout.offset.data(), c.layout.count.data(), c.slots(),
                                 c.layout.F, c.layout.m, c.rows, path);
  return dproj;
}

TEST(MaclaurinProducts, EveryPathMatchesFloat64OnEveryTail) {
  for (int64_t features : {1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 127}) {
    const ProductsCase c(features, static_cast<uint32_t>(features));
    const auto ref = products<double>(c, c.proj, c.scales, cpu::VectorPath::scalar);
    const auto ref_grad = vjp<double>(c, c.proj, c.dphi, c.scales, cpu::VectorPath::scalar);
    for (auto path : product_paths_here()) {
      const auto label = std::string(cpu::path_name(path)) + " m-1=" + std::to_string(features);
      const auto got = products<float>(c, to_float(c.proj), to_float(c.scales), path);
      for (int64_t i = 0; i < c.rows * c.layout.m; ++i)
        ASSERT_NEAR(got[i], ref[i], 1e-6 * (1.0 + std::abs(ref[i]))) << label << " phi " << i;
      const auto grad = vjp<float>(c, to_float(c.proj), to_float(c.dphi), to_float(c.scales), path);
      for (int64_t i = 0; i < c.rows * c.layout.F; ++i)
        ASSERT_NEAR(grad[i], ref_grad[i], 1e-6 * (1.0 + std::abs(ref_grad[i])))
            << label << " dproj " << i;
    }
  }
}

// The float64 vjp is the gradient of sum(dphi * phi): central differences on every factor.
TEST(MaclaurinProducts, VjpIsTheGradientOfTheProducts) {
  const ProductsCase c(20, 91);
  const auto grad = vjp<double>(c, c.proj, c.dphi, c.scales, cpu::VectorPath::scalar);
  auto loss = [&](const std::vector<double>& proj) {
    const auto phi = products<double>(c, proj, c.scales, cpu::VectorPath::scalar);
    double sum = 0;
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t f = 1; f < c.layout.m; ++f)
        sum += c.dphi[r * c.layout.m + f] * phi[r * c.layout.m + f];
    return sum;
  };
  const double h = 1e-6;
  for (int64_t i = 0; i < c.rows * c.layout.F; ++i) {
    auto up = c.proj, down = c.proj;
    up[i] += h;
    down[i] -= h;
    EXPECT_NEAR(grad[i], (loss(up) - loss(down)) / (2 * h), 1e-7) << "factor " << i;
  }
}

}  // namespace
}  // namespace lra
