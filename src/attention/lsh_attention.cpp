#include "attention/lsh_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/cpu/block_sparse_kernel.h"
#include "attention/cpu/lsh_bias.h"

namespace lra {
namespace {

// (B, H, C, c, ...) -> (B, H, C, w c, ...): each chunk followed by the chunks its queries also
// see, wrapping around the sorted sequence of all rounds (HuggingFace's _look_adjacent).
torch::Tensor look_adjacent(const torch::Tensor& chunks, const LshChunking& ch) {
  if (ch.chunks_before == 0 && ch.chunks_after == 0) return chunks;
  std::vector<torch::Tensor> parts;
  for (int64_t o = -ch.chunks_before; o <= ch.chunks_after; ++o)
    parts.push_back(o == 0 ? chunks : chunks.roll(-o, 2));
  return torch::cat(parts, 3);
}

// Where each round puts each position, without gradient.
struct SortedSlots {
  torch::Tensor position;  // (B, H, n L): the position in each sorted slot, rounds in order
  torch::Tensor slot;      // (B, H, n, L): the sorted slot of each (round, position)
  torch::Tensor bucket;    // (B, H, n L): bucket of each slot, distinct across rounds
};

SortedSlots sort_by_bucket(const torch::Tensor& buckets) {
  torch::NoGradGuard no_grad;
  const int64_t B = buckets.size(0), H = buckets.size(1), n = buckets.size(2), L = buckets.size(3);
  auto opts = buckets.options().dtype(torch::kInt64);
  auto positions = torch::arange(L, opts);                  // (L)
  auto rounds = torch::arange(n, opts).view({1, 1, n, 1});  // (1, 1, n, 1)
  auto [key, order] = (buckets * L + positions).sort(-1);   // (B, H, n, L) each
  auto slot =
      torch::empty_like(order).scatter_(-1, order, (positions + rounds * L).expand_as(order));
  auto bucket = key.div(L, "floor") * n + rounds;  // (B, H, n, L)
  return {order.reshape({B, H, n * L}), slot, bucket.reshape({B, H, n * L})};
}

// (B, H, L, ...) rows gathered into slot order: (B, H, n L, ...).
torch::Tensor gather_slots(const torch::Tensor& rows, const torch::Tensor& position) {
  auto shape = rows.sizes().vec();
  shape[2] = position.size(2);
  auto index = position;
  for (int64_t i = 3; i < rows.dim(); ++i) index = index.unsqueeze(-1);
  return rows.gather(2, index.expand(shape));
}

// Paper convention: how many (round, window) slots of the query's own bucket hold key j, for
// every (query slot, key slot) pair, added into `counts` (B, H, C, c, w c).
void add_window_counts(torch::Tensor& counts, const SortedSlots& s, const torch::Tensor& buckets,
                       const LshChunking& ch, int64_t chunks) {
  const int64_t B = buckets.size(0), H = buckets.size(1), n = buckets.size(2);
  const int64_t c = ch.chunk_length;
  auto chunk_of = s.slot.div(c, "floor").permute({0, 1, 3, 2});  // (B, H, L, n)
  auto bucket_of = buckets.permute({0, 1, 3, 2});                // (B, H, L, n)
  auto q_chunk = gather_slots(chunk_of, s.position).view({B, H, chunks, c, n});
  auto q_bucket = gather_slots(bucket_of, s.position).view({B, H, chunks, c, n});
  auto k_chunk = look_adjacent(q_chunk, ch), k_bucket = look_adjacent(q_bucket, ch);
  for (int64_t r = 0; r < n; ++r) {
    auto qc = q_chunk.select(-1, r).unsqueeze(-1), kc = k_chunk.select(-1, r).unsqueeze(-2);
    auto same = q_bucket.select(-1, r).unsqueeze(-1) == k_bucket.select(-1, r).unsqueeze(-2);
    for (int64_t o = -ch.chunks_before; o <= ch.chunks_after; ++o)
      counts.add_(same.logical_and(torch::remainder(qc + o, chunks) == kc));
  }
}

// What is added to each score (B H C, c, w c), no gradient: -1e9 on padded keys (and, paper,
// keys of other buckets), -1e5 on the token's own key, minus log N_ij (paper). Added rather than
// substituted: exp of either is exactly 0 next to any real score, and a row left with only its
// own key is the same whatever is added to it.
torch::Tensor attention_bias_ops(const SortedSlots& s, const torch::Tensor& buckets,
                                 const torch::Tensor& key_mask, const LshChunking& ch,
                                 int64_t chunks, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const int64_t B = buckets.size(0), H = buckets.size(1), L = buckets.size(3);
  const int64_t c = ch.chunk_length;
  auto q_pos = s.position.view({B, H, chunks, c});
  auto k_pos = look_adjacent(q_pos, ch);  // (B, H, C, w c)
  auto real = (key_mask != 0).unsqueeze(1).expand({B, H, L});
  auto k_real = look_adjacent(real.gather(2, s.position).view({B, H, chunks, c}), ch);
  auto allowed = k_real.unsqueeze(-2);  // (B, H, C, 1, w c)
  if (ch.paper) {
    auto q_bucket = s.bucket.view({B, H, chunks, c});
    allowed =
        allowed.logical_and(q_bucket.unsqueeze(-1) == look_adjacent(q_bucket, ch).unsqueeze(-2));
  }
  auto bias = torch::zeros({B, H, chunks, c, k_pos.size(-1)},
                           key_mask.options().dtype(dtype));  // (B, H, C, c, w c)
  if (ch.paper) {
    add_window_counts(bias, s, buckets, ch, chunks);
    bias.clamp_min_(1).log_().neg_();
  }
  bias.masked_fill_(allowed.logical_not(), kLshMaskedScore);
  bias.masked_fill_(q_pos.unsqueeze(-1) == k_pos.unsqueeze(-2), kLshSelfScore);
  return bias.view({B * H * chunks, c, k_pos.size(-1)});
}

// The same in one pass of the CPU kernel (cpu/lsh_bias.h).
torch::Tensor attention_bias_cpu(const SortedSlots& s, const torch::Tensor& buckets,
                                 const torch::Tensor& key_mask, const LshChunking& ch,
                                 int64_t chunks, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const int64_t B = buckets.size(0), H = buckets.size(1), L = buckets.size(3);
  const int64_t n = buckets.size(2), c = ch.chunk_length;
  const int64_t window = (1 + ch.chunks_before + ch.chunks_after) * c;
  auto position = s.position.contiguous(), bucket = s.bucket.contiguous();
  auto real = (key_mask != 0).contiguous();
  torch::Tensor chunk_of, bucket_of;
  cpu::LshBiasLayout layout{B, H, L, n, c, ch.chunks_before, ch.chunks_after, ch.paper};
  layout.slot_position = position.data_ptr<int64_t>();
  layout.slot_bucket = bucket.data_ptr<int64_t>();
  layout.real = real.data_ptr<bool>();
  if (ch.paper) {
    chunk_of = s.slot.div(c, "floor").permute({0, 1, 3, 2}).contiguous();  // (B, H, L, n)
    bucket_of = buckets.permute({0, 1, 3, 2}).contiguous();                // (B, H, L, n)
    layout.chunk_of = chunk_of.data_ptr<int64_t>();
    layout.bucket_of = bucket_of.data_ptr<int64_t>();
  }
  auto bias = torch::empty({B * H * chunks, c, window}, key_mask.options().dtype(dtype));
  if (dtype == torch::kFloat64)
    cpu::lsh_bias(layout, bias.data_ptr<double>());
  else
    cpu::lsh_bias(layout, bias.data_ptr<float>());
  return bias;
}

torch::Tensor attention_bias(const SortedSlots& s, const torch::Tensor& buckets,
                             const torch::Tensor& key_mask, const LshChunking& ch, int64_t chunks,
                             torch::ScalarType dtype, bool cpu_kernel) {
  const bool cpu =
      key_mask.device().is_cpu() && (dtype == torch::kFloat32 || dtype == torch::kFloat64);
  return cpu && cpu_kernel ? attention_bias_cpu(s, buckets, key_mask, ch, chunks, dtype)
                           : attention_bias_ops(s, buckets, key_mask, ch, chunks, dtype);
}

// (B, H, L, e) rows into slot order (B, H, m, e), m = position.size(2), through a flat
// index_select (its backward is an index_add, cheaper than gather's scatter).
torch::Tensor rows_at(const torch::Tensor& rows, const torch::Tensor& position) {
  const int64_t B = rows.size(0), H = rows.size(1), L = rows.size(2), e = rows.size(3);
  auto offset = torch::arange(B * H, position.options()).view({B, H, 1}) * L;
  auto index = (position + offset).flatten();
  return rows.reshape({B * H * L, e}).index_select(0, index).view({B, H, position.size(2), e});
}

void check_lsh_shapes(const torch::Tensor& q, const torch::Tensor& buckets, const LshChunking& ch) {
  if (q.size(2) % ch.chunk_length != 0)
    throw std::invalid_argument("lsh_attention: length " + std::to_string(q.size(2)) +
                                " is not a multiple of the chunk length " +
                                std::to_string(ch.chunk_length));
  if (buckets.dim() != 4 || buckets.size(3) != q.size(2))
    throw std::invalid_argument("lsh_attention: buckets must be (B, H, hashes, L)");
}

}  // namespace

torch::Tensor shared_qk_keys(const torch::Tensor& q) {
  const double d = static_cast<double>(q.size(-1));
  return q * torch::rsqrt(q.pow(2).mean(-1, true) + 1e-6) / std::sqrt(d);
}

torch::Tensor shared_qk_attention(const torch::Tensor& q, const torch::Tensor& v,
                                  const torch::Tensor& key_mask, double dropout, bool training) {
  const int64_t L = q.size(2);
  auto scores = torch::matmul(q, shared_qk_keys(q).transpose(-2, -1));  // (B, H, L, L)
  auto self = torch::eye(L, q.options().dtype(torch::kBool));
  scores = scores.masked_fill(padded_key_columns(key_mask), kLshMaskedScore)
               .masked_fill(self, kLshSelfScore);
  auto weights = torch::softmax(scores, -1);
  if (dropout > 0.0 && training) weights = torch::dropout(weights, dropout, true);
  return torch::matmul(weights, v);  // (B, H, L, d)
}

namespace {

// Batched matmuls over the sorted, chunked rows (any device).
torch::Tensor lsh_attention_ops(const torch::Tensor& q, const torch::Tensor& v,
                                const torch::Tensor& key_mask, const torch::Tensor& buckets,
                                const LshChunking& ch, const SortedSlots& s) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3);
  const int64_t n = buckets.size(2), c = ch.chunk_length, chunks = n * L / c;
  const int64_t batches = B * H * chunks;  // one (c x w c) product per chunk
  auto bias = attention_bias(s, buckets, key_mask, ch, chunks, q.scalar_type(), true);
  auto to_chunks = [&](const torch::Tensor& rows) {  // (B, H, L, e) -> (B, H, C, c, e)
    return rows_at(rows, s.position).view({B, H, chunks, c, rows.size(3)});
  };
  auto keys = look_adjacent(to_chunks(shared_qk_keys(q)), ch);  // (B, H, C, w c, d)
  // The values with a column of ones: one product gives numerator and denominator.
  auto values = look_adjacent(to_chunks(torch::constant_pad_nd(v, {0, 1}, 1.0)), ch);
  const int64_t window = keys.size(3);
  auto scores = torch::baddbmm(bias, to_chunks(q).view({batches, c, d}),
                               keys.view({batches, window, d}).transpose(1, 2));
  // Unnormalised weights exp(s - m), m the row maximum taken as a constant: the result does not
  // depend on m, so its gradient is exact, and only this one (c x w c) tensor is kept.
  auto row_max = std::get<0>(scores.detach().max(-1, true));  // (B H C, c, 1)
  auto sums = torch::bmm(scores.sub_(row_max).exp_(), values.view({batches, window, d + 1}));
  // Back to positions: (B, H, n, L, d + 1) and each slot's m, then the rounds summed on a
  // common scale (HuggingFace's weights softmax over rounds of each round's logsumexp).
  auto slot = s.slot.view({B, H, n * L});
  auto unsorted = rows_at(sums.view({B, H, n * L, d + 1}), slot).view({B, H, n, L, d + 1});
  auto slot_max = row_max.view({B, H, n * L}).gather(2, slot).view({B, H, n, L, 1});
  auto scale = (slot_max - std::get<0>(slot_max.max(2, true))).exp_();  // (B, H, n, L, 1)
  auto total = (unsorted * scale).sum(2);                               // (B, H, L, d + 1)
  return total.narrow(-1, 0, d) / total.narrow(-1, d, 1);               // (B, H, L, d)
}

