#include "attention_spec/exact_forms.h"

#include <algorithm>
#include <cmath>

namespace lra {
namespace {

std::string covers(const char* key, int64_t value, int64_t length) {
  if (length < 1 || value < length) return "";
  return std::string(key) + " " + std::to_string(value) + " >= length " + std::to_string(length);
}

}  // namespace

int64_t skyformer_columns(const AttentionConfig& config, int64_t max_length) {
  if (config.features > 0 || max_length < 1) return config.features;
  return std::max<int64_t>(
      1, static_cast<int64_t>(config.sampling_factor * std::log(static_cast<double>(max_length))));
}

double informer_sampling_factor(const AttentionConfig& config, int64_t max_length) {
  if (config.features == 0) return config.sampling_factor;
  return std::ceil(static_cast<double>(config.features) /
                   std::log(static_cast<double>(std::max<int64_t>(max_length, 2))));
}

int64_t informer_count(double factor, int64_t n) {
  if (n <= 0) return 0;
  const double count = std::ceil(factor * std::ceil(std::log(static_cast<double>(n))));
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(count, 1e18)), 1, n);
}

int64_t bigbird_full_attention_blocks(int64_t global, int64_t random) {
  return 2 * global + 3 + 2 * random;
}

std::pair<int64_t, int64_t> longformer_band(const AttentionConfig& config) {
  const int64_t w = config.window;
  if (config.convention == "lra_code") return {w - w / 2 - 1, w / 2};
  return {w / 2, w / 2};
}

namespace exact_forms {

// Every real token is a landmark: with the exact pseudo-inverse the Nystrom product is softmax
// attention itself, and the m x m inverse costs more than the L x L scores.
std::string landmarks_cover_length(const AttentionConfig& config, int64_t length) {
  return covers("num_landmarks", config.num_landmarks, length);
}

// c >= L landmark columns: the c x c pseudo-inverse (iterations x 4 c^3) costs more than the
// exact L x L Gaussian kernel (L^2 d), which it would only approximate.
std::string columns_cover_length(const AttentionConfig& config, int64_t length) {
  return covers(config.features > 0 ? "features" : "sampling_factor * ln(max_length) columns",
                skyformer_columns(config, length), length);
}

// k >= L: projecting the keys and values to k rows no longer shortens anything, so the
// projected attention costs more than the exact one it stands in for.
std::string projection_covers_length(const AttentionConfig& config, int64_t length) {
  return covers("linformer_k", config.linformer_k, length);
}

// u >= L: every query gets its exact row, which is softmax attention itself (the sampled scores
// would only add cost).
std::string selected_queries_cover_length(const AttentionConfig& config, int64_t length) {
  if (length < 1) return "";
  const double c = informer_sampling_factor(config, length);
  if (informer_count(c, length) < length) return "";
  const double wanted = std::ceil(c * std::ceil(std::log(static_cast<double>(length))));
  return "selected queries c ceil(ln L) = " + std::to_string(static_cast<int64_t>(wanted)) +
         " >= length " + std::to_string(length);
}

// One chunk holds the whole sequence: it is attended whole, without hashing, which is the exact
// shared-QK attention the buckets approximate.
std::string chunk_covers_length(const AttentionConfig& config, int64_t length) {
  return covers("bucket_size", config.bucket_size, length);
}

// Too few blocks for the pattern: every block would be global, window or random.
std::string pattern_covers_length(const AttentionConfig& config, int64_t length) {
  const int64_t blocks = bigbird_full_attention_blocks(config.global_blocks, config.random_blocks);
  if (length < 1 || length > blocks * config.block_size) return "";
  return "length " + std::to_string(length) + " <= (2 global_blocks + 3 + 2 random_blocks) x " +
         "block_size = " + std::to_string(blocks * config.block_size);
}

// One block holds the whole sequence: its own keys and its sorted block (the same block, the
// 1 x 1 Sinkhorn matrix being 1) list every key twice, which is softmax attention itself. The
// LRA code's form adds its two attentions instead, so it has no exact case.
std::string sinkhorn_block_covers_length(const AttentionConfig& config, int64_t length) {
  if (config.convention == "lra_code") return "";
  return covers("block_size", config.block_size, length);
}

// One block holds the sequence. The LRA code's groups are strided with n = floor(L / b) + 1 of
// them (it always pads), so only a block longer than the sequence makes one group.
std::string local_block_covers_length(const AttentionConfig& config, int64_t length) {
  if (config.convention != "lra_code") return covers("block_size", config.block_size, length);
  if (length < 1 || config.block_size <= length) return "";
  return "block_size " + std::to_string(config.block_size) + " > length " + std::to_string(length) +
         " (one strided group)";
}

// The window reaches every key from every query, or every token is global.
std::string window_covers_length(const AttentionConfig& config, int64_t length) {
  if (length < 1) return "";
  const auto [before, after] = longformer_band(config);
  if (std::min(before, after) >= length - 1)
    return "window " + std::to_string(config.window) + " (" + std::to_string(before) + " before, " +
           std::to_string(after) + " after) spans length " + std::to_string(length);
  return covers("global_tokens", config.global_tokens, length);
}

}  // namespace exact_forms
}  // namespace lra
