#include "attention/cpu/block_sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/block_sparse_kernel.h"

namespace lra {
namespace block_sparse {

// Added to the score of a padded key: exp of it is exactly 0 next to any real key in float32 and
// float64, and finite, so a row whose allowed keys are all padded gets uniform weights instead of
// NaN. An unlisted slot or a key the rule excludes gets twice that: nothing beside a padded key.
constexpr double kMaskedScore = -1e30;
constexpr double kExcludedScore = -2e30;

void check(const torch::Tensor& q, const torch::Tensor& key_mask, const BlockSparseLayout& layout) {
  if (q.dim() != 4 || key_mask.dim() != 2)
    throw std::invalid_argument("block_sparse_attention: q must be (B, H, L, d), key_mask (B, L)");
  if (layout.block_size < 1) throw std::invalid_argument("block_sparse_attention: block_size < 1");
  const int64_t blocks = (q.size(2) + layout.block_size - 1) / layout.block_size;
  const int64_t listed = layout.sparse_rows.numel() + layout.global_rows.numel();
  const auto& keys = layout.key_tokens.defined() ? layout.key_tokens : layout.key_blocks;
  if (listed != blocks ||
      (layout.sparse_rows.numel() > 0 &&
       (!keys.defined() || keys.dim() != 3 || keys.size(1) != layout.sparse_rows.numel() ||
        keys.size(0) != q.size(1))))
    throw std::invalid_argument("block_sparse_attention: the layout lists " +
                                std::to_string(listed) + " query blocks for " +
                                std::to_string(blocks) + " blocks of " +
                                std::to_string(layout.block_size) + " tokens");
}

// (B, H, L, d) -> (B, H, Lp, d), zeros appended along the length.
torch::Tensor pad_length(const torch::Tensor& t, int64_t padded) {
  const int64_t extra = padded - t.size(2);
  return extra == 0 ? t : torch::constant_pad_nd(t, {0, 0, 0, extra}, 0.0);
}

// Whether query position i sees key position j under the rule (broadcasting int64 tensors).
torch::Tensor rule_allows(const BlockSparseLayout& layout, const torch::Tensor& i,
                          const torch::Tensor& j) {
  switch (layout.rule) {
    case TokenRule::kCausal:
      return j.le(i);
    case TokenRule::kBand:
      return j.ge(i - layout.band_left).logical_and(j.le(i + layout.band_right));
    case TokenRule::kNone:
      break;
  }
  return torch::ones_like(i.add(j), torch::kBool);
}

// Rows of query blocks `rows` attending to every key: (B, H, G, bs, d). qb is pre-scaled. Through
// scaled_dot_product_attention (a blocked kernel on the CPU), so no (G bs x Lp) tensor is formed.
torch::Tensor global_rows(const torch::Tensor& qb, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& real, const torch::Tensor& rows) {
  const int64_t B = qb.size(0), H = qb.size(1), G = rows.numel(), bs = qb.size(3);
  auto q = qb.index_select(2, rows).reshape({B, H, G * bs, qb.size(4)});  // (B, H, G bs, d)
  auto bias = torch::zeros(real.sizes(), q.options())
                  .masked_fill_(real.logical_not(), kMaskedScore)
                  .view({B, 1, 1, -1});                                         // (B, 1, 1, Lp)
  auto out = at::scaled_dot_product_attention(q, k, v, bias, 0.0, false, 1.0);  // (B, H, G bs, d)
  return out.view({B, H, G, bs, qb.size(4)});
}

// Rows of query blocks `rows` attending to their listed key tokens `tokens` (H, S, M):
// (B, H, S, bs, d). qb is pre-scaled; kp, vp (B, H, Lp, d); real (B, Lp).
torch::Tensor sparse_rows(const BlockSparseLayout& layout, const torch::Tensor& qb,
                          const torch::Tensor& kp, const torch::Tensor& vp,
                          const torch::Tensor& real, const torch::Tensor& rows,
                          const torch::Tensor& tokens) {
  const int64_t B = qb.size(0), H = qb.size(1), bs = qb.size(3), d = qb.size(4), Lp = kp.size(2),
                S = rows.numel(), M = tokens.size(2);
  auto listed = tokens.ge(0);      // (H, S, M)
  auto tok = tokens.clamp_min(0);  // (H, S, M)
  auto offsets = torch::arange(H, tok.options()).mul_(Lp).view({H, 1, 1});
  auto flat = (tok + offsets).view({-1});      // (H S M) into H Lp
  auto gather = [&](const torch::Tensor& t) {  // (B, H, Lp, d)
    return t.reshape({B, H * Lp, d}).index_select(1, flat).view({B, H, S, M, d});
  };
  auto keys = gather(kp), values = gather(vp);             // (B, H, S, M, d)
  auto q = qb.index_select(2, rows);                       // (B, H, S, bs, d)
  auto scores = torch::matmul(q, keys.transpose(-2, -1));  // (B, H, S, bs, M)
  auto query_pos = (rows.view({S, 1}) * bs + torch::arange(bs, rows.options())).view({1, S, bs, 1});
  auto slot = torch::arange(M, tok.options()).view({1, 1, 1, M});
  auto allowed = rule_allows(layout, query_pos, tok.view({H, S, 1, M}))
                     .logical_or(slot.lt(layout.rule_exempt_slots))
                     .logical_and(listed.view({H, S, 1, M}));  // (H, S, bs, M)
  auto key_real = real.index_select(1, tok.view({-1})).view({B, H, S, 1, M});
  scores.masked_fill_(key_real.logical_not(), kMaskedScore);
  scores.masked_fill_(allowed.logical_not().unsqueeze(0), kExcludedScore);
  return torch::matmul(torch::softmax(scores, -1), values);  // (B, H, S, bs, d)
}

}  // namespace block_sparse

torch::Tensor listed_key_tokens(const BlockSparseLayout& layout) {
  if (layout.key_tokens.defined()) return layout.key_tokens;
  const auto& blocks = layout.key_blocks;  // (H, S, m)
  const int64_t size = layout.block_size;
  auto within = torch::arange(size, blocks.options()).view({1, 1, 1, size});
  auto tokens = (blocks.unsqueeze(-1) * size + within)  // (H, S, m, bs)
                    .masked_fill(blocks.lt(0).unsqueeze(-1), -1);
  return tokens.flatten(2);  // (H, S, m bs)
}

torch::Tensor block_sparse_attention_ops(const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v, const torch::Tensor& key_mask,
                                         const BlockSparseLayout& layout,
                                         std::optional<double> scale) {
  namespace bs = block_sparse;
  bs::check(q, key_mask, layout);
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3),
                size = layout.block_size, nb = (L + size - 1) / size, Lp = nb * size;
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(d)));
  auto device = q.device();
  auto real = torch::constant_pad_nd(key_mask.gt(0), {0, Lp - L}, 0);  // (B, Lp) bool
  auto qp = bs::pad_length(q * s, Lp), kp = bs::pad_length(k, Lp), vp = bs::pad_length(v, Lp);
  auto qb = qp.view({B, H, nb, size, d});
  std::vector<torch::Tensor> parts;  // (B, H, rows, bs, d) each, in the order of `order`
  std::vector<torch::Tensor> order;
  if (layout.sparse_rows.numel() > 0) {
    auto rows = layout.sparse_rows.to(device);
    auto tokens = listed_key_tokens(layout).to(device);  // (H, S, M)
    // Row chunks whose scores stay near 2^21 elements: tensors this size come from the heap
    // and are reused from call to call, where larger ones are fresh pages every call.
    const int64_t S = rows.numel(), per_row = B * H * size * tokens.size(2);
    const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 21) / std::max<int64_t>(per_row, 1));
    std::vector<torch::Tensor> chunks;
    for (int64_t start = 0; start < S; start += chunk) {
      const int64_t n = std::min(chunk, S - start);
      chunks.push_back(bs::sparse_rows(layout, qb, kp, vp, real, rows.narrow(0, start, n),
                                       tokens.narrow(1, start, n)));
    }
    parts.push_back(chunks.size() == 1 ? chunks[0] : torch::cat(chunks, 2));
    order.push_back(rows);
  }
  if (layout.global_rows.numel() > 0) {
    auto rows = layout.global_rows.to(device);
    parts.push_back(bs::global_rows(qb, kp, vp, real, rows));
    order.push_back(rows);
  }
  // Back to block order: position of each block among the parts' rows.
  auto where = torch::argsort(torch::cat(order));                  // (nb)
  auto out = parts.size() == 1 ? parts[0] : torch::cat(parts, 2);  // (B, H, nb, bs, d)
  out = out.index_select(2, where);
  return out.reshape({B, H, Lp, d}).narrow(2, 0, L);
}