// The sorted sequence of all rounds (n L slots) as a block-sparse layout: chunk i (a query block of
// c slots) lists chunks i - before ... i + after, wrapping around, in look_adjacent's order, so
// that the columns of the bias are its key slots.
BlockSparseLayout chunk_layout(const LshChunking& ch, int64_t heads, int64_t chunks) {
  auto chunk = torch::arange(chunks, torch::kInt64).view({chunks, 1});                 // (C, 1)
  auto offset = torch::arange(-ch.chunks_before, ch.chunks_after + 1, torch::kInt64);  // (w)
  BlockSparseLayout layout;
  layout.block_size = ch.chunk_length;
  layout.key_blocks = torch::remainder(chunk + offset, chunks).expand({heads, chunks, -1});
  layout.sparse_rows = torch::arange(chunks, torch::kInt64);
  layout.global_rows = torch::empty({0}, torch::kInt64);
  return layout;
}

// On the CPU: the sorted rows through the fused block-sparse kernel, which returns each slot's
// log-normaliser beside its output, so that no (c x w c) score tensor per chunk is kept.
torch::Tensor lsh_attention_cpu(const torch::Tensor& q, const torch::Tensor& v,
                                const torch::Tensor& key_mask, const torch::Tensor& buckets,
                                const LshChunking& ch, const SortedSlots& s) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3);
  const int64_t n = buckets.size(2), c = ch.chunk_length, chunks = n * L / c;
  const int64_t window = (1 + ch.chunks_before + ch.chunks_after) * c;
  auto bias = attention_bias(s, buckets, key_mask, ch, chunks, q.scalar_type(), true)
                  .view({B, H, chunks, c, window});  // padding, self and buckets in it
  auto sorted = [&](const torch::Tensor& rows) { return rows_at(rows, s.position); };
  auto every_slot = torch::ones({B, n * L}, key_mask.options());
  auto [out, lse] = block_sparse_kernel_with_lse(sorted(q), sorted(shared_qk_keys(q)), sorted(v),
                                                 every_slot, chunk_layout(ch, H, chunks), 1.0,
                                                 bias);  // (B, H, n L, d), (B, H, n L)
  // Back to positions, the rounds weighted by softmax over their log-normalisers.
  auto slot = s.slot.view({B, H, n * L});
  auto per_round = rows_at(out, slot).view({B, H, n, L, d});
  auto weight = torch::softmax(lse.gather(2, slot).view({B, H, n, L, 1}), 2);
  return (per_round * weight).sum(2);  // (B, H, L, d)
}

}  // namespace

