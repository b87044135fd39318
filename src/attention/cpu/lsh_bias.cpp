#include "attention/cpu/lsh_bias.h"

#include <cmath>

#include <ATen/Parallel.h>

namespace lra::cpu {
namespace {

constexpr double kSelf = -1e5, kMasked = -1e9;  // lsh_attention.h's kLshSelfScore, kLshMaskedScore

int64_t wrap(int64_t x, int64_t m) {
  return ((x % m) + m) % m;
}

// Paper convention: windows of the query's bucket holding key j over every round. When a window
// is no wider than the sequence of chunks, at most one offset o matches in a round: found from
// the chunk difference without a modulo per offset.
int64_t window_count(const LshBiasLayout& a, int64_t bh, int64_t i, int64_t j, int64_t chunks) {
  const int64_t n = a.hashes;
  const int64_t* ci = a.chunk_of + (bh * a.length + i) * n;
  const int64_t* cj = a.chunk_of + (bh * a.length + j) * n;
  const int64_t* bi = a.bucket_of + (bh * a.length + i) * n;
  const int64_t* bj = a.bucket_of + (bh * a.length + j) * n;
  const bool narrow = 1 + a.before + a.after <= chunks;
  int64_t count = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (bi[r] != bj[r]) continue;
    if (narrow) {
      int64_t delta = cj[r] - ci[r];  // in (-chunks, chunks)
      if (delta > a.after) delta -= chunks;
      if (delta < -a.before) delta += chunks;
      count += delta >= -a.before && delta <= a.after;
      continue;
    }
    for (int64_t o = -a.before; o <= a.after; ++o) count += wrap(ci[r] + o, chunks) == cj[r];
  }
  return count;
}

// The bias of one query slot sq (position i) against the c slots of key chunk `kc` from `sk0`.
template <typename T>
void fill_row_chunk(const LshBiasLayout& a, int64_t bh, int64_t chunks, int64_t sq, int64_t sk0,
                    const int64_t* position, const int64_t* bucket, const bool* real, T* out) {
  const int64_t i = position[sq];
  for (int64_t kk = 0; kk < a.chunk; ++kk) {
    const int64_t sk = sk0 + kk, j = position[sk];
    double value = 0.0;
    if (j == i) {
      value = kSelf;
    } else if (!real[j] || (a.paper && bucket[sk] != bucket[sq])) {
      value = kMasked;
    } else if (a.paper) {
      const int64_t count = window_count(a, bh, i, j, chunks);
      value = count > 1 ? -std::log(static_cast<double>(count)) : 0.0;
    }
    out[kk] = static_cast<T>(value);
  }
}

template <typename T>
void fill(const LshBiasLayout& a, T* bias) {
  const int64_t slots = a.hashes * a.length, chunks = slots / a.chunk, c = a.chunk;
  const int64_t width = 1 + a.before + a.after, window = width * c;
  at::parallel_for(0, a.batch * a.heads * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / chunks, x = task % chunks, b = bh / a.heads;
      const int64_t* position = a.slot_position + bh * slots;
      const int64_t* bucket = a.slot_bucket + bh * slots;
      const bool* real = a.real + b * a.length;
      T* out = bias + task * c * window;
      for (int64_t kc = 0; kc < width; ++kc) {
        const int64_t sk0 = wrap(x + kc - a.before, chunks) * c;
        for (int64_t qi = 0; qi < c; ++qi)
          fill_row_chunk(a, bh, chunks, x * c + qi, sk0, position, bucket, real,
                         out + qi * window + kc * c);
      }
    }
  });
}

}  // namespace

void lsh_bias(const LshBiasLayout& layout, float* bias) {
  fill(layout, bias);
}

void lsh_bias(const LshBiasLayout& layout, double* bias) {
  fill(layout, bias);
}

}  // namespace lra::cpu
