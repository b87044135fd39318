#include "attention/features/feature_maps.h"

#include <algorithm>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/kernel_layouts.h"
#include "attention/cpu/maclaurin_products.h"
#include "attention/cpu/vector_math.h"

namespace lra {
namespace {

// ExpFeatureMap::features after its matmul (which added the offset), as row loops on the CPU
// instead of five tensor ops: log phi = proj - [key] s^2 |y|^2 / 2 (-inf for padded keys), then
// exp(log phi - shift) with the shift of ExpFeatureMap::features. A key's -s^2 |y|^2 / 2 is a
// per-row constant, so it joins the shift of the exp instead of costing a pass over the row (the
// row max is taken before it and corrected): two passes per row, max and exp. log_phi (nb, c, m)
// contiguous, becomes phi; x (nb, c, d), pad (nb, c, 1) for keys.
template <typename T>
void exp_features_cpu(torch::Tensor& log_phi, const torch::Tensor& x, bool key,
                      const torch::Tensor& pad, double half_square, torch::Tensor& shift) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const int64_t nb = log_phi.size(0), c = log_phi.size(1), m = log_phi.size(2), d = x.size(2);
  const bool given = shift.defined();
  if (!given) shift = torch::empty({nb, key ? int64_t{1} : c, 1}, log_phi.options());
  T* phi = log_phi.data_ptr<T>();
  T* sh = shift.data_ptr<T>();  // contiguous when made here; the given ones are narrowed rows
  const int64_t sh_b = shift.stride(0), sh_r = key ? 0 : shift.stride(1);
  const T* xs = x.data_ptr<T>();
  const auto pads =
      key ? pad.accessor<bool, 3>() : at::TensorAccessor<bool, 3>(nullptr, nullptr, nullptr);
  std::vector<T> minus(static_cast<size_t>(key ? c : 0));  // s^2 |y|^2 / 2; +inf if padded
  for (int64_t b = 0; b < nb; ++b) {
    T top = -kInf;
    for (int64_t r = 0; r < c; ++r) {
      T* row = phi + (b * c + r) * m;
      if (key) {
        const T* xr = xs + b * x.stride(0) + r * x.stride(1);
        T sq = 0;
        for (int64_t i = 0; i < d; ++i) sq += xr[i] * xr[i];
        const bool padded = pads[b][r][0];
        minus[r] = padded ? kInf : static_cast<T>(half_square) * sq;
        if (!given && !padded) top = std::max(top, cpu::row_max(row, m, -kInf) - minus[r]);
        continue;
      }
      T& s_r = sh[b * sh_b + r * sh_r];
      if (!given) s_r = cpu::row_max(row, m, -kInf);
      cpu::exp_shifted(row, m, s_r);
    }
    if (!key) continue;
    T& s_b = sh[b * sh_b];
    if (!given) s_b = std::max(top, static_cast<T>(kNoKeyShift));
    for (int64_t r = 0; r < c; ++r) cpu::exp_shifted(phi + (b * c + r) * m, m, s_b + minus[r]);
  }
}

// d log phi = phi d phi in place over dphi (nb, c, m), and, for keys, its row sums (nb, c, 1):
// one pass instead of a multiply and a reduction.
template <typename T>
torch::Tensor exp_features_dlog_cpu(torch::Tensor& dphi, const torch::Tensor& phi, bool key) {
  const int64_t rows = dphi.size(0) * dphi.size(1), m = dphi.size(2);
  torch::Tensor sums;
  if (key) sums = torch::empty({dphi.size(0), dphi.size(1), 1}, dphi.options());
  T* dp = dphi.data_ptr<T>();
  const T* p = phi.data_ptr<T>();
  T* out = key ? sums.data_ptr<T>() : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    const T sum = cpu::multiply_sum(dp + r * m, p + r * m, m);
    if (out) out[r] = sum;
  }
  return sums;
}

class ExpFeatureMap : public ChunkedFeatureMap {
 public:
  // projection: already times the input scale s; half_square: s^2 / 2.
  ExpFeatureMap(const torch::Tensor& projection, const torch::Tensor& offset, double half_square)
      : w_{projection.contiguous(), projection.transpose(1, 2).contiguous(), offset.defined(),
           half_square} {
    // The offset as one more input row of the projection, [x, 1] [P^T; offset]: the matmul adds
    // it (K = d + 1 costs what K = d does) instead of a pass over every (row, feature).
    if (w_.has_offset) {
      const int64_t P = std::max(w_.projection.size(0), offset.size(0));
      w_.projection_t = torch::cat(
          {w_.projection_t.expand({P, -1, -1}), offset.expand({P, 1, w_.projection.size(1)})}, 1);
    }
  }

