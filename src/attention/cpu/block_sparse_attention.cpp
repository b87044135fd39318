#include "attention/cpu/block_sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace lra {
namespace block_sparse {

// Added to the score of a padded or unlisted key: exp of it is exactly 0 next to any real key in
// float32 and float64, and finite, so a row whose keys are all padded gets uniform weights
// instead of NaN.
constexpr double kMaskedScore = -1e30;

void check(const torch::Tensor& q, const torch::Tensor& key_mask, const BlockSparseLayout& layout) {
  if (q.dim() != 4 || key_mask.dim() != 2)
    throw std::invalid_argument("block_sparse_attention: q must be (B, H, L, d), key_mask (B, L)");
  if (layout.block_size < 1) throw std::invalid_argument("block_sparse_attention: block_size < 1");
  const int64_t blocks = (q.size(2) + layout.block_size - 1) / layout.block_size;
  const int64_t listed = layout.sparse_rows.numel() + layout.global_rows.numel();
  if (listed != blocks || layout.key_blocks.dim() != 3 ||
      layout.key_blocks.size(1) != layout.sparse_rows.numel() ||
      layout.key_blocks.size(0) != q.size(1))
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

// 0 for a real key, kMaskedScore for a padded one, in the scores' dtype.
torch::Tensor score_bias(const torch::Tensor& real, const torch::TensorOptions& options) {
  return torch::zeros(real.sizes(), options).masked_fill_(real.logical_not(), kMaskedScore);
}

// Rows of query blocks `rows` attending to every key: (B, H, G, bs, d). qb is pre-scaled. Through
// scaled_dot_product_attention (a blocked kernel on the CPU), so no (G bs x Lp) tensor is formed.
torch::Tensor global_rows(const torch::Tensor& qb, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& real, const torch::Tensor& rows) {
  const int64_t B = qb.size(0), H = qb.size(1), G = rows.numel(), bs = qb.size(3);
  auto q = qb.index_select(2, rows).reshape({B, H, G * bs, qb.size(4)});        // (B, H, G bs, d)
  auto bias = score_bias(real, q.options()).view({B, 1, 1, -1});                // (B, 1, 1, Lp)
  auto out = at::scaled_dot_product_attention(q, k, v, bias, 0.0, false, 1.0);  // (B, H, G bs, d)
  return out.view({B, H, G, bs, qb.size(4)});
}

// Rows of query blocks `rows` attending to their listed key blocks: (B, H, S, bs, d). qb is
// pre-scaled. The score tensor is the matmul's own output, so the mask is added in place.
torch::Tensor sparse_rows(const torch::Tensor& qb, const torch::Tensor& kb, const torch::Tensor& vb,
                          const torch::Tensor& real_blocks, const torch::Tensor& rows,
                          const torch::Tensor& key_blocks) {
  const int64_t B = qb.size(0), H = qb.size(1), nb = kb.size(2), bs = kb.size(3), d = kb.size(4),
                S = rows.numel(), m = key_blocks.size(2);
  auto listed = key_blocks.ge(0);         // (H, S, m)
  auto blocks = key_blocks.clamp_min(0);  // (H, S, m)
  auto offsets = torch::arange(H, blocks.options()).mul_(nb).view({H, 1, 1});
  auto flat = (blocks + offsets).view({-1});   // (H S m) into H nb
  auto gather = [&](const torch::Tensor& t) {  // (B, H, nb, bs, d)
    return t.reshape({B, H * nb, bs, d}).index_select(1, flat).view({B, H, S, m * bs, d});
  };
  auto keys = gather(kb), values = gather(vb);             // (B, H, S, m bs, d)
  auto q = qb.index_select(2, rows);                       // (B, H, S, bs, d)
  auto scores = torch::matmul(q, keys.transpose(-2, -1));  // (B, H, S, bs, m bs)
  auto key_real = real_blocks
                      .index_select(1, blocks.view({-1}))  // (B, H S m, bs)
                      .view({B, H, S, m, bs})
                      .logical_and(listed.view({1, H, S, m, 1}))
                      .view({B, H, S, 1, m * bs});
  scores.add_(score_bias(key_real, scores.options()));
  return torch::matmul(torch::softmax(scores, -1), values);  // (B, H, S, bs, d)
}

}  // namespace block_sparse

torch::Tensor block_sparse_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& key_mask,
                                     const BlockSparseLayout& layout, std::optional<double> scale) {
  namespace bs = block_sparse;
  bs::check(q, key_mask, layout);
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3),
                size = layout.block_size, nb = (L + size - 1) / size, Lp = nb * size;
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(d)));
  auto device = q.device();
  auto real = torch::constant_pad_nd(key_mask.gt(0), {0, Lp - L}, 0);  // (B, Lp) bool
  auto qp = bs::pad_length(q * s, Lp), kp = bs::pad_length(k, Lp), vp = bs::pad_length(v, Lp);
  auto blocked = [&](const torch::Tensor& t) { return t.view({B, H, nb, size, d}); };
  std::vector<torch::Tensor> parts;  // (B, H, rows, bs, d) each, in the order of `order`
  std::vector<torch::Tensor> order;
  if (layout.sparse_rows.numel() > 0) {
    auto rows = layout.sparse_rows.to(device);
    auto key_blocks = layout.key_blocks.to(device);
    // Row chunks whose scores stay near 2^21 elements: tensors this size come from the heap
    // and are reused from call to call, where larger ones are fresh pages every call.
    const int64_t S = rows.numel(), per_row = B * H * size * size * key_blocks.size(2);
    const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 21) / std::max<int64_t>(per_row, 1));
    std::vector<torch::Tensor> chunks;
    for (int64_t start = 0; start < S; start += chunk) {
      const int64_t n = std::min(chunk, S - start);
      chunks.push_back(bs::sparse_rows(blocked(qp), blocked(kp), blocked(vp),
                                       real.view({B, nb, size}), rows.narrow(0, start, n),
                                       key_blocks.narrow(1, start, n)));
    }
    parts.push_back(chunks.size() == 1 ? chunks[0] : torch::cat(chunks, 2));
    order.push_back(rows);
  }
  if (layout.global_rows.numel() > 0) {
    auto rows = layout.global_rows.to(device);
    parts.push_back(bs::global_rows(blocked(qp), kp, vp, real, rows));
    order.push_back(rows);
  }
  // Back to block order: position of each block among the parts' rows.
  auto where = torch::argsort(torch::cat(order));                  // (nb)
  auto out = parts.size() == 1 ? parts[0] : torch::cat(parts, 2);  // (B, H, nb, bs, d)
  out = out.index_select(2, where);
  return out.reshape({B, H, Lp, d}).narrow(2, 0, L);
}

torch::Tensor block_sparse_multiplicity(const BlockSparseLayout& layout, int64_t heads,
                                        int64_t length) {
  const int64_t size = layout.block_size, nb = (length + size - 1) / size;
  auto blocks = torch::zeros({heads, nb, nb}, torch::kFloat64);  // (H, query block, key block)
  auto listed = layout.key_blocks.to(torch::kCPU).contiguous();
  auto rows = layout.sparse_rows.to(torch::kCPU).contiguous();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t s = 0; s < rows.numel(); ++s)
      for (int64_t j = 0; j < listed.size(2); ++j) {
        const int64_t key = listed[h][s][j].item<int64_t>();
        if (key >= 0) blocks[h][rows[s].item<int64_t>()][key] += 1.0;
      }
  auto global = layout.global_rows.to(torch::kCPU).contiguous();
  for (int64_t g = 0; g < global.numel(); ++g)
    blocks.select(1, global[g].item<int64_t>()).fill_(1.0);
  auto tokens = blocks.repeat_interleave(size, 1).repeat_interleave(size, 2);  // (H, Lp, Lp)
  return tokens.narrow(1, 0, length).narrow(2, 0, length);
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
  return torch::matmul(weights / weights.sum(-1, true), v);
}

}  // namespace lra
