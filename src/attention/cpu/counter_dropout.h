// Dropout masks that are a pure function of (seed, row, column): the backward regenerates the
// forward's mask instead of storing an (L x L) one per head. Row r gets the 64-bit key
// splitmix64(seed, r); column j of it is kept iff mix(key, j) >= round(p 2^32), where mix is two
// rounds of MurmurHash3's 32-bit finalizer (the key's low half offsets j, its high half is mixed
// in after the first round, so two rows' columns coincide only if both halves line up: odds
// ~L 2^-64 per pair). Independent Bernoulli(1 - p) draws up to the hashes' quality and the 2^-32
// rounding of p; the scalar and vector paths give the same bits.
#pragma once
#include <cmath>
#include <cstdint>

namespace lra::cpu {

// Output `index` of the SplitMix64 stream with state `seed` (Steele, Lea & Flood 2014).
inline uint64_t splitmix64(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  return h ^ (h >> 16);
}

// The 32 random bits of column j in the row with key `row_key`.
inline uint32_t column_bits(uint64_t row_key, uint32_t j) {
  const uint32_t lo = static_cast<uint32_t>(row_key), hi = static_cast<uint32_t>(row_key >> 32);
  return fmix32(fmix32(j + lo) ^ hi);
}

// round(p 2^32), saturating: bits below it are dropped.
inline uint32_t drop_threshold(double p) {
  const double t = std::nearbyint(std::ldexp(p, 32));
  return t <= 0 ? 0u : t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
}

// One 64-bit draw from LibTorch's default CPU generator: a call's mask seed, so that
// torch::manual_seed and the trainer's saved generator state reproduce the masks.
uint64_t draw_dropout_seed();

// out[c] *= (kept ? keep_scale : 0) for columns first .. first + n - 1 of the row.
void apply_counter_dropout(float* out, int64_t n, uint64_t row_key, uint32_t first,
                           uint32_t threshold, float keep_scale);
void apply_counter_dropout(double* out, int64_t n, uint64_t row_key, uint32_t first,
                           uint32_t threshold, double keep_scale);

}  // namespace lra::cpu
