#include "attention/linear_attention.h"

#include <algorithm>
#include <functional>
#include <limits>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/caller_state_parallel.h"

namespace lra {
namespace {

torch::Tensor zero_padded_keys(const torch::Tensor& phi_k, const torch::Tensor& key_mask) {
  return phi_k.masked_fill(padded_key_rows(key_mask), 0.0);
}

// Rows per slice: `wanted` when > 0; otherwise so that the widest per-slice intermediate
// (BH, rows, width) holds ~2^19 elements (2 MiB in float32: one core's L2 here); CUDA takes
// the whole sequence at once.
int64_t rows_per_chunk(int64_t wanted, int64_t length, int64_t bh, int64_t width,
                       const torch::Device& device) {
  if (wanted > 0) return std::min(length, wanted);
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

// Runs fn over ranges of the (batch x head) axis: on the CPU one range per thread, each working
// through its own slices with single-threaded ops (one parallel region per pass instead of one
// per op, and each thread's data stays in its own cache); elsewhere, or with one range, at once.
// fn calls dispatcher ops: the pool's threads take the caller's modes.
void for_each_slice(int64_t bh, const torch::Device& device,
                    const std::function<void(int64_t, int64_t)>& fn) {
  if (device.is_cpu() && bh > 1 && at::get_num_threads() > 1 && !at::in_parallel_region()) {
    parallel_for_in_caller_state(0, bh, 1, fn);
  } else {
    fn(0, bh);
  }
}

// [v, 1] for rows [r, r + n) of (batch x head) slices [b0, b0 + nb), padded rows zero: one
// matmul with it gives numerator and denominator, and padded keys leave both whatever their
// (finite) features are. Built per slice so that no (B, H, L, D+1) copy of v is made or kept.
// v3: (BH, L, D); keep: (BH, L, 1) -> (nb, n, D+1).
torch::Tensor values_and_ones(const torch::Tensor& v3, const torch::Tensor& keep, int64_t b0,
                              int64_t nb, int64_t r, int64_t n) {
  auto keep_n = keep.narrow(0, b0, nb).narrow(1, r, n);
  return torch::cat({v3.narrow(0, b0, nb).narrow(1, r, n) * keep_n, keep_n}, -1);
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One autograd node for the whole contraction; the backward recomputes the features slice by
// slice (the forward's shifts are kept, so the recomputed features are the forward's).
class ChunkedLinearAttentionFunction
    : public torch::autograd::Function<ChunkedLinearAttentionFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& y,
                               const torch::Tensor& v, const torch::Tensor& key_mask,
                               c10::intrusive_ptr<ChunkedFeatureMap> map, double eps,
                               int64_t chunk_rows) {
    const int64_t B = x.size(0), H = x.size(1), L = x.size(2), d = x.size(3), D = v.size(3);
    const int64_t BH = B * H, m = map->num_features();
    auto x3 = x.reshape({BH, L, d}).contiguous();  // (BH, L, d)
    auto y3 = y.reshape({BH, L, d}).contiguous();  // (BH, L, d)
    auto keep = key_mask.to(v.scalar_type())
                    .unsqueeze(1)
                    .expand({B, H, L})
                    .reshape({BH, L, 1});          // (BH,L,1)
    auto pad = keep == 0;                          // (BH,L,1)
    auto v3 = v.reshape({BH, L, D}).contiguous();  // (BH, L, D)

    auto opts = v.options();
    auto sum = torch::empty({BH, m, D + 1}, opts);  // S = sum_j phi(k_j) [v_j, 1]^T
    auto out = torch::empty({B, H, L, D}, opts);    // (B, H, L, D)
    auto out3 = out.view({BH, L, D});
    auto den = torch::empty({BH, L, 1}, opts);  // (BH, L, 1), before the eps guard
    torch::Tensor key_shift, query_shift;       // (BH, 1, 1), (BH, L, 1) when the map shifts
    if (map->shifted()) {
      key_shift = torch::empty({BH, 1, 1}, opts);
      query_shift = torch::empty({BH, L, 1}, opts);
    }
    for_each_slice(BH, x.device(), [&](int64_t b0, int64_t b1) {
      torch::NoGradGuard no_grad;
      const int64_t nb = b1 - b0;
      auto part = map->slice(b0, b1);
      const int64_t rows = rows_per_chunk(chunk_rows, L, nb, part->width(), x.device());
      auto xs = x3.narrow(0, b0, nb), ys = y3.narrow(0, b0, nb);
      auto pads = pad.narrow(0, b0, nb);
      torch::Tensor s_sum, s_shift;  // this slice's S and key shift
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        torch::Tensor piece_shift;
        auto chunk = part->features(ys.narrow(1, r, n), true, pads.narrow(1, r, n), piece_shift);
        auto v1 = values_and_ones(v3, keep, b0, nb, r, n);       // (nb, n, D+1)
        auto piece = torch::bmm(chunk.phi.transpose(1, 2), v1);  // (nb, m, D+1)
        accumulate_shifted(s_sum, s_shift, piece, piece_shift);
      }
      if (L == 0) s_sum = torch::zeros({nb, m, D + 1}, opts);
      sum.narrow(0, b0, nb).copy_(s_sum);
      if (key_shift.defined()) key_shift.narrow(0, b0, nb).copy_(s_shift);
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        torch::Tensor shift;
        auto chunk = part->features(xs.narrow(1, r, n), false, torch::Tensor(), shift);
        auto o1 = torch::bmm(chunk.phi, s_sum);  // (nb, n, D+1)
        auto den_n = o1.narrow(2, D, 1);
        den.narrow(0, b0, nb).narrow(1, r, n).copy_(den_n);
        auto out_n = out3.narrow(0, b0, nb).narrow(1, r, n);
        torch::div_out(out_n, o1.narrow(2, 0, D), den_n.clamp_min(eps));
        if (query_shift.defined()) query_shift.narrow(0, b0, nb).narrow(1, r, n).copy_(shift);
      }
    });
    ctx->save_for_backward({x3, y3, v3, keep, sum, key_shift, out, den, query_shift});
    ctx->saved_data["map"] = c10::IValue::make_capsule(map);
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x3 = saved[0], &y3 = saved[1], &v3 = saved[2], &keep = saved[3], &sum = saved[4];
    const auto &key_shift = saved[5], &out = saved[6], &den = saved[7], &query_shift = saved[8];
    auto holder = ctx->saved_data["map"].toCapsule();
    const auto& map = *static_cast<const ChunkedFeatureMap*>(holder.get());
    const double eps = ctx->saved_data["eps"].toDouble();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const int64_t BH = x3.size(0), L = x3.size(1), d = x3.size(2), D = v3.size(2);
    auto g = grads[0].reshape({BH, L, D});  // (BH, L, D)
    auto out3 = out.view({BH, L, D});
    auto pad = keep == 0;
    auto dx = torch::empty_like(x3);  // (BH, L, d)
    auto dy = torch::empty_like(y3);  // (BH, L, d)
    auto dv = torch::empty_like(v3);  // (BH, L, D)

