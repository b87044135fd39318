// nystromformer (Xiong et al. 2021, "Nyströmformer: A Nyström-Based Algorithm for Approximating
// Self-Attention"): with q, k scaled by d^-1/4 each and m landmarks q~, k~ (segment means),
//   out = softmax(q k~^T) pinv(softmax(q~ k~^T)) softmax(q~ k^T) v   (+ a depthwise conv of v),
// O(L m d + m^3) per head. It approximates exact softmax attention (its reference). With
// m >= L every real token is a landmark and the result is computed as exact softmax attention.
//
// Differences from the Skyformer/Nyströmformer peer code (docs/attention.md):
// - Landmarks average each sequence's real tokens only (segment j of n real tokens covers ranks
//   [floor(j n / m), floor((j + 1) n / m)), at least one token). The peer reshapes the padded
//   length into m equal segments, which needs L divisible by m and averages zeroed pads into the
//   landmarks, so its output depends on the padding.
// - pinv starts from A^T / (|A|_1 |A|_inf) of each matrix, as in the paper; the peer divides by
//   one maximum column sum over the whole batch, which couples the batch elements.
// - No attention dropout, as in the peer (the weights are never formed as an L x L matrix).
// attention.convention: skyformer_code computes the peer's landmarks and pinv start instead.
#include <cmath>
#include <limits>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/nystrom.h"
#include "attention/registry.h"

namespace lra::backends::nystromformer {
namespace {

// The Skyformer code's landmarks: the padded length cut into `segments` equal segments, each the
// mean of its positions with pads counted as zeros. (B, segments, L) in key_mask's dtype.
torch::Tensor padded_segment_means(const torch::Tensor& key_mask, int64_t segments) {
  const int64_t L = key_mask.size(1);
  if (L % segments != 0)
    throw std::invalid_argument(
        "nystromformer with attention.convention: skyformer_code needs the padded length (" +
        std::to_string(L) + ") to be a multiple of attention.num_landmarks (" +
        std::to_string(segments) + "), as the Skyformer code reshapes it into equal segments");
  auto segment = torch::div(torch::arange(L, key_mask.options().dtype(torch::kInt64)), L / segments,
                            "floor");  // (L): the segment of each position
  auto j = torch::arange(segments, segment.options()).unsqueeze(-1);     // (m, 1)
  auto member = (segment.unsqueeze(0) == j).to(key_mask.scalar_type());  // (m, L)
  return member.unsqueeze(0) * key_mask.unsqueeze(1) / static_cast<double>(L / segments);
}

class NystromformerAttention : public AttentionBackend {
 public:
  NystromformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : landmarks_(config.num_landmarks),
        iterations_(config.pinv_iterations),
        conv_kernel_(config.conv_kernel),
        skyformer_code_(config.convention == "skyformer_code") {
    if (conv_kernel_ > 0) {
      // PyTorch's Conv2d default (kaiming_uniform, a = sqrt 5): U(-1/sqrt(fan_in), ..), with
      // fan_in = kernel for a depthwise filter; drawn from the layer seed for reproducibility.
      auto gen = landmark_generator(context.seed, 0);
      const double bound = 1.0 / std::sqrt(static_cast<double>(conv_kernel_));
      auto w = (torch::rand({context.heads, 1, conv_kernel_, 1}, gen, torch::kFloat64) * 2 - 1) *
               bound;  // (H, 1, kernel, 1): one filter per head, along the sequence
      conv_weight_ = register_parameter("conv_weight", w.to(torch::kFloat32));
    }
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    torch::Tensor out;
    if (landmarks_ >= q.size(2)) {
      // Every real token is a landmark (some repeated): with the exact pinv the product is then
      // exactly softmax attention (A pinv(A) A = A, repeats included), which is also cheaper
      // than the m x m inverse. The peer takes the same branch at num_landmarks = seq_len.
      out = softmax_attention_fused(q, k, v, key_mask, 0.0, false);
    } else {
      out = nystrom_attention(q, k, v, key_mask);
    }
    if (conv_kernel_ > 0) {
      // Zero-padded convolution of the masked values: a sequence sees the same zeros beyond its
      // real tokens whatever the padding.
      auto masked_v = v.masked_fill(padded_key_rows(key_mask), 0.0);  // (B, H, L, d)
      out = out + torch::conv2d(masked_v, conv_weight_.to(v.scalar_type()), {}, 1,
                                {conv_kernel_ / 2, 0}, 1, /*groups=*/v.size(1));
    }
    return out;  // (B, H, L, d)
  }

