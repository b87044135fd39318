// The feature maps of the random-feature backends in the slice-wise form the fast linear
// attention evaluates (src/attention/linear_attention.h). Each backend keeps its plain,
// whole-tensor `features()` beside these as the reference the tests compare against.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "attention/cpu/kernel_layouts.h"
#include "attention/linear_attention.h"

namespace lra {

// Softmax-kernel features (FAVOR+, FAVOR#) of scaled rows z = s x, applied to x:
// log phi(x) = z P^T + offset - |z|^2 / 2 (+ const).
// projection: (P, m, d) with P = 1 (shared) or BH (one per batch element and head); offset:
// (P, 1, m) or undefined; s: input_scale. Query rows are shifted by their own maximum (the -|x|^2/2
// term is a per-row constant there and is dropped with it); keys by one maximum per (batch, head)
// over real keys; padded keys get log phi = -inf, i.e. phi = 0 and no gradient.
c10::intrusive_ptr<ChunkedFeatureMap> make_exp_feature_map(const torch::Tensor& projection,
                                                           const torch::Tensor& offset,
                                                           double input_scale);

// Trigonometric features of the softmax kernel (TrigRF) of scaled rows z = s x, applied to x:
// phi(x) = exp(|z|^2 / 2) [cos(z W^T), sin(z W^T)], 2m features (the m^-1/2 cancels).
// projection: (1, m, d). Queries drop exp(|z|^2 / 2), a per-row constant; keys are shifted by
// the largest |z|^2 / 2 of the real keys per (batch, head); padded keys are exactly zero.
// The features are not positive: the attention denominator can approach 0 (it is clamped at
// attention.eps), which is the method's known weakness.
c10::intrusive_ptr<ChunkedFeatureMap> make_trigonometric_feature_map(
    const torch::Tensor& projection, double input_scale);

// Random Maclaurin features (SchoenbAt): MaclaurinLayout (cpu/kernel_layouts.h).

// degrees: (m-1) int64 sorted ascending; rademacher: (F, d) with the factors of each feature in
// consecutive rows, features in the order of `degrees`; scales: (m-1) for that order.
MaclaurinLayout make_maclaurin_layout(const torch::Tensor& degrees, const torch::Tensor& rademacher,
                                      const torch::Tensor& scales, double constant);

// cpu_row_loops (ExecutionOptions): on the CPU the products run as row loops
// (maclaurin_products.h); false takes the tensor-op form other devices use, so that tests can
// compare the two here.
c10::intrusive_ptr<ChunkedFeatureMap> make_maclaurin_feature_map(const MaclaurinLayout& layout,
                                                                 const torch::TensorOptions& opts,
                                                                 bool cpu_row_loops);

}  // namespace lra