  int64_t width() const override { return w_.projection.size(1); }
  int64_t num_features() const override { return w_.projection.size(1); }
  bool shifted() const override { return true; }
  const ExpProjection* exp_projection() const override { return &w_; }
  // Views of this map's prepared tensors: nothing is transposed or concatenated again per slice.
  c10::intrusive_ptr<ChunkedFeatureMap> slice(int64_t begin, int64_t end) const override {
    auto part = c10::make_intrusive<ExpFeatureMap>(*this);
    if (w_.projection.size(0) > 1)
      part->w_.projection = w_.projection.narrow(0, begin, end - begin);
    if (w_.projection_t.size(0) > 1)
      part->w_.projection_t = w_.projection_t.narrow(0, begin, end - begin);
    return part;
  }

  Chunk features(const torch::Tensor& x, bool key, const torch::Tensor& pad,
                 torch::Tensor& shift) const override {
    // (BH, c, m): z P^T (+ offset through the input's extra column of ones)
    auto log_phi =
        w_.has_offset
            ? torch::matmul(
                  torch::cat({x, torch::ones({x.size(0), x.size(1), 1}, x.options())}, -1),
                  w_.projection_t)
            : torch::matmul(x, w_.projection_t);
    if (x.is_cpu() && log_phi.is_contiguous() && x.stride(2) == 1) {
      AT_DISPATCH_FLOATING_TYPES(log_phi.scalar_type(), "exp_features_cpu", [&] {
        exp_features_cpu<scalar_t>(log_phi, x, key, pad, w_.half_square, shift);
      });
      return {log_phi, torch::Tensor()};
    }
    if (key) {
      // s^2 |y|^2 / 2 per key; +inf on padded keys sends their log-features to -inf.
      auto half_sq = (w_.half_square * x.square().sum(-1, true))
                         .masked_fill_(pad, std::numeric_limits<double>::infinity());  // (BH,c,1)
      log_phi.sub_(half_sq);
      if (!shift.defined()) shift = log_phi.amax({1, 2}, true).clamp_min(kNoKeyShift);
    } else if (!shift.defined()) {
      shift = std::get<0>(log_phi.max(-1, true));  // (BH, c, 1)
    }
    log_phi.sub_(shift).exp_();
    return {log_phi, torch::Tensor()};
  }

  torch::Tensor vjp(const torch::Tensor& x, bool key, const Chunk& chunk,
                    const torch::Tensor& dphi) const override {
    torch::Tensor dlog = dphi, dlog_sum;  // (BH, c, m): d phi = phi d log phi, in place
    if (dphi.is_cpu() && dphi.is_contiguous() && chunk.phi.is_contiguous()) {
      AT_DISPATCH_FLOATING_TYPES(dphi.scalar_type(), "exp_features_dlog_cpu", [&] {
        dlog_sum = exp_features_dlog_cpu<scalar_t>(dlog, chunk.phi, key);
      });
    } else {
      dlog = dphi.mul_(chunk.phi);
      if (key) dlog_sum = dlog.sum(-1, true);
    }
    auto dx = torch::matmul(dlog, w_.projection);             // (BH, c, d)
    if (key) dx.sub_(dlog_sum * x * (2.0 * w_.half_square));  // through -s^2 |y|^2 / 2
    return dx;
  }

 private:
  ExpProjection w_;
};

class TrigonometricFeatureMap : public ChunkedFeatureMap {
 public:
  // projection: already times the input scale s; half_square: s^2 / 2.
  TrigonometricFeatureMap(const torch::Tensor& projection, double half_square)
      : projection_(projection.contiguous()),
        projection_t_(projection.transpose(1, 2).contiguous()),
        half_square_(half_square) {}

  int64_t width() const override { return 2 * projection_.size(1); }
  int64_t num_features() const override { return 2 * projection_.size(1); }
  bool shifted() const override { return true; }
  c10::intrusive_ptr<ChunkedFeatureMap> slice(int64_t, int64_t) const override {
    return c10::make_intrusive<TrigonometricFeatureMap>(*this);
  }

