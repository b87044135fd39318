// The linear-time contraction shared by every random-feature backend:
// out_i = phi(q_i)^T (sum_j phi(k_j) v_j^T) / max(phi(q_i)^T sum_j phi(k_j), eps).
//
// Two implementations of the same formula:
// - linear_attention (the reference): feature tensors in, plain autograd ops; stores the
//   (B, H, L, m) features for the backward.
// - chunked_linear_attention (the fast path): a ChunkedFeatureMap in, one custom autograd node;
//   features are computed for slices of rows that fit in cache, contracted at once (keys times
//   values first) and recomputed in the backward, so no (B, H, L, m) tensor is ever stored and no
//   elementwise pass leaves the cache. Tests compare the two in float64, values and gradients.
#pragma once
#include <cstdint>

#include <ATen/core/ivalue.h>
#include <torch/types.h>

namespace lra {

struct ExpProjection;    // cpu/kernel_layouts.h
struct MaclaurinLayout;  // cpu/kernel_layouts.h

// phi_q, phi_k: (B, H, L, m); v: (B, H, L, D); key_mask: (B, L), 1 = real key. Padded keys'
// features are zeroed here, so they leave numerator and denominator. Keys-times-values first:
// O(L m D). Returns (B, H, L, D).
torch::Tensor linear_attention(const torch::Tensor& phi_q, const torch::Tensor& phi_k,
                               const torch::Tensor& v, const torch::Tensor& key_mask, double eps);

// The prefix-sum form (query i sees keys j <= i), as SchoenbAt's official rmfa. Materialises a
// (B, H, L, m, D) running sum, so it is for comparison runs, not long sequences.
torch::Tensor causal_linear_attention(const torch::Tensor& phi_q, const torch::Tensor& phi_k,
                                      const torch::Tensor& v, const torch::Tensor& key_mask,
                                      double eps);

// A feature map evaluated on slices of rows, with its vector-Jacobian product. Rows come as
// (BH, c, d) (batch and heads flattened); features are (BH, c, m).
class ChunkedFeatureMap : public torch::CustomClassHolder {
 public:
  struct Chunk {
    torch::Tensor phi;    // (BH, c, m)
    torch::Tensor saved;  // whatever vjp needs besides x and phi (may be undefined)
  };
  // m, the number of features.
  virtual int64_t num_features() const = 0;
  // Whether features() uses shifts (see below).
  virtual bool shifted() const = 0;
  // The same map for rows [begin, end) of the flattened (batch x head) axis (maps with
  // per-(batch, head) parameters narrow them; shared ones return a copy of themselves).
  virtual c10::intrusive_ptr<ChunkedFeatureMap> slice(int64_t begin, int64_t end) const = 0;
  // The parameters of the softmax-kernel (exp) maps and of the Maclaurin map, which the fused
  // CPU kernel (cpu/fused_linear_attention.h) runs without calling features() or vjp(); null for
  // other maps.
  virtual const ExpProjection* exp_projection() const { return nullptr; }
  virtual const MaclaurinLayout* maclaurin_layout() const { return nullptr; }
  // The widest per-row intermediate (features, or the projections they are made of): sets the
  // slice size.
  virtual int64_t width() const = 0;
  // Query rows (key = false): each row may be scaled by a positive constant exp(-shift_i)
  // (cancels between numerator and denominator); `shift` (BH, c, 1) is computed when undefined
  // and reused when given (the backward recomputes with the forward's shifts).
  // Key rows (key = true): pad (BH, c, 1) bool, true = padded key; padded keys' features must be
  // finite (the contraction drops them through zero rows of [v, 1]) and must not enter the
  // shift; one shift per (batch, head), `shift` (BH, 1, 1), computed for this slice when
  // undefined. Maps without a shift leave it undefined.
  virtual Chunk features(const torch::Tensor& x, bool key, const torch::Tensor& pad,
                         torch::Tensor& shift) const = 0;
  // d loss / d x for rows x, given d loss / d phi (BH, c, m) of the features `chunk` returned;
  // may overwrite dphi (the caller's scratch: one (BH, c, m) tensor fewer per slice).
  virtual torch::Tensor vjp(const torch::Tensor& x, bool key, const Chunk& chunk,
                            const torch::Tensor& dphi) const = 0;
};

// x, y: (B, H, L, d) the feature map's inputs for queries and keys (gradients flow to them);
// v: (B, H, L, D); key_mask: (B, L). Same result as
// linear_attention(features(x), features(y), v, key_mask, eps), in O(L (d + D) + m D) memory.
// chunk_rows: rows per slice (ExecutionOptions::chunk_rows); 0 picks ~2^19 elements of the
// widest per-slice intermediate on the CPU (it stays in the L2 cache) and the whole sequence on
// CUDA (the fused kernel's blocks: 2^15 elements of features). cpu_kernels: maps with an
// exp_projection() or maclaurin_layout() run the fused CPU kernel on the CPU; false keeps the
// slice-wise tensor path (its reference in the tests).
torch::Tensor chunked_linear_attention(const torch::Tensor& x, const torch::Tensor& y,
                                       const torch::Tensor& v, const torch::Tensor& key_mask,
                                       const c10::intrusive_ptr<ChunkedFeatureMap>& map, double eps,
                                       int64_t chunk_rows = 0, bool cpu_kernels = true);

}  // namespace lra
