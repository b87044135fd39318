// Dropout whose mask is a function of one seed per call and the element index
// (attention/cpu/counter_dropout.h): the backward regenerates it instead of storing a mask, and on
// the CPU the mask is drawn in parallel and vectorised, where torch::dropout draws its
// Bernoulli mask element by element on one thread. Same distribution as torch::dropout: each
// element kept with probability 1 - p and scaled by 1 / (1 - p).
#pragma once
#include <torch/types.h>

namespace lra {

// x any shape; identity when !training or p == 0; torch::dropout off the CPU or outside
// float32 / float64. The seed is one draw from LibTorch's default CPU generator.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

}  // namespace lra
