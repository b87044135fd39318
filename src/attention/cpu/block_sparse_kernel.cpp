#include "attention/cpu/block_sparse_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/cpu/gemm.h"
#include "attention/cpu/vector_math.h"

namespace lra {
// Named, so that in a unity build these helpers stay apart from blocked_softmax.cpp's.
namespace block_sparse_cpu {
namespace {

// A 64-query block's scores, weights and their gradient over 512 keys (3 x 128 KiB) and the
// gathered keys and values (2 x 64 KiB at d = 32) stay in a 1 MiB L2.
constexpr int64_t kTileKeys = 512;
// As block_sparse_attention_ops: a padded key's score, finite so that a row whose allowed keys
// are all padded weighs them uniformly.
constexpr double kMaskedScore = -1e30;

// The layout as flat arrays the threads read: each sparse row's listed keys with the unused
// slots dropped.
struct Plan {
  int64_t B = 0, H = 0, Lp = 0, D = 0, bs = 0, nb = 0, S = 0;
  double scale = 1.0;
  TokenRule rule = TokenRule::kNone;
  int64_t band_left = 0, band_right = 0;
  std::vector<int64_t> row_of_block;  // (nb): the sparse row index, -1 for a global block
  std::vector<int64_t> list_begin;    // (H S + 1): offsets into tokens
  std::vector<int32_t> tokens;        // every listed key token, row after row
  std::vector<uint8_t> ruled;         // per listed key: 1 when the rule applies to it
  std::vector<int32_t> slot;          // per listed key: its slot in the row's list
  int64_t M = 0;                      // slots per list
  const void* bias = nullptr;         // (B, H, S, bs, M) added to the sparse rows' scores, or null
  std::vector<uint8_t> real;          // (B, Lp): 1 = real key
  std::vector<uint8_t> has_padding;   // (B)
};

Plan make_plan(const BlockSparseLayout& layout, const torch::Tensor& real_mask, int64_t H,
               int64_t D, double scale) {
  Plan p;
  p.B = real_mask.size(0), p.H = H, p.Lp = real_mask.size(1), p.D = D;
  p.bs = layout.block_size, p.nb = p.Lp / p.bs, p.scale = scale;
  p.rule = layout.rule, p.band_left = layout.band_left, p.band_right = layout.band_right;
  auto real = real_mask.to(torch::kCPU, torch::kUInt8).contiguous();  // (B, Lp)
  p.real.assign(real.data_ptr<uint8_t>(), real.data_ptr<uint8_t>() + real.numel());
  p.has_padding.assign(static_cast<size_t>(p.B), 0);
  for (int64_t b = 0; b < p.B; ++b)
    p.has_padding[b] = std::find(p.real.begin() + b * p.Lp, p.real.begin() + (b + 1) * p.Lp, 0) !=
                       p.real.begin() + (b + 1) * p.Lp;
  p.row_of_block.assign(static_cast<size_t>(p.nb), -1);
  auto rows = layout.sparse_rows.to(torch::kCPU, torch::kInt64).contiguous();
  p.S = rows.numel();
  for (int64_t s = 0; s < p.S; ++s) p.row_of_block[rows.data_ptr<int64_t>()[s]] = s;
  p.list_begin.assign(static_cast<size_t>(H * p.S + 1), 0);
  if (p.S == 0) return p;
  auto listed = listed_key_tokens(layout).to(torch::kCPU, torch::kInt64).contiguous();  // (H,S,M)
  const int64_t M = listed.size(2);
  p.M = M;
  const int64_t* t = listed.data_ptr<int64_t>();
  for (int64_t hs = 0; hs < H * p.S; ++hs) {
    for (int64_t slot = 0; slot < M; ++slot) {
      const int64_t token = t[hs * M + slot];
      if (token < 0) continue;
      p.tokens.push_back(static_cast<int32_t>(token));
      p.ruled.push_back(layout.rule != TokenRule::kNone && slot >= layout.rule_exempt_slots);
      p.slot.push_back(static_cast<int32_t>(slot));
    }
    p.list_begin[hs + 1] = static_cast<int64_t>(p.tokens.size());
  }
  return p;
}

// One tile of keys of one query block: w keys at positions pos (contiguous from pos[0] when
// `contiguous`), their rows in k / v (gathered, or pointers into the slice).
template <typename T>
struct Tile {
  int64_t w = 0;
  const int32_t* pos = nullptr;
  const uint8_t* ruled = nullptr;  // null: no key of the tile is ruled
  const int32_t* slot = nullptr;   // the keys' slots in their list (sparse rows)
  const T* bias = nullptr;         // (bs, M): the block's bias rows, or null
  const T* k = nullptr;
  const T* v = nullptr;
};

// Per-thread scratch: gathered keys and values, positions of a contiguous tile, scores and
// their gradient, and the forward's running rows.
template <typename T>
struct Scratch {
  std::vector<T> kg, vg, s, ds, acc, m, l, dkg, dvg, delta;
  std::vector<int32_t> pos;
  explicit Scratch(const Plan& p)
      : kg(kTileKeys * p.D),
        vg(kTileKeys * p.D),
        s(p.bs * kTileKeys),
        ds(p.bs * kTileKeys),
        acc(p.bs * p.D),
        m(p.bs),
        l(p.bs),
        dkg(kTileKeys * p.D),
        dvg(kTileKeys * p.D),
        delta(p.bs),
        pos(kTileKeys) {}
};

// Walks the tiles of query block `blk` of slice bh: a global block's keys are the slice's rows
// in place, a sparse block's are gathered. fn(tile) for each.
template <typename T, typename Fn>
void for_each_tile(const Plan& p, int64_t bh, int64_t blk, const T* k, const T* v, Scratch<T>& w,
                   const Fn& fn) {
  const int64_t s = p.row_of_block[blk], D = p.D;
  if (s < 0) {
    for (int64_t c0 = 0; c0 < p.Lp; c0 += kTileKeys) {
      Tile<T> tile;
      tile.w = std::min(kTileKeys, p.Lp - c0);
      for (int64_t j = 0; j < tile.w; ++j) w.pos[j] = static_cast<int32_t>(c0 + j);
      tile.pos = w.pos.data();
      tile.k = k + c0 * D;
      tile.v = v + c0 * D;
      fn(tile);
    }
    return;
  }
  const int64_t list = (bh % p.H) * p.S + s;
  const int64_t begin = p.list_begin[list], end = p.list_begin[list + 1];
  for (int64_t c0 = begin; c0 < end; c0 += kTileKeys) {
    Tile<T> tile;
    tile.w = std::min(kTileKeys, end - c0);
    tile.pos = p.tokens.data() + c0;
    tile.slot = p.slot.data() + c0;
    if (p.rule != TokenRule::kNone) tile.ruled = p.ruled.data() + c0;
    if (p.bias) tile.bias = static_cast<const T*>(p.bias) + (bh * p.S + s) * p.bs * p.M;
    for (int64_t j = 0; j < tile.w; ++j) {
      std::memcpy(w.kg.data() + j * D, k + tile.pos[j] * D, sizeof(T) * D);
      std::memcpy(w.vg.data() + j * D, v + tile.pos[j] * D, sizeof(T) * D);
    }
    tile.k = w.kg.data();
    tile.v = w.vg.data();
    fn(tile);
  }
}

// Scores (bs, w) of the block's queries q (bs, D) against the tile, masked: a key the rule
// hides gets -inf (no weight), a padded key kMaskedScore.
template <typename T>
void tile_scores(const Plan& p, int64_t b, int64_t i0, const T* q, const Tile<T>& tile, T* s) {
  const int64_t bs = p.bs, w = tile.w;
  cpu::gemm(false, true, bs, w, p.D, static_cast<T>(p.scale), q, p.D, tile.k, p.D, T(0), s, w);
  if (tile.bias) {
    // Slots rise within a list, so a tile whose first and last are w - 1 apart holds consecutive
    // slots: its bias rows are contiguous (reformer's windows always are).
    const bool consecutive = tile.slot[w - 1] - tile.slot[0] == w - 1;
    for (int64_t r = 0; r < bs; ++r) {
      const T* bias = tile.bias + r * p.M;
      if (consecutive)
        cpu::axpy(T(1), bias + tile.slot[0], s + r * w, w);
      else
        for (int64_t j = 0; j < w; ++j) s[r * w + j] += bias[tile.slot[j]];
    }
  }
  if (p.has_padding[b]) {
    const uint8_t* real = p.real.data() + b * p.Lp;
    for (int64_t j = 0; j < w; ++j)
      if (!real[tile.pos[j]])
        for (int64_t r = 0; r < bs; ++r) s[r * w + j] += static_cast<T>(kMaskedScore);
  }
  if (!tile.ruled) return;
  const T hidden = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < bs; ++r) {
    const int64_t i = i0 + r;
    const int64_t lo =
        p.rule == TokenRule::kCausal ? std::numeric_limits<int64_t>::min() : i - p.band_left;
    const int64_t hi = p.rule == TokenRule::kCausal ? i : i + p.band_right;
    T* row = s + r * w;
    for (int64_t j = 0; j < w; ++j)
      if (tile.ruled[j] && (tile.pos[j] < lo || tile.pos[j] > hi)) row[j] = hidden;
  }
}

template <typename T>
void forward_block(const Plan& p, int64_t bh, int64_t blk, const T* q, const T* k, const T* v,
                   T* out, T* lse, Scratch<T>& w) {
  const int64_t b = bh / p.H, bs = p.bs, D = p.D, i0 = blk * bs;
  const T neg_inf = -std::numeric_limits<T>::infinity();
  std::fill(w.acc.begin(), w.acc.end(), T(0));
  std::fill(w.m.begin(), w.m.end(), neg_inf);
  std::fill(w.l.begin(), w.l.end(), T(0));
  for_each_tile<T>(p, bh, blk, k, v, w, [&](const Tile<T>& tile) {
    T* s = w.s.data();
    tile_scores<T>(p, b, i0, q + i0 * D, tile, s);  // (bs, w)
    for (int64_t r = 0; r < bs; ++r) {
      T* row = s + r * tile.w;
      const T top = cpu::row_max(row, tile.w, w.m[r]);
      if (top == neg_inf) {  // every key so far hidden
        std::fill(row, row + tile.w, T(0));
        continue;
      }
      const T correction = std::exp(w.m[r] - top);
      w.l[r] = w.l[r] * correction + cpu::exp_shifted(row, tile.w, top);
      w.m[r] = top;
      for (int64_t d = 0; d < D; ++d) w.acc[r * D + d] *= correction;
    }
    cpu::gemm(false, false, bs, D, tile.w, T(1), s, tile.w, tile.v, D, T(1), w.acc.data(), D);
  });
  for (int64_t r = 0; r < bs; ++r) {
    const T l = w.l[r];
    for (int64_t d = 0; d < D; ++d) out[(i0 + r) * D + d] = l > 0 ? w.acc[r * D + d] / l : T(0);
    lse[i0 + r] = l > 0 ? w.m[r] + std::log(l) : std::numeric_limits<T>::infinity();
  }
}

// Gradients of query block blk of slice bh: into dq's rows, and dk, dv (the share's own copy).
template <typename T>
void backward_block(const Plan& p, int64_t bh, int64_t blk, const T* q, const T* k, const T* v,
                    const T* out, const T* g, const T* lse, const T* g_lse, T* dq, T* dk, T* dv,
                    Scratch<T>& w) {
  const int64_t b = bh / p.H, bs = p.bs, D = p.D, i0 = blk * bs;
  const bool gathered = p.row_of_block[blk] >= 0;
  const T scale = static_cast<T>(p.scale);
  // d lse_i / d s_ij = P_ij: an lse gradient adds P_ij g_lse_i to dS, i.e. lowers delta_i.
  for (int64_t r = 0; r < bs; ++r)
    w.delta[r] = cpu::dot(g + (i0 + r) * D, out + (i0 + r) * D, D) - (g_lse ? g_lse[i0 + r] : T(0));
  for_each_tile<T>(p, bh, blk, k, v, w, [&](const Tile<T>& tile) {
    const int64_t n = tile.w;
    T *a = w.s.data(), *dp = w.ds.data();
    tile_scores<T>(p, b, i0, q + i0 * D, tile, a);                                 // (bs, n)
    for (int64_t r = 0; r < bs; ++r) cpu::exp_shifted(a + r * n, n, lse[i0 + r]);  // weights
    // Keys in place accumulate straight into dk, dv; gathered ones go through a tile first.
    T* dv_tile = gathered ? w.dvg.data() : dv + tile.pos[0] * D;
    T* dk_tile = gathered ? w.dkg.data() : dk + tile.pos[0] * D;
    const T beta = gathered ? T(0) : T(1);
    cpu::gemm(true, false, n, D, bs, T(1), a, n, g + i0 * D, D, beta, dv_tile, D);
    cpu::gemm(false, true, bs, n, D, T(1), g + i0 * D, D, tile.v, D, T(0), dp, n);
    for (int64_t r = 0; r < bs; ++r)
      cpu::softmax_backward_row(dp + r * n, a + r * n, a + r * n, n, w.delta[r]);  // dS
    cpu::gemm(false, false, bs, D, n, scale, dp, n, tile.k, D, T(1), dq + i0 * D, D);
    cpu::gemm(true, false, n, D, bs, scale, dp, n, q + i0 * D, D, beta, dk_tile, D);
    if (!gathered) return;
    for (int64_t j = 0; j < n; ++j) {
      cpu::axpy(T(1), dk_tile + j * D, dk + tile.pos[j] * D, D);
      cpu::axpy(T(1), dv_tile + j * D, dv + tile.pos[j] * D, D);
    }
  });
}

template <typename T>
void forward_kernel(const Plan& p, const torch::Tensor& q, const torch::Tensor& k,
                    const torch::Tensor& v, torch::Tensor& out, torch::Tensor& lse) {
  const int64_t slice = p.Lp * p.D, BH = p.B * p.H;
  at::parallel_for(0, BH * p.nb, 1, [&](int64_t begin, int64_t end) {
    const cpu::OneBlasThread one_thread;
    Scratch<T> w(p);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / p.nb, blk = task % p.nb;
      forward_block<T>(p, bh, blk, q.data_ptr<T>() + bh * slice, k.data_ptr<T>() + bh * slice,
                       v.data_ptr<T>() + bh * slice, out.data_ptr<T>() + bh * slice,
                       lse.data_ptr<T>() + bh * p.Lp, w);
    }
  });
}

// Each task takes the query blocks of one slice (with fewer slices than threads, a share of
// them, into its own dk / dv copy, summed afterwards: no two threads add to the same rows).
template <typename T>
void backward_kernel(const Plan& p, const std::vector<torch::Tensor>& in, torch::Tensor& dq,
                     torch::Tensor& dk, torch::Tensor& dv) {
  const int64_t slice = p.Lp * p.D, BH = p.B * p.H;
  const int64_t shares = std::clamp<int64_t>((at::get_num_threads() + BH - 1) / BH, 1, p.nb);
  auto dk_parts = shares == 1 ? dk.view({1, BH, p.Lp, p.D})
                              : torch::zeros({shares, BH, p.Lp, p.D}, dk.options());
  auto dv_parts = shares == 1 ? dv.view({1, BH, p.Lp, p.D})
                              : torch::zeros({shares, BH, p.Lp, p.D}, dv.options());
  at::parallel_for(0, BH * shares, 1, [&](int64_t begin, int64_t end) {
    const cpu::OneBlasThread one_thread;
    Scratch<T> w(p);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / shares, share = task % shares, at = bh * slice;
      for (int64_t blk = share; blk < p.nb; blk += shares)
        backward_block<T>(p, bh, blk, in[0].data_ptr<T>() + at, in[1].data_ptr<T>() + at,
                          in[2].data_ptr<T>() + at, in[3].data_ptr<T>() + at,
                          in[4].data_ptr<T>() + at, in[5].data_ptr<T>() + bh * p.Lp,
                          in[6].defined() ? in[6].data_ptr<T>() + bh * p.Lp : nullptr,
                          dq.data_ptr<T>() + at, dk_parts[share].data_ptr<T>() + at,
                          dv_parts[share].data_ptr<T>() + at, w);
    }
  });
  if (shares > 1) {
    dk.copy_(dk_parts.sum(0).view(dk.sizes()));
    dv.copy_(dv_parts.sum(0).view(dv.sizes()));
  }
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The layout travels through autograd as tensors and numbers, rebuilt into a Plan on each side.
BlockSparseLayout layout_from(AutogradContext* ctx, const torch::Tensor& tokens,
                              const torch::Tensor& rows, const torch::Tensor& global) {
  BlockSparseLayout layout;
  layout.block_size = ctx->saved_data["block_size"].toInt();
  layout.key_tokens = tokens;
  layout.sparse_rows = rows;
  layout.global_rows = global;
  layout.rule = static_cast<TokenRule>(ctx->saved_data["rule"].toInt());
  layout.band_left = ctx->saved_data["band_left"].toInt();
  layout.band_right = ctx->saved_data["band_right"].toInt();
  layout.rule_exempt_slots = ctx->saved_data["exempt"].toInt();
  return layout;
}

class BlockSparseFunction : public torch::autograd::Function<BlockSparseFunction> {
 public:
  // q, k, v: (B, H, Lp, D) block-padded; real: (B, Lp) bool; bias: (B, H, S, bs, M), or empty
  // for none (autograd takes no undefined inputs).
  // Returns {out (B, H, Lp, D), lse (B, H, Lp)}.
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& real,
                               const BlockSparseLayout& layout, double scale,
                               const torch::Tensor& bias) {
    Plan p = make_plan(layout, real, q.size(1), q.size(3), scale);
    auto q4 = q.contiguous(), k4 = k.contiguous(), v4 = v.contiguous();  // (B, H, Lp, D)
    auto b5 = bias.to(q4.scalar_type()).contiguous();
    if (b5.numel() > 0) p.bias = b5.data_ptr();
    auto out = torch::empty_like(q4);                         // (B, H, Lp, D)
    auto lse = torch::empty({p.B, p.H, p.Lp}, q4.options());  // (B, H, Lp)
    AT_DISPATCH_FLOATING_TYPES(q4.scalar_type(), "block_sparse_forward",
                               [&] { forward_kernel<scalar_t>(p, q4, k4, v4, out, lse); });
    auto tokens = p.S > 0 ? listed_key_tokens(layout) : torch::empty({0}, torch::kInt64);
    ctx->save_for_backward(
        {q4, k4, v4, out, lse, real, tokens, layout.sparse_rows, layout.global_rows, b5});
    ctx->saved_data["block_size"] = layout.block_size;
    ctx->saved_data["rule"] = static_cast<int64_t>(layout.rule);
    ctx->saved_data["band_left"] = layout.band_left;
    ctx->saved_data["band_right"] = layout.band_right;
    ctx->saved_data["exempt"] = layout.rule_exempt_slots;
    ctx->saved_data["scale"] = scale;
    return {out, lse};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    const auto layout = layout_from(ctx, s[6], s[7], s[8]);
    Plan p =
        make_plan(layout, s[5], s[0].size(1), s[0].size(3), ctx->saved_data["scale"].toDouble());
    if (s[9].numel() > 0) p.bias = s[9].data_ptr();
    auto g = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(s[3]);  // (B,H,Lp,D)
    auto g_lse = grads[1].defined() ? grads[1].contiguous() : torch::Tensor();      // (B,H,Lp)
    auto dq = torch::zeros_like(s[0]), dk = torch::zeros_like(s[1]), dv = torch::zeros_like(s[2]);
    const std::vector<torch::Tensor> in = {s[0], s[1], s[2], s[3], g, s[4], g_lse};
    AT_DISPATCH_FLOATING_TYPES(s[0].scalar_type(), "block_sparse_backward",
                               [&] { backward_kernel<scalar_t>(p, in, dq, dk, dv); });
    return {dq, dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace
}  // namespace block_sparse_cpu

bool block_sparse_kernel_supported(const torch::Tensor& q) {
  return q.device().is_cpu() &&
         (q.scalar_type() == torch::kFloat || q.scalar_type() == torch::kDouble);
}

torch::Tensor block_sparse_kernel(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_mask,
                                  const BlockSparseLayout& layout, double scale) {
  const int64_t L = q.size(2), size = layout.block_size, Lp = (L + size - 1) / size * size;
  auto pad = [&](const torch::Tensor& t) {  // (B, H, L, D) -> (B, H, Lp, D)
    return Lp == L ? t : torch::constant_pad_nd(t, {0, 0, 0, Lp - L}, 0.0);
  };
  auto real = torch::constant_pad_nd(key_mask.gt(0), {0, Lp - L}, 0);  // (B, Lp) bool
  auto out = block_sparse_cpu::BlockSparseFunction::apply(pad(q), pad(k), pad(v), real, layout,
                                                          scale, torch::empty({0}, q.options()))[0];
  return Lp == L ? out : out.narrow(2, 0, L);
}

std::tuple<torch::Tensor, torch::Tensor> block_sparse_kernel_with_lse(
    const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
    const torch::Tensor& key_mask, const BlockSparseLayout& layout, double scale,
    const torch::Tensor& bias) {
  TORCH_CHECK(q.size(2) % layout.block_size == 0,
              "block_sparse_kernel_with_lse: the length must be a multiple of the block size");
  TORCH_CHECK(
      !bias.defined() ||
          (bias.dim() == 5 && bias.size(0) == q.size(0) && bias.size(1) == q.size(1) &&
           bias.size(2) == layout.sparse_rows.numel() && bias.size(3) == layout.block_size &&
           bias.size(4) == listed_key_tokens(layout).size(2)),
      "block_sparse_kernel_with_lse: bias must be (B, H, S, block_size, slots)");
  auto outs = block_sparse_cpu::BlockSparseFunction::apply(
      q, k, v, key_mask.gt(0), layout, scale,
      bias.defined() ? bias : torch::empty({0}, q.options()));
  return {outs[0], outs[1]};
}

}  // namespace lra