  Chunk features(const torch::Tensor& x, bool key, const torch::Tensor& pad,
                 torch::Tensor& shift) const override {
    auto angle = torch::matmul(x, projection_t_);                       // (BH, c, m)
    auto phi = torch::cat({torch::cos(angle), torch::sin(angle)}, -1);  // (BH, c, 2m)
    if (!key) {
      if (!shift.defined()) shift = torch::zeros({x.size(0), x.size(1), 1}, x.options());
      return {phi, torch::Tensor()};
    }
    auto log_scale = (half_square_ * x.square().sum(-1, true))
                         .masked_fill_(pad, -std::numeric_limits<double>::infinity());  // (BH,c,1)
    if (!shift.defined()) shift = log_scale.amax({1, 2}, true).clamp_min(kNoKeyShift);
    phi.mul_(log_scale.sub_(shift).exp_());
    return {phi, torch::Tensor()};
  }

  torch::Tensor vjp(const torch::Tensor& x, bool key, const Chunk& chunk,
                    const torch::Tensor& dphi) const override {
    const int64_t m = projection_.size(1);
    auto cos_part = chunk.phi.narrow(2, 0, m), sin_part = chunk.phi.narrow(2, m, m);
    // d cos = -sin d angle, d sin = cos d angle (the key scale rides along in both parts).
    auto dangle = cos_part * dphi.narrow(2, m, m) - sin_part * dphi.narrow(2, 0, m);  // (BH,c,m)
    auto dx = torch::matmul(dangle, projection_);                                     // (BH,c,d)
    if (key) dx.add_((dphi * chunk.phi).sum(-1, true) * x * (2.0 * half_square_));    // |z|^2 / 2
    return dx;
  }

 private:
  torch::Tensor projection_;    // (1, m, d)
  torch::Tensor projection_t_;  // (1, d, m)
  double half_square_;          // s^2 / 2
};

class MaclaurinFeatureMap : public ChunkedFeatureMap {
 public:
  MaclaurinFeatureMap(const MaclaurinLayout& layout, const torch::TensorOptions& opts,
                      bool cpu_row_loops)
      : layout_(layout), cpu_row_loops_(cpu_row_loops) {
    if (layout_.features > 1) {
      layout_.factors_t = layout.factors_t.to(opts).contiguous();
      layout_.factors = layout_.factors_t.t().contiguous();
      layout_.scales = layout.scales.to(opts);
    }
  }

  int64_t width() const override {
    return std::max(layout_.features, layout_.features > 1 ? layout_.factors_t.size(1) : 0);
  }
  int64_t num_features() const override { return layout_.features; }
  bool shifted() const override { return false; }
  const MaclaurinLayout* maclaurin_layout() const override {
    return cpu_row_loops_ ? &layout_ : nullptr;
  }
  c10::intrusive_ptr<ChunkedFeatureMap> slice(int64_t, int64_t) const override {
    return c10::make_intrusive<MaclaurinFeatureMap>(*this);
  }

  Chunk features(const torch::Tensor& x, bool key, const torch::Tensor& pad,
                 torch::Tensor& shift) const override {
    const int64_t m = layout_.features;
    auto phi = torch::empty({x.size(0), x.size(1), m}, x.options());  // (BH, c, m)
    phi.narrow(2, 0, 1).fill_(layout_.constant);
    if (m == 1) return {phi, torch::Tensor()};
    auto proj = torch::matmul(x, layout_.factors_t);  // (BH, c, F): every factor, one matmul
    if (use_row_loops(x)) {
      auto phi2 = phi.view({-1, m});  // (BH c, m)
      maclaurin_products_cpu(proj.view({-1, proj.size(2)}), layout_.slot_offset, layout_.slot_count,
                             layout_.scales, phi2);
      return {phi, proj};
    }
    auto random = phi.narrow(2, 1, m - 1);  // (BH, c, m-1)
    random.copy_(slot(proj, 0));
    for (size_t j = 1; j < layout_.slot_count.size(); ++j)
      random.narrow(2, 0, layout_.slot_count[j]).mul_(slot(proj, j));
    random.mul_(layout_.scales);
    return {phi, proj};
  }