torch::Tensor block_sparse_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& key_mask,
                                     const BlockSparseLayout& layout, std::optional<double> scale) {
  if (!block_sparse_kernel_supported(q))
    return block_sparse_attention_ops(q, k, v, key_mask, layout, scale);
  block_sparse::check(q, key_mask, layout);
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  return block_sparse_kernel(q, k, v, key_mask, layout, s);
}

torch::Tensor block_sparse_multiplicity(const BlockSparseLayout& layout, int64_t heads,
                                        int64_t length) {
  const int64_t size = layout.block_size, nb = (length + size - 1) / size, Lp = nb * size;
  auto count = torch::zeros({heads, Lp, Lp}, torch::kFloat64);  // (H, query, key)
  auto acc = count.accessor<double, 3>();
  auto rows = layout.sparse_rows.to(torch::kCPU).contiguous();
  if (rows.numel() > 0) {
    auto tokens = listed_key_tokens(layout).to(torch::kCPU).contiguous();  // (H, S, M)
    auto listed = tokens.accessor<int64_t, 3>();
    auto row = rows.accessor<int64_t, 1>();
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t s = 0; s < rows.numel(); ++s)
        for (int64_t slot = 0; slot < tokens.size(2); ++slot) {
          const int64_t j = listed[h][s][slot];
          if (j < 0) continue;
          for (int64_t i = row[s] * size; i < (row[s] + 1) * size; ++i) {
            const bool seen = slot < layout.rule_exempt_slots || layout.rule == TokenRule::kNone ||
                              (layout.rule == TokenRule::kCausal && j <= i) ||
                              (layout.rule == TokenRule::kBand && j >= i - layout.band_left &&
                               j <= i + layout.band_right);
            if (seen) acc[h][i][j] += 1.0;
          }
        }
  }
  auto global = layout.global_rows.to(torch::kCPU).contiguous();
  for (int64_t g = 0; g < global.numel(); ++g)
    count.narrow(1, global[g].item<int64_t>() * size, size).fill_(1.0);
  return count.narrow(1, 0, length).narrow(2, 0, length);
}

torch::Tensor block_sparse_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v,
                                               const torch::Tensor& key_mask,
                                               const BlockSparseLayout& layout,
                                               std::optional<double> scale) {
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  auto count = block_sparse_multiplicity(layout, q.size(1), q.size(2))
                   .to(q.options())
                   .unsqueeze(0);                                        // (1, H, L, L)
  count = count * key_mask.to(q.options()).view({q.size(0), 1, 1, -1});  // (B, H, L, L)
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * s;               // (B, H, L, L)
  auto unseen = count.eq(0);
  auto shift = std::get<0>(scores.masked_fill(unseen, -INFINITY).max(-1, true)).detach();
  shift = shift.masked_fill(torch::isinf(shift), 0.0);  // rows that see no real key
  auto weights = count * torch::exp((scores - shift).masked_fill(unseen, -INFINITY));
  auto total = weights.sum(-1, true);  // 0 where a row sees no real key: zeros, not NaN
  return torch::matmul(weights / total.masked_fill(total.eq(0), 1.0), v);
}

}  // namespace lra
