#include "attention/linear_attention.h"

#include <algorithm>
#include <limits>

#include <torch/torch.h>

namespace lra {
namespace {

torch::Tensor zero_padded_keys(const torch::Tensor& phi_k, const torch::Tensor& key_mask) {
  auto is_pad = (key_mask == 0).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  return phi_k.masked_fill(is_pad, 0.0);
}

int64_t g_chunk_rows = 0;  // 0 = automatic

// Rows per slice so that the widest per-slice intermediate (BH, rows, width) holds ~2^19
// elements (2 MiB in float32: one core's L2 here); CUDA takes the whole sequence at once.
int64_t rows_per_chunk(int64_t length, int64_t bh, int64_t width, const torch::Device& device) {
  if (g_chunk_rows > 0) return std::min(length, g_chunk_rows);
  if (!device.is_cpu()) return length;
  constexpr int64_t kElements = int64_t{1} << 19;
  const int64_t rows = kElements / std::max<int64_t>(bh * width, 1);
  return std::clamp<int64_t>(rows, std::min<int64_t>(length, 32), length);
}

// The key-side sum S = sum_j phi(k_j) [v_j, 1]^T under one shift per (batch, head): a slice with
// a larger shift rescales what was summed so far (the online-softmax trick), so the keys are
// visited once. S, shift: running (BH, m, D+1), (BH, 1, 1); piece, piece_shift: this slice's.
void accumulate_shifted(torch::Tensor& sum, torch::Tensor& shift, const torch::Tensor& piece,
                        const torch::Tensor& piece_shift) {
  if (!sum.defined()) {
    sum = piece;
    shift = piece_shift;
    return;
  }
  if (!piece_shift.defined()) {
    sum.add_(piece);
    return;
  }
  auto top = torch::maximum(shift, piece_shift);  // (BH, 1, 1)
  sum.mul_(torch::exp(shift - top)).add_(piece * torch::exp(piece_shift - top));
  shift = top;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One autograd node for the whole contraction; the backward recomputes the features slice by
// slice (the forward's shifts are kept, so the recomputed features are the forward's).
class ChunkedLinearAttentionFunction
    : public torch::autograd::Function<ChunkedLinearAttentionFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& y, const torch::Tensor& v,
                               const torch::Tensor& key_mask,
                               c10::intrusive_ptr<ChunkedFeatureMap> map, double eps) {
    const int64_t B = x.size(0), H = x.size(1), L = x.size(2), d = x.size(3), D = v.size(3);
    const int64_t BH = B * H;
    auto x3 = x.reshape({BH, L, d}).contiguous();  // (BH, L, d)
    auto y3 = y.reshape({BH, L, d}).contiguous();  // (BH, L, d)
    auto keep =
        key_mask.to(v.scalar_type()).unsqueeze(1).expand({B, H, L}).reshape({BH, L, 1});  // (BH,L,1)
    auto pad = keep == 0;                                                                 // (BH,L,1)
    // [v, 1] with padded rows zero: one matmul gives numerator and denominator, and padded keys
    // leave both whatever their (finite) features are.
    auto v1 = torch::cat({v.reshape({BH, L, D}) * keep, keep}, -1);  // (BH, L, D+1)

    const int64_t rows = rows_per_chunk(L, BH, map->width(), x.device());
    torch::Tensor sum, key_shift;  // (BH, m, D+1), (BH, 1, 1) or undefined
    for (int64_t r = 0; r < L; r += rows) {
      const int64_t n = std::min(rows, L - r);
      torch::Tensor piece_shift;
      auto chunk = map->features(y3.narrow(1, r, n), true, pad.narrow(1, r, n), piece_shift);
      auto piece = torch::bmm(chunk.phi.transpose(1, 2), v1.narrow(1, r, n));  // (BH, m, D+1)
      accumulate_shifted(sum, key_shift, piece, piece_shift);
    }

    auto out = torch::empty({B, H, L, D}, v.options());  // (B, H, L, D)
    auto out3 = out.view({BH, L, D});
    auto den = torch::empty({BH, L, 1}, v.options());  // (BH, L, 1), before the eps guard
    torch::Tensor query_shift;                         // (BH, L, 1) when the map shifts
    for (int64_t r = 0; r < L; r += rows) {
      const int64_t n = std::min(rows, L - r);
      torch::Tensor shift;
      auto chunk = map->features(x3.narrow(1, r, n), false, torch::Tensor(), shift);
      auto o1 = torch::bmm(chunk.phi, sum);  // (BH, n, D+1)
      auto den_n = o1.narrow(2, D, 1);
      den.narrow(1, r, n).copy_(den_n);
      auto out_n = out3.narrow(1, r, n);
      torch::div_out(out_n, o1.narrow(2, 0, D), den_n.clamp_min(eps));
      if (shift.defined()) {
        if (!query_shift.defined()) query_shift = torch::empty({BH, L, 1}, v.options());
        query_shift.narrow(1, r, n).copy_(shift);
      }
    }
    ctx->save_for_backward({x3, y3, v1, keep, sum, key_shift, out, den, query_shift});
    ctx->saved_data["map"] = c10::IValue::make_capsule(map);
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["rows"] = rows;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x3 = saved[0], &y3 = saved[1], &v1 = saved[2], &keep = saved[3], &sum = saved[4];
    const auto &key_shift = saved[5], &out = saved[6], &den = saved[7], &query_shift = saved[8];
    auto holder = ctx->saved_data["map"].toCapsule();
    const auto& map = *static_cast<const ChunkedFeatureMap*>(holder.get());
    const double eps = ctx->saved_data["eps"].toDouble();
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const int64_t BH = x3.size(0), L = x3.size(1), d = x3.size(2), D = v1.size(2) - 1;
    auto g = grads[0].reshape({BH, L, D});  // (BH, L, D)
    auto out3 = out.view({BH, L, D});
    auto pad = keep == 0;

    // Queries: d out / d [num, den] per row, then through phi(q) and into dS.
    auto dsum = torch::zeros_like(sum);  // (BH, m, D+1)
    auto dx = torch::empty_like(x3);     // (BH, L, d)
    for (int64_t r = 0; r < L; r += rows) {
      const int64_t n = std::min(rows, L - r);
      auto shift = query_shift.defined() ? query_shift.narrow(1, r, n) : torch::Tensor();
      auto xc = x3.narrow(1, r, n);
      auto chunk = map.features(xc, false, torch::Tensor(), shift);
      auto den_n = den.narrow(1, r, n);  // (BH, n, 1)
      auto guarded = den_n.clamp_min(eps);
      auto gn = g.narrow(1, r, n);  // (BH, n, D)
      // out = num / max(den, eps): d num = g / den'; d den = -(g . out) / den' where den >= eps.
      auto d_den = -(gn * out3.narrow(1, r, n)).sum(-1, true) / guarded * (den_n >= eps);
      auto d_o1 = torch::cat({gn / guarded, d_den}, -1);                    // (BH, n, D+1)
      auto dphi = torch::bmm(d_o1, sum.transpose(1, 2));                    // (BH, n, m)
      dsum.baddbmm_(chunk.phi.transpose(1, 2), d_o1);                       // (BH, m, D+1)
      dx.narrow(1, r, n).copy_(map.vjp(xc, false, chunk, dphi));
    }
    // Keys and values: S = sum_j phi(k_j) [v_j, 1]^T.
    auto dy = torch::empty_like(y3);                                // (BH, L, d)
    auto dv = torch::empty({BH, L, D}, v1.options());               // (BH, L, D)
    for (int64_t r = 0; r < L; r += rows) {
      const int64_t n = std::min(rows, L - r);
      auto shift = key_shift;
      auto yc = y3.narrow(1, r, n);
      auto chunk = map.features(yc, true, pad.narrow(1, r, n), shift);
      auto dphi = torch::bmm(v1.narrow(1, r, n), dsum.transpose(1, 2));  // (BH, n, m)
      dy.narrow(1, r, n).copy_(map.vjp(yc, true, chunk, dphi));
      auto dv1 = torch::bmm(chunk.phi, dsum.narrow(2, 0, D));  // (BH, n, D)
      auto dv_n = dv.narrow(1, r, n);
      torch::mul_out(dv_n, dv1, keep.narrow(1, r, n));
    }
    const auto& shape = grads[0].sizes();
    std::vector<int64_t> xshape = {shape[0], shape[1], L, d};
    return {dx.view(xshape), dy.view(xshape), dv.view(shape), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear_attention(const torch::Tensor& phi_q, const torch::Tensor& phi_k,
                               const torch::Tensor& v, const torch::Tensor& key_mask, double eps) {
  auto k = zero_padded_keys(phi_k, key_mask);              // (B, H, L, m)
  auto kv = torch::matmul(k.transpose(-2, -1), v);         // (B, H, m, D)
  auto k_sum = k.sum(-2);                                  // (B, H, m)
  auto num = torch::matmul(phi_q, kv);                     // (B, H, L, D)
  auto den = (phi_q * k_sum.unsqueeze(-2)).sum(-1, true);  // (B, H, L, 1)
  // The denominator estimates a strictly positive sum; signed (Maclaurin) features can push the
  // estimate to or below zero, where dividing would blow up or flip the output.
  return num / den.clamp_min(eps);
}

torch::Tensor causal_linear_attention(const torch::Tensor& phi_q, const torch::Tensor& phi_k,
                                      const torch::Tensor& v, const torch::Tensor& key_mask,
                                      double eps) {
  auto k = zero_padded_keys(phi_k, key_mask);                     // (B, H, L, m)
  auto kv = torch::cumsum(k.unsqueeze(-1) * v.unsqueeze(-2), 2);  // (B, H, L, m, D)
  auto num = (phi_q.unsqueeze(-1) * kv).sum(-2);                  // (B, H, L, D)
  auto den = (phi_q * torch::cumsum(k, 2)).sum(-1, true);         // (B, H, L, 1)
  return num / den.clamp_min(eps);
}

torch::Tensor chunked_linear_attention(const torch::Tensor& x, const torch::Tensor& y,
                                       const torch::Tensor& v, const torch::Tensor& key_mask,
                                       const c10::intrusive_ptr<ChunkedFeatureMap>& map,
                                       double eps) {
  TORCH_CHECK(x.dim() == 4 && y.sizes() == x.sizes() && v.dim() == 4 &&
                  v.size(2) == x.size(2) && key_mask.dim() == 2,
              "chunked_linear_attention: expected x, y (B, H, L, d), v (B, H, L, D), mask (B, L)");
  return ChunkedLinearAttentionFunction::apply(x, y, v, key_mask, map, eps);
}

void set_linear_attention_chunk_rows(int64_t rows) {
  g_chunk_rows = std::max<int64_t>(rows, 0);
}

int64_t linear_attention_chunk_rows() {
  return g_chunk_rows;
}

}  // namespace lra
