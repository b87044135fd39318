#include "attention/flop_count.h"

namespace lra {
namespace {

double as_double(int64_t x) {
  return static_cast<double>(x);
}

}  // namespace

FlopCount quadratic_attention_flops(const AttentionShape& s) {
  const double bh = as_double(s.batch * s.heads), L = as_double(s.length),
               d = as_double(s.head_dim);
  const double forward = 2.0 * bh * L * L * d + 2.0 * bh * L * L * d;
  return {forward, 2.0 * forward};
}

FlopCount linear_attention_flops(const AttentionShape& s, int64_t projection_width) {
  const double rows = as_double(s.batch * s.heads * s.length), m = as_double(s.features);
  const double contraction = 2.0 * 2.0 * rows * m * as_double(s.head_dim + 1);
  const double projection = 2.0 * 2.0 * rows * as_double(s.head_dim) * as_double(projection_width);
  return {projection + contraction, projection + 2.0 * contraction};
}

}  // namespace lra
