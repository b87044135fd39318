// shared_qk: exact shared query-key softmax attention, the attention the Reformer's LSH scheme
// estimates (Kitaev et al. 2020, Sec. 2): keys are the queries normalised to unit length,
//   w_ij = softmax_j(q_i . q_j / |q_j|), with j = i scored -1e5 (a token attends itself only when
//   no other key is real) and padded keys -1e9 (HuggingFace's values),
// out = dropout(w) v. attention.k is not read. O(L^2 d) per head; reformer's reference.
#include <torch/torch.h>

#include "attention/lsh_attention.h"
#include "attention/registry.h"

namespace lra::backends::shared_qk {
namespace {

class SharedQkAttention : public AttentionBackend {
 public:
  explicit SharedQkAttention(const AttentionContext& context) : dropout_(context.dropout) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor&, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    return shared_qk_attention(q, v, key_mask, dropout_, is_training());
  }

 private:
  double dropout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig&, const AttentionContext& context) {
  return std::make_shared<SharedQkAttention>(context);
}

FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  return quadratic_attention_flops(shape);
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor&, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return shared_qk_attention(q, v, key_mask);
}

}  // namespace lra::backends::shared_qk
