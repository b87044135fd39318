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

// sinkhorn and synthesizer follow their papers or the official LRA code; the Skyformer code has
// neither method.
std::string paper_or_lra(const AttentionConfig& a, int64_t) {
  if (a.convention != "skyformer_code") return "";
  return "attention.convention: skyformer_code is set, but the Skyformer code has no " + a.type +
         "; use paper (the default) or lra_code (the official LRA code)";
}

// The methods whose conventions are their paper and the Skyformer code: the LRA code's own
// version of them is not reproduced, and computing the paper form under its name would mislead.
std::string paper_or_skyformer(const AttentionConfig& a, int64_t) {
  if (a.convention != "lra_code") return "";
  return "attention.convention: lra_code is set, but " + a.type +
         " does not reproduce the official LRA code's version; use paper (the default) or "
         "skyformer_code (the Skyformer code)";
}

// The LRA code reshapes the sequence into (block_size, length / block_size) strided blocks.
std::string code_blocks_divide(const AttentionConfig& a, int64_t padded_length) {
  if (a.convention != "lra_code" || padded_length <= 0 || padded_length % a.block_size == 0)
    return "";
  return "attention.block_size: " + std::to_string(a.block_size) +
         " does not divide the padded length " + std::to_string(padded_length) + "; " + a.type +
         " with convention: lra_code reshapes the sequence into blocks as the LRA code does "
         "(pick a divisor, or convention: paper)";
}

// The LRA code's default sort activation is a softmax whose rows its einsum sums to 1: there is
// no Sinkhorn balancing and no temperature to set.
std::string code_sort_reads_no(const char* key, const std::string& value, bool is_default,
                               const AttentionConfig& a) {
  if (a.convention != "lra_code" || is_default) return "";
  return std::string("attention.") + key + ": " + value + " is set, but " + a.type +
         " with convention: lra_code sorts as the LRA code does, with a softmax and no "
         "Sinkhorn balancing, so it does not read it; remove it (or use convention: paper)";
}

std::string code_iterations(const AttentionConfig& a, int64_t) {
  return code_sort_reads_no("sinkhorn_iterations", std::to_string(a.sinkhorn_iterations),
                            a.sinkhorn_iterations == AttentionConfig{}.sinkhorn_iterations, a);
}

std::string code_temperature(const AttentionConfig& a, int64_t) {
  return code_sort_reads_no("temperature", format_double(a.temperature),
                            a.temperature == AttentionConfig{}.temperature, a);
}

// Learned (L x L) logits exist for the lengths they were sized for: a longer sequence would have
// no weights, so the config is refused before the run instead of failing at its first batch.
std::string covers_length(const AttentionConfig& a, int64_t padded_length) {
  if (a.max_length == 0 || padded_length <= a.max_length) return "";
  return "attention.max_length: " + std::to_string(a.max_length) +
         " is shorter than the padded length " + std::to_string(padded_length) +
         " (data.max_length, plus the CLS slot); " + a.type +
         "'s learned weights would not cover it: raise it to at least " +
         std::to_string(padded_length) + " (or 0 for the padded length)";
}

std::string rank_of_factorized(const AttentionConfig& a, int64_t) {
  if (a.synthesizer_k == AttentionConfig{}.synthesizer_k ||
      a.synthesizer_mode.find("factorized") != std::string::npos)
    return "";
  return "attention.synthesizer_k: " + std::to_string(a.synthesizer_k) +
         " is set, but synthesizer_mode " + a.synthesizer_mode +
         " has no factorized logits to give that rank; remove it or use a factorized mode";
}

// Longformer's paper attends w / 2 tokens on each side; an odd window would lose a token
// silently (HuggingFace refuses one too). The LRA code's split takes any w.
std::string window_even(const AttentionConfig& a, int64_t) {
  if (a.convention != "paper" || a.window % 2 == 0) return "";
  return "attention.window: " + std::to_string(a.window) + " is odd; " + a.type +
         " with convention: paper attends window / 2 tokens on each side, so use an even window "
         "(or convention: lra_code, which splits any window as the LRA code does)";
}

// More global tokens than positions would make every token global, which is softmax attention
// spelled another way.
std::string global_within_length(const AttentionConfig& a, int64_t padded_length) {
  if (padded_length <= 0 || a.global_tokens <= padded_length) return "";
  return "attention.global_tokens: " + std::to_string(a.global_tokens) +
         " is more than the padded length " + std::to_string(padded_length) +
         "; pick at most the padded length (0 for none)";
}

// c belongs to the fixed pattern; beside the strided one it would be silently ignored.
std::string summary_of_fixed(const AttentionConfig& a, int64_t) {
  if (a.sparse_pattern == "fixed" || a.summary_tokens == AttentionConfig{}.summary_tokens)
    return "";
  return "attention.summary_tokens: " + std::to_string(a.summary_tokens) +
         " is set, but sparse_pattern " + a.sparse_pattern +
         " has no summary positions; remove it or use sparse_pattern: fixed";
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
const BackendRule paper_or_lra_code{"convention", paper_or_lra,
                                    "attention.convention=skyformer_code"};
const BackendRule paper_or_skyformer_code{"convention", paper_or_skyformer,
                                          "attention.convention=lra_code"};
const BackendRule code_blocks_divide_length{"block_size", code_blocks_divide,
                                            "attention.convention=lra_code attention.block_size=7"};
const BackendRule code_sort_no_iterations{
    "sinkhorn_iterations", code_iterations,
    "attention.convention=lra_code attention.sinkhorn_iterations=3"};
const BackendRule code_sort_no_temperature{
    "temperature", code_temperature, "attention.convention=lra_code attention.temperature=0.5"};
const BackendRule synthesizer_covers_length{"max_length", covers_length, "attention.max_length=16"};
const BackendRule synthesizer_k_factorized{"synthesizer_k", rank_of_factorized,
                                           "attention.synthesizer_k=8"};
const BackendRule paper_window_even{"window", window_even, "attention.window=5"};
const BackendRule global_tokens_fit_length{"global_tokens", global_within_length,
                                           "attention.global_tokens=4096"};
const BackendRule summary_tokens_fixed_only{
    "summary_tokens", summary_of_fixed,
    "attention.sparse_pattern=strided attention.summary_tokens=8"};

}  // namespace lra::rules
