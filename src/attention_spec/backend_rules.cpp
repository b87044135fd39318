#include "attention_spec/backend_rules.h"

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

}  // namespace lra::rules
