// Rules a backend's settings must keep beyond each key's own range, named on its registration
// line (backend_list.h: RULES(...)) and checked with the rest of the config when it is read, so
// that lra_train --print-config refuses what the model could not be built from.
#pragma once
#include <cstdint>
#include <string>

#include "attention_spec/attention_config.h"

namespace lra {

struct BackendRule {
  const char* key;  // the attention.* key its message names, without "attention."
  // "" when `config` keeps the rule, else what is wrong and how to fix it. padded_length: the
  // longest sequence a layer sees (data.max_length, plus the CLS slot); 0 = not known.
  std::string (*check)(const AttentionConfig& config, int64_t padded_length);
  // "attention.key=value" overrides, space-separated, that break it from the backend's defaults
  // (the tests apply each and expect the config refused with `key` named).
  const char* violation;
};

namespace rules {
extern const BackendRule features_at_least_one;       // m = 0 random features means nothing
extern const BackendRule odd_conv_kernel;             // a centred convolution has an odd width
extern const BackendRule landmarks_divide_length;     // skyformer_code's equal segments
extern const BackendRule code_performer_is_positive;  // skyformer_code: positive, drawn rows
extern const BackendRule learned_rows_not_redrawn;    // trained FastFood factors stay
extern const BackendRule drawn_rows_only;             // favor_sharp rotates its rows per call
extern const BackendRule informer_one_factor_source;  // sampling_factor only with features 0
extern const BackendRule block_fits_length;           // a block no longer than the sequence
extern const BackendRule code_bigbird_one_global;     // skyformer_code: its fixed 5-part layout
extern const BackendRule bucket_fits_length;          // reformer: a chunk within the sequence
extern const BackendRule even_num_buckets;            // reformer: argmax over [xR; -xR]
extern const BackendRule paper_or_lra_code;           // LRA-code methods: no Skyformer code
extern const BackendRule paper_or_skyformer_code;     // no lra_code form reproduced
extern const BackendRule code_blocks_divide_length;   // lra_code: the code reshapes into blocks
extern const BackendRule code_sort_no_iterations;     // lra_code: softmax sort, no balancing
extern const BackendRule code_sort_no_temperature;    // lra_code: softmax sort, no temperature
extern const BackendRule synthesizer_covers_length;   // learned weights cover the length
extern const BackendRule synthesizer_k_factorized;    // the rank of factorized modes only
extern const BackendRule paper_window_even;           // longformer paper: w / 2 on each side
extern const BackendRule global_tokens_fit_length;    // at most every position global
extern const BackendRule summary_tokens_fixed_only;   // sparse_transformer: c of the fixed pattern
}  // namespace rules

}  // namespace lra