  torch::Tensor vjp(const torch::Tensor& x, bool key, const Chunk& chunk,
                    const torch::Tensor& dphi) const override {
    const int64_t m = layout_.features;
    if (m == 1) return torch::zeros_like(x);
    const auto& proj = chunk.saved;  // (BH, c, F)
    if (use_row_loops(x)) {
      auto dproj = maclaurin_products_vjp_cpu(proj.view({-1, proj.size(2)}),
                                              dphi.contiguous().view({-1, m}), layout_.slot_offset,
                                              layout_.slot_count, layout_.scales);  // (BH c, F)
      return torch::matmul(dproj.view(proj.sizes()), layout_.factors);              // (BH, c, d)
    }
    const auto& count = layout_.slot_count;
    const size_t slots = count.size();
    auto d_random = dphi.narrow(2, 1, m - 1) * layout_.scales;  // (BH, c, m-1)
    // suffix[j] = product of slots j.. (over the features slot j covers), in proj's layout.
    auto suffix = torch::empty_like(proj);
    slot(suffix, slots - 1).copy_(slot(proj, slots - 1));
    for (size_t j = slots - 1; j-- > 0;) {
      slot(suffix, j).copy_(slot(proj, j));
      slot(suffix, j).narrow(2, 0, count[j + 1]).mul_(slot(suffix, j + 1));
    }
    // d factor_j = d phi * (product of slots < j) * (product of slots > j).
    auto prefix = torch::ones_like(d_random);  // (BH, c, m-1)
    auto dproj = torch::empty_like(proj);      // (BH, c, F)
    for (size_t j = 0; j < slots; ++j) {
      auto dj = slot(dproj, j);
      torch::mul_out(dj, d_random.narrow(2, 0, count[j]), prefix.narrow(2, 0, count[j]));
      if (j + 1 < slots) {
        dj.narrow(2, 0, count[j + 1]).mul_(slot(suffix, j + 1));
        prefix.narrow(2, 0, count[j]).mul_(slot(proj, j));
      }
    }
    return torch::matmul(dproj, layout_.factors);  // (BH, c, d)
  }

 private:
  bool use_row_loops(const torch::Tensor& x) const { return x.is_cpu() && cpu_row_loops_; }

  torch::Tensor slot(const torch::Tensor& t, size_t j) const {
    return t.narrow(2, layout_.slot_offset[j], layout_.slot_count[j]);
  }

  MaclaurinLayout layout_;
  bool cpu_row_loops_;
};

}  // namespace

c10::intrusive_ptr<ChunkedFeatureMap> make_exp_feature_map(const torch::Tensor& projection,
                                                           const torch::Tensor& offset,
                                                           double input_scale) {
  return c10::make_intrusive<ExpFeatureMap>(projection * input_scale, offset,
                                            0.5 * input_scale * input_scale);
}

c10::intrusive_ptr<ChunkedFeatureMap> make_trigonometric_feature_map(
    const torch::Tensor& projection, double input_scale) {
  return c10::make_intrusive<TrigonometricFeatureMap>(projection * input_scale,
                                                      0.5 * input_scale * input_scale);
}

MaclaurinLayout make_maclaurin_layout(const torch::Tensor& degrees, const torch::Tensor& rademacher,
                                      const torch::Tensor& scales, double constant) {
  MaclaurinLayout layout;
  layout.constant = constant;
  const int64_t count = degrees.numel();
  layout.features = count + 1;
  if (count == 0) return layout;
  auto deg = degrees.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* n = deg.data_ptr<int64_t>();
  std::vector<int64_t> start(static_cast<size_t>(count));  // first row of each feature
  for (int64_t i = 0, row = 0; i < count; row += n[i], ++i) start[static_cast<size_t>(i)] = row;
  // Features by degree, largest first (degrees are stored ascending: reverse them).
  std::vector<int64_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) order[static_cast<size_t>(i)] = count - 1 - i;
  const int64_t max_degree = n[count - 1];
  std::vector<int64_t> rows;
  for (int64_t j = 0; j < max_degree; ++j) {
    layout.slot_offset.push_back(static_cast<int64_t>(rows.size()));
    int64_t covered = 0;
    for (int64_t f : order) {
      if (n[f] <= j) break;  // sorted by degree: every later feature is shorter too
      rows.push_back(start[static_cast<size_t>(f)] + j);
      ++covered;
    }
    layout.slot_count.push_back(covered);
  }
  auto index = torch::tensor(rows, torch::kInt64);
  layout.factors_t = rademacher.to(torch::kCPU).index_select(0, index).t().contiguous();  // (d, F)
  layout.scales = scales.to(torch::kCPU).index_select(0, torch::tensor(order, torch::kInt64));
  return layout;
}

c10::intrusive_ptr<ChunkedFeatureMap> make_maclaurin_feature_map(const MaclaurinLayout& layout,
                                                                 const torch::TensorOptions& opts,
                                                                 bool cpu_row_loops) {
  return c10::make_intrusive<MaclaurinFeatureMap>(layout, opts, cpu_row_loops);
}

}  // namespace lra