  int64_t landmarks() const { return landmarks_; }
  int64_t iterations() const { return iterations_; }
  int64_t conv_kernel() const { return conv_kernel_; }

 private:
  torch::Tensor nystrom_attention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_mask) {
    const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
    // No masking of q and k is needed: the averaging matrix gives pads no weight, and padded keys
    // are masked where they enter (kernel_3).
    auto qs = q * scale, ks = k * scale;  // (B, H, L, d)
    auto mask = key_mask.to(q.scalar_type());
    auto means = (skyformer_code_ ? padded_segment_means(mask, landmarks_)
                                  : segment_means_matrix(mask, landmarks_))
                     .unsqueeze(1);               // (B, 1, m, L)
    auto q_landmarks = torch::matmul(means, qs);  // (B, H, m, d)
    auto k_landmarks = torch::matmul(means, ks);  // (B, H, m, d)
    auto kernel_1 =
        torch::softmax(torch::matmul(qs, k_landmarks.transpose(-2, -1)), -1);  // (B, H, L, m)
    auto kernel_2 = torch::softmax(torch::matmul(q_landmarks, k_landmarks.transpose(-2, -1)),
                                   -1);  // (B, H, m, m)
    auto scores_3 =
        torch::matmul(q_landmarks, ks.transpose(-2, -1))  // (B, H, m, L)
            .masked_fill(padded_key_columns(key_mask), -std::numeric_limits<float>::infinity());
    auto kernel_3 = torch::softmax(scores_3, -1);
    // Right to left: every product is O(L m d) or O(m^2 d), never L x m x m.
    return torch::matmul(kernel_1,
                         torch::matmul(iterative_pinv(kernel_2, iterations_, skyformer_code_),
                                       torch::matmul(kernel_3, v)));
  }

  int64_t landmarks_, iterations_, conv_kernel_;
  bool skyformer_code_;
  torch::Tensor conv_weight_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<NystromformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const NystromformerAttention&>(instance);
  // The depthwise filter is a parameter: the input gradient is one product backwards.
  const double conv = 2.0 * static_cast<double>(s.batch * s.heads * s.length * s.head_dim) *
                      static_cast<double>(self.conv_kernel());
  if (self.landmarks() >= s.length) {  // the exact softmax branch
    const FlopCount exact = quadratic_attention_flops(s);
    return {exact.forward + conv, exact.backward + conv};
  }
  const double bh = static_cast<double>(s.batch * s.heads), L = static_cast<double>(s.length),
               d = static_cast<double>(s.head_dim), m = static_cast<double>(self.landmarks());
  // Landmark averages (the averaging matrix takes no gradient: one product backwards).
  const double landmarks = 2 * (2 * bh * m * L * d);
  // q k~^T, q~ k^T, kernel_3 v, kernel_1 (Z (kernel_3 v)): L m d each; q~ k~^T and Z (.): m^2 d.
  const double products = 4 * (2 * bh * L * m * d) + 2 * (2 * bh * m * m * d);
  // Four m x m x m products per pseudo-inverse iteration, one for Z0's norms is not counted.
  const double pinv = static_cast<double>(self.iterations()) * 4 * (2 * bh * m * m * m);
  return {landmarks + products + pinv + conv, landmarks + 2 * (products + pinv) + conv};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::nystromformer
