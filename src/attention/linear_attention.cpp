#include "attention/linear_attention.h"

#include <algorithm>
#include <functional>
#include <limits>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/cpu/caller_state_parallel.h"
#include "attention/cpu/fused_linear_attention.h"

namespace lra {
namespace {

// What the fused CPU kernel reads of a map; empty for maps it does not run.
FusedFeatureMap fused_map(const ChunkedFeatureMap& map) {
  return {map.exp_projection(), map.maclaurin_layout(), map.num_features()};
}

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

// [v, 1] with padded rows zero, once per call: one matmul with it gives numerator and
// denominator, and padded keys leave both whatever their (finite) features are.
// v3: (BH, L, D); keep: (BH, L, 1) -> (BH, L, D+1).
torch::Tensor values_and_ones(const torch::Tensor& v3, const torch::Tensor& keep) {
  const int64_t D = v3.size(2);
  auto v1 = torch::empty({v3.size(0), v3.size(1), D + 1}, v3.options());  // no (BH, L, D) temporary
  auto values = v1.narrow(2, 0, D);
  torch::mul_out(values, v3, keep);
  v1.narrow(2, D, 1).copy_(keep);
  return v1;
}

// d loss / d [num, den] for one slice of query rows, given g = d loss / d out and
// out = num / max(den, eps): d num = g / den', d den = -(g . out) / den' where den >= eps
// (den' = max(den, eps)). g, out: (nb, n, D); den: (nb, n, 1) -> (nb, n, D+1).
torch::Tensor output_grad(const torch::Tensor& g, const torch::Tensor& out,
                          const torch::Tensor& den, double eps) {
  auto guarded = den.clamp_min(eps);
  auto d_den = -(g * out).sum(-1, true) / guarded * (den >= eps);
  return torch::cat({g / guarded, d_den}, -1);
}

// output_grad as one pass over each row on the CPU (six small tensor ops otherwise), NaN for
// NaN as there (output_grad_row). Rows of g and out must be contiguous (the batch and row strides
// are free).
template <typename T>
void output_grad_cpu(const torch::Tensor& g, const torch::Tensor& out, const torch::Tensor& den,
                     double eps, torch::Tensor& d_o1) {
  const int64_t nb = g.size(0), n = g.size(1), D = g.size(2);
  const T e = static_cast<T>(eps);
  const T *gs = g.data_ptr<T>(), *os = out.data_ptr<T>(), *ds = den.data_ptr<T>();
  T* dst = d_o1.data_ptr<T>();
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = 0; i < n; ++i)
      output_grad_row(gs + b * g.stride(0) + i * g.stride(1),
                      os + b * out.stride(0) + i * out.stride(1),
                      ds[b * den.stride(0) + i * den.stride(1)], e, D, dst + (b * n + i) * (D + 1));
}

torch::Tensor output_grad_fast(const torch::Tensor& g, const torch::Tensor& out,
                               const torch::Tensor& den, double eps) {
  const bool rows_contiguous = g.stride(2) == 1 && g.stride(1) == g.size(2) && out.stride(2) == 1 &&
                               out.stride(1) == out.size(2);
  if (!g.is_cpu() || !rows_contiguous || out.scalar_type() != g.scalar_type())
    return output_grad(g, out, den, eps);
  auto d_o1 = torch::empty({g.size(0), g.size(1), g.size(2) + 1}, g.options());
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "output_grad_cpu",
                             [&] { output_grad_cpu<scalar_t>(g, out, den, eps, d_o1); });
  return d_o1;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One autograd node for the whole contraction; the backward recomputes the features slice by
// slice (the forward's shifts are kept, so the recomputed features are the forward's).
// The key-side sum is kept transposed, S^T = [v, 1]^T phi(k) (D+1, m), and every product is
// ordered so that the (D+1)-wide side is the GEMM's M: in isolation MKL runs [v, 1]^T phi and
// S^T phi(q)^T 15-30% faster than phi^T [v, 1] and phi(q) S (N = D + 1 = 33 fits its
// micro-kernels badly); over the whole sequence of products the gain is a few percent at most
// (docs/attention.md).
class ChunkedLinearAttentionFunction
    : public torch::autograd::Function<ChunkedLinearAttentionFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& y,
                               const torch::Tensor& v, const torch::Tensor& key_mask,
                               c10::intrusive_ptr<ChunkedFeatureMap> map, double eps,
                               int64_t chunk_rows, bool cpu_kernels) {
    const int64_t B = x.size(0), H = x.size(1), L = x.size(2), d = x.size(3), D = v.size(3);
    const int64_t BH = B * H, m = map->num_features();
    auto x3 = x.reshape({BH, L, d}).contiguous();  // (BH, L, d)
    auto y3 = y.reshape({BH, L, d}).contiguous();  // (BH, L, d)
    auto keep = key_mask.to(v.scalar_type())
                    .unsqueeze(1)
                    .expand({B, H, L})
                    .reshape({BH, L, 1});                    // (BH,L,1)
    auto pad = keep == 0;                                    // (BH,L,1)
    auto v1 = values_and_ones(v.reshape({BH, L, D}), keep);  // (BH, L, D+1)

    auto opts = v.options();
    auto sum_t = torch::empty({BH, D + 1, m}, opts);  // S^T = sum_j [v_j, 1] phi(k_j)^T
    auto out = torch::empty({B, H, L, D}, opts);      // (B, H, L, D)
    auto out3 = out.view({BH, L, D});
    auto den = torch::empty({BH, L, 1}, opts);  // (BH, L, 1), before the eps guard
    torch::Tensor key_shift, query_shift;       // (BH, 1, 1), (BH, L, 1) when the map shifts
    if (map->shifted()) {
      key_shift = torch::empty({BH, 1, 1}, opts);
      query_shift = torch::empty({BH, L, 1}, opts);
    }
    const LinearAttentionTensors t{x3, y3, v1, sum_t, key_shift, out3, den, query_shift};
    const bool fused = cpu_kernels && fused_kernel_applies(fused_map(*map), t);
    for_each_slice(BH, x.device(), [&](int64_t b0, int64_t b1) {
      if (fused)
        return fused_linear_attention_forward_cpu(fused_map(*map), t, eps, chunk_rows, b0, b1);
      torch::NoGradGuard no_grad;
      const int64_t nb = b1 - b0;
      auto part = map->slice(b0, b1);
      const int64_t rows = rows_per_chunk(chunk_rows, L, nb, part->width(), x.device());
      auto xs = x3.narrow(0, b0, nb), ys = y3.narrow(0, b0, nb);
      auto pads = pad.narrow(0, b0, nb), v1s = v1.narrow(0, b0, nb);
      torch::Tensor s_sum, s_shift;  // this slice's S^T and key shift
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        torch::Tensor piece_shift;
        auto chunk = part->features(ys.narrow(1, r, n), true, pads.narrow(1, r, n), piece_shift);
        auto piece = torch::bmm(v1s.narrow(1, r, n).transpose(1, 2), chunk.phi);  // (nb, D+1, m)
        accumulate_shifted(s_sum, s_shift, piece, piece_shift);
      }
      if (L == 0) s_sum = torch::zeros({nb, D + 1, m}, opts);
      sum_t.narrow(0, b0, nb).copy_(s_sum);
      if (key_shift.defined()) key_shift.narrow(0, b0, nb).copy_(s_shift);
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        torch::Tensor shift;
        auto chunk = part->features(xs.narrow(1, r, n), false, torch::Tensor(), shift);
        auto o1 = torch::bmm(s_sum, chunk.phi.transpose(1, 2)).transpose(1, 2);  // (nb, n, D+1)
        auto den_n = o1.narrow(2, D, 1);
        den.narrow(0, b0, nb).narrow(1, r, n).copy_(den_n);
        auto out_n = out3.narrow(0, b0, nb).narrow(1, r, n);
        torch::div_out(out_n, o1.narrow(2, 0, D), den_n.clamp_min(eps));
        if (query_shift.defined()) query_shift.narrow(0, b0, nb).narrow(1, r, n).copy_(shift);
      }
    });
    ctx->save_for_backward({x3, y3, v1, sum_t, key_shift, out, den, query_shift});
    ctx->saved_data["map"] = c10::IValue::make_capsule(map);
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->saved_data["fused"] = fused;
    // Whether dv needs the mask (features of padded keys need not be 0); on the CPU only, where
    // asking costs no device sync.
    ctx->saved_data["padded"] = !x.is_cpu() || pad.any().item<bool>();
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x3 = saved[0], &y3 = saved[1], &v1 = saved[2], &sum_t = saved[3];
    const auto &key_shift = saved[4], &out = saved[5], &den = saved[6], &query_shift = saved[7];
    auto holder = ctx->saved_data["map"].toCapsule();
    const auto& map = *static_cast<const ChunkedFeatureMap*>(holder.get());
    const double eps = ctx->saved_data["eps"].toDouble();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const bool padded = ctx->saved_data["padded"].toBool();
    const bool fused = ctx->saved_data["fused"].toBool();
    const int64_t BH = x3.size(0), L = x3.size(1), d = x3.size(2), D = v1.size(2) - 1;
    auto g = grads[0].reshape({BH, L, D});  // (BH, L, D)
    auto out3 = out.view({BH, L, D});
    auto keep = v1.narrow(2, D, 1);  // (BH, L, 1)
    auto pad = keep == 0;
    auto dx = torch::empty_like(x3);                   // (BH, L, d)
    auto dy = torch::empty_like(y3);                   // (BH, L, d)
    auto dv = torch::empty({BH, L, D}, v1.options());  // (BH, L, D)

    const LinearAttentionTensors t{x3, y3, v1, sum_t, key_shift, out3, den, query_shift};
    const auto g_rows = fused ? g.contiguous() : g;
    for_each_slice(BH, x3.device(), [&](int64_t b0, int64_t b1) {
      if (fused)
        return fused_linear_attention_backward_cpu(fused_map(map), t, eps, chunk_rows, b0, b1,
                                                   g_rows, dx, dy, dv);
      torch::NoGradGuard no_grad;
      const int64_t nb = b1 - b0;
      auto part = map.slice(b0, b1);
      const int64_t rows = rows_per_chunk(chunk_rows, L, nb, part->width(), x3.device());
      auto s_sum = sum_t.narrow(0, b0, nb);  // (nb, D+1, m)
      auto dsum = torch::zeros_like(s_sum);  // d loss / d S^T (nb, D+1, m)
      // Queries: d out / d [num, den] per row, then through phi(q) and into dS.
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        auto rows_of = [&](const torch::Tensor& t) { return t.narrow(0, b0, nb).narrow(1, r, n); };
        auto shift = query_shift.defined() ? rows_of(query_shift) : torch::Tensor();
        auto xc = rows_of(x3);
        auto chunk = part->features(xc, false, torch::Tensor(), shift);
        auto d_o1 = output_grad_fast(rows_of(g), rows_of(out3), rows_of(den), eps);  // (nb,n,D+1)
        auto dphi = torch::bmm(d_o1, s_sum);                                         // (nb, n, m)
        dsum.baddbmm_(d_o1.transpose(1, 2), chunk.phi);                              // (nb, D+1, m)
        rows_of(dx).copy_(part->vjp(xc, false, chunk, dphi));
      }
      // Keys and values: S^T = sum_j [v_j, 1] phi(k_j)^T.
      for (int64_t r = 0; r < L; r += rows) {
        const int64_t n = std::min(rows, L - r);
        auto rows_of = [&](const torch::Tensor& t) { return t.narrow(0, b0, nb).narrow(1, r, n); };
        auto shift = key_shift.defined() ? key_shift.narrow(0, b0, nb) : torch::Tensor();
        auto yc = rows_of(y3);
        auto chunk = part->features(yc, true, rows_of(pad), shift);
        auto dphi = torch::bmm(rows_of(v1), dsum);  // (nb, n, m)
        rows_of(dy).copy_(part->vjp(yc, true, chunk, dphi));
        auto dv_n = rows_of(dv);
        torch::bmm_out(dv_n, chunk.phi, dsum.narrow(1, 0, D).transpose(1, 2));  // (nb, n, D)
        if (padded) dv_n.mul_(rows_of(keep));
      }
    });
    const auto& shape = grads[0].sizes();
    std::vector<int64_t> xshape = {shape[0], shape[1], L, d};
    return {dx.view(xshape), dy.view(xshape), dv.view(shape),  torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
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
                                       int64_t chunk_rows, bool cpu_kernels) {
  TORCH_CHECK(x.dim() == 4 && y.sizes() == x.sizes() && v.dim() == 4 && v.size(2) == x.size(2) &&
                  key_mask.dim() == 2,
              "chunked_linear_attention: expected x, y (B, H, L, d), v (B, H, L, D), mask (B, L)");
  return ChunkedLinearAttentionFunction::apply(x, y, v, key_mask, map, eps, chunk_rows,
                                               cpu_kernels);
}

}  // namespace lra