torch::Tensor lsh_attention(const torch::Tensor& q, const torch::Tensor& v,
                            const torch::Tensor& key_mask, const torch::Tensor& buckets,
                            const LshChunking& ch) {
  check_lsh_shapes(q, buckets, ch);
  const auto s = sort_by_bucket(buckets);
  if (block_sparse_kernel_supported(q)) return lsh_attention_cpu(q, v, key_mask, buckets, ch, s);
  return lsh_attention_ops(q, v, key_mask, buckets, ch, s);
}

torch::Tensor lsh_attention_ops(const torch::Tensor& q, const torch::Tensor& v,
                                const torch::Tensor& key_mask, const torch::Tensor& buckets,
                                const LshChunking& ch) {
  check_lsh_shapes(q, buckets, ch);
  return lsh_attention_ops(q, v, key_mask, buckets, ch, sort_by_bucket(buckets));
}

torch::Tensor lsh_attention_bias(const torch::Tensor& buckets, const torch::Tensor& key_mask,
                                 const LshChunking& ch, torch::ScalarType dtype, bool cpu_kernel) {
  const int64_t chunks = buckets.size(2) * buckets.size(3) / ch.chunk_length;
  return attention_bias(sort_by_bucket(buckets), buckets, key_mask, ch, chunks, dtype, cpu_kernel);
}

