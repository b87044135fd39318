#include "attention_spec/backend_rules.h"

#include "util/format.h"

namespace lra::rules {
namespace {

std::string features_positive(const AttentionConfig& a, int64_t) {
  if (a.features >= 1) return "";
  return "attention.features: 0 is set, but " + a.type +
         " needs at least 1 (0 = sampling_factor * ln(max_length) is skyformer's)";
}

std::string conv_kernel_odd(const AttentionConfig& a, int64_t) {
  if (a.conv_kernel == 0 || a.conv_kernel % 2 == 1) return "";
  return "attention.conv_kernel: " + std::to_string(a.conv_kernel) +
         " is even; the convolution is centred on each token, so use an odd width (or 0 for "
         "none)";
}

// The Skyformer code reshapes the padded sequence into num_landmarks equal segments.
std::string landmark_segments(const AttentionConfig& a, int64_t padded_length) {
  if (a.convention != "skyformer_code" || padded_length <= 0 ||
      padded_length % a.num_landmarks == 0)
    return "";
  return "attention.num_landmarks: " + std::to_string(a.num_landmarks) +
         " does not divide the padded length " + std::to_string(padded_length) + "; " + a.type +
         " with attention.convention: skyformer_code cuts it into equal segments, as the "
         "Skyformer code does (pick a divisor, or convention: paper)";
}

std::string positive_on_drawn_rows(const AttentionConfig& a, int64_t) {
  if (a.convention != "skyformer_code" ||
      (a.component == "positive" && a.weight_sampler != "fastfood_learned"))
    return "";
  return "attention.convention: skyformer_code is the Skyformer code's Performer, positive "
         "features on drawn directions; set attention.component: positive and a weight_sampler "
         "other than fastfood_learned (or convention: paper)";
}

std::string learned_not_redrawn(const AttentionConfig& a, int64_t) {
  if (a.weight_sampler != "fastfood_learned" || a.redraw_interval == 0) return "";
  return "attention.weight_sampler: fastfood_learned trains its FastFood factors, so it is not "
         "redrawn; set attention.redraw_interval: 0 (or use weight_sampler: fastfood)";
}

// Its rows are rotated by each call's eigenvectors; trained factors would need autograd through
// that rotation, which the fast path does not carry.
std::string not_learned(const AttentionConfig& a, int64_t) {
  if (a.weight_sampler != "fastfood_learned") return "";
  return "attention.weight_sampler: " + a.type +
         " draws its rows, it does not train them; pick a sampler other than fastfood_learned "
         "(or attention.type: favor)";
}

// Shorter sequences are padded up to a block multiple, but a block longer than the whole
// padded sequence would be nothing but padding.
std::string block_within_length(const AttentionConfig& a, int64_t padded_length) {
  if (padded_length <= 0 || a.block_size <= padded_length) return "";
  return "attention.block_size: " + std::to_string(a.block_size) +
         " is longer than the padded length " + std::to_string(padded_length) +
         "; pick a block size of at most the padded length";
}

// The Skyformer (HuggingFace) BigBird code hard-codes one global block at each end.
std::string one_global_block_in_code(const AttentionConfig& a, int64_t) {
  if (a.convention != "skyformer_code" || a.global_blocks == 1) return "";
  return "attention.global_blocks: " + std::to_string(a.global_blocks) +
         " is set, but convention: skyformer_code is the Skyformer code's BigBird, whose "
         "layout has one global block at each end; set global_blocks: 1 (or convention: paper)";
}

// informer takes c from attention.features unless it is 0: a sampling_factor set beside a
// positive features would be silently ignored.
std::string factor_from_one_key(const AttentionConfig& a, int64_t) {
  if (a.features == 0 || a.sampling_factor == AttentionConfig{}.sampling_factor) return "";
  return "attention.sampling_factor: " + format_double(a.sampling_factor) + " is set, but " +
         a.type + " takes its sampling factor from attention.features (" +
         std::to_string(a.features) +
         ", c = ceil(features / ln(max_length))); set attention.features: 0 to use c = "
         "sampling_factor (or leave sampling_factor at its default)";
}

// A chunk longer than the padded sequence would be all padding (HuggingFace then attends the
// whole sequence without hashing, which bucket_size = the length already gives).
std::string bucket_within_length(const AttentionConfig& a, int64_t padded_length) {
  if (padded_length <= 0 || a.bucket_size <= padded_length) return "";
  return "attention.bucket_size: " + std::to_string(a.bucket_size) +
         " is longer than the padded length " + std::to_string(padded_length) +
         "; pick a bucket size of at most the padded length";
}

// Each rotation of b/2 columns hashes into the b buckets argmax([xR; -xR]).
std::string buckets_even(const AttentionConfig& a, int64_t) {
  if (a.num_buckets == 0 || a.num_buckets % 2 == 0) return "";
  return "attention.num_buckets: " + std::to_string(a.num_buckets) +
         " is odd; the hash is argmax([xR; -xR]) over a rotation R of num_buckets / 2 columns, "
         "so use an even number (or 0 for the automatic choice)";
}

}  // namespace

const BackendRule features_at_least_one{"features", features_positive, "attention.features=0"};
const BackendRule odd_conv_kernel{"conv_kernel", conv_kernel_odd, "attention.conv_kernel=4"};
const BackendRule landmarks_divide_length{
    "num_landmarks", landmark_segments,
    "attention.convention=skyformer_code attention.num_landmarks=7"};
const BackendRule code_performer_is_positive{
    "convention", positive_on_drawn_rows,
    "attention.convention=skyformer_code attention.component=oprf"};
const BackendRule learned_rows_not_redrawn{
    "weight_sampler", learned_not_redrawn,
    "attention.weight_sampler=fastfood_learned attention.redraw_interval=10"};
const BackendRule drawn_rows_only{"weight_sampler", not_learned,
                                  "attention.weight_sampler=fastfood_learned"};
const BackendRule block_fits_length{"block_size", block_within_length, "attention.block_size=4096"};
const BackendRule code_bigbird_one_global{
    "global_blocks", one_global_block_in_code,
    "attention.convention=skyformer_code attention.global_blocks=2"};

const BackendRule informer_one_factor_source{"sampling_factor", factor_from_one_key,
                                             "attention.sampling_factor=5"};
const BackendRule bucket_fits_length{"bucket_size", bucket_within_length,
                                     "attention.bucket_size=4096"};
const BackendRule even_num_buckets{"num_buckets", buckets_even, "attention.num_buckets=3"};

}  // namespace lra::rules