    for_each_slice(BH, x3.device(), [&](int64_t b0, int64_t b1) {
      torch::NoGradGuard no_grad;
      const int64_t nb = b1 - b0;
      auto part = map.slice(b0, b1);
      const int64_t rows = rows_per_chunk(chunk_rows, L, nb, part->width(), x3.device());
      auto s_sum = sum.narrow(0, b0, nb);    // (nb, m, D+1)
      auto dsum = torch::zeros_like(s_sum);  // (nb, m, D+1)
      // Queries: d out / d [num, den] per row, then through phi(q) and into dS.
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        auto rows_of = [&](const torch::Tensor& t) { return t.narrow(0, b0, nb).narrow(1, r, n); };
        auto shift = query_shift.defined() ? rows_of(query_shift) : torch::Tensor();
        auto xc = rows_of(x3);
        auto chunk = part->features(xc, false, torch::Tensor(), shift);
        auto den_n = rows_of(den);  // (nb, n, 1)
        auto guarded = den_n.clamp_min(eps);
        auto gn = rows_of(g);  // (nb, n, D)
        // out = num / max(den, eps): d num = g / den'; d den = -(g . out) / den' where den >= eps.
        auto d_den = -(gn * rows_of(out3)).sum(-1, true) / guarded * (den_n >= eps);
        auto d_o1 = torch::cat({gn / guarded, d_den}, -1);    // (nb, n, D+1)
        auto dphi = torch::bmm(d_o1, s_sum.transpose(1, 2));  // (nb, n, m)
        dsum.baddbmm_(chunk.phi.transpose(1, 2), d_o1);       // (nb, m, D+1)
        rows_of(dx).copy_(part->vjp(xc, false, chunk, dphi));
      }
      // Keys and values: S = sum_j phi(k_j) [v_j, 1]^T.
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        auto rows_of = [&](const torch::Tensor& t) { return t.narrow(0, b0, nb).narrow(1, r, n); };
        auto shift = key_shift.defined() ? key_shift.narrow(0, b0, nb) : torch::Tensor();
        auto yc = rows_of(y3);
        auto chunk = part->features(yc, true, rows_of(pad), shift);
        auto v1 = values_and_ones(v3, keep, b0, nb, r, n);  // (nb, n, D+1)
        auto dphi = torch::bmm(v1, dsum.transpose(1, 2));   // (nb, n, m)
        rows_of(dy).copy_(part->vjp(yc, true, chunk, dphi));
        auto dv1 = torch::bmm(chunk.phi, dsum.narrow(2, 0, D));  // (nb, n, D)
        auto dv_n = rows_of(dv);
        torch::mul_out(dv_n, dv1, rows_of(keep));
      }
    });
    const auto& shape = grads[0].sizes();
    std::vector<int64_t> xshape = {shape[0], shape[1], L, d};
    return {dx.view(xshape), dy.view(xshape), dv.view(shape), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
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
                                       const c10::intrusive_ptr<ChunkedFeatureMap>& map, double eps,
                                       int64_t chunk_rows) {
  TORCH_CHECK(x.dim() == 4 && y.sizes() == x.sizes() && v.dim() == 4 && v.size(2) == x.size(2) &&
                  key_mask.dim() == 2,
              "chunked_linear_attention: expected x, y (B, H, L, d), v (B, H, L, D), mask (B, L)");
  return ChunkedLinearAttentionFunction::apply(x, y, v, key_mask, map, eps, chunk_rows);
}

}  // namespace lra