torch::Tensor lsh_attention_reference(const torch::Tensor& q, const torch::Tensor& v,
                                      const torch::Tensor& key_mask, const torch::Tensor& buckets,
                                      const LshChunking& ch) {
  check_lsh_shapes(q, buckets, ch);
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), n = buckets.size(2);
  const int64_t c = ch.chunk_length, chunks = n * L / c;
  auto bucket = buckets.to(torch::kCPU).contiguous();
  auto b_at = bucket.accessor<int64_t, 4>();
  auto counts = torch::zeros({B, H, L, L}, torch::kFloat64);
  auto n_at = counts.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      // chunk[r][i]: the chunk of position i's sorted slot in round r.
      std::vector<std::vector<int64_t>> chunk(n, std::vector<int64_t>(L));
      for (int64_t r = 0; r < n; ++r) {
        std::vector<std::pair<int64_t, int64_t>> order;
        for (int64_t i = 0; i < L; ++i) order.emplace_back(b_at[b][h][r][i], i);
        std::sort(order.begin(), order.end());
        for (int64_t s = 0; s < L; ++s) chunk[r][order[s].second] = (r * L + s) / c;
      }
      for (int64_t r = 0; r < n; ++r)
        for (int64_t i = 0; i < L; ++i)
          for (int64_t r2 = 0; r2 < n; ++r2)
            for (int64_t j = 0; j < L; ++j) {
              if (ch.paper && (r2 != r || b_at[b][h][r][i] != b_at[b][h][r][j])) continue;
              for (int64_t o = -ch.chunks_before; o <= ch.chunks_after; ++o)
                if (((chunk[r][i] + o) % chunks + chunks) % chunks == chunk[r2][j])
                  n_at[b][h][i][j] += 1;
            }
    }
  counts = counts.to(q.device()).to(q.scalar_type());
  auto scores = torch::matmul(q, shared_qk_keys(q).transpose(-2, -1));  // (B, H, L, L)
  auto self = torch::eye(L, q.options().dtype(torch::kBool));
  scores = scores.masked_fill(padded_key_columns(key_mask), kLshMaskedScore)
               .masked_fill(self, kLshSelfScore);
  auto unseen = counts == 0;
  auto logits = ch.paper ? scores : scores + counts.clamp_min(1).log();
  logits = logits.masked_fill(unseen, -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(logits, -1), v);  // (B, H, L, d)
}

}  // namespace lra
