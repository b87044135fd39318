// When an approximate backend computes the exact attention it approximates instead: where its
// approximation would cost more than the exact form (or equal it). Named on the backend's
// registration line (backend_list.h: EXACT_WHEN(...)); the backend's forward takes the exact
// branch on the same condition, lra_train says so in its log and report.json, lra_report in the
// row label. `length` is the sequence length the layer sees (the padded length, CLS included).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "attention_spec/attention_config.h"

namespace lra {

// "" when `config` approximates at `length`; else why it is exact, naming the key:
// "num_landmarks 128 >= length 65".
using ExactWhen = std::string (*)(const AttentionConfig& config, int64_t length);

namespace exact_forms {
std::string landmarks_cover_length(const AttentionConfig& config, int64_t length);    // Nystrom
std::string columns_cover_length(const AttentionConfig& config, int64_t length);      // Skyformer
std::string projection_covers_length(const AttentionConfig& config, int64_t length);  // Linformer
std::string selected_queries_cover_length(const AttentionConfig& config,
                                          int64_t length);                         // Informer
std::string chunk_covers_length(const AttentionConfig& config, int64_t length);    // Reformer
std::string pattern_covers_length(const AttentionConfig& config, int64_t length);  // BigBird
std::string sinkhorn_block_covers_length(const AttentionConfig& config,
                                         int64_t length);  // Sinkhorn
std::string local_block_covers_length(const AttentionConfig& config,
                                      int64_t length);                            // Local
std::string window_covers_length(const AttentionConfig& config, int64_t length);  // Longformer
}  // namespace exact_forms

// The sizes those conditions compare with the length, shared with the backends that use them.
// Skyformer's landmark columns: attention.features, or sampling_factor * ln(max_length) for 0.
int64_t skyformer_columns(const AttentionConfig& config, int64_t max_length);
// Informer's sampling factor c: ceil(attention.features / ln(max_length)) as the Skyformer code's
// config derives it from in_nb_features, or attention.sampling_factor itself when features is 0
// (max_length >= 2).
double informer_sampling_factor(const AttentionConfig& config, int64_t max_length);
// Informer's keys sampled per query (U) and queries given exact rows (u) for a sequence of n keys:
// ceil(c ceil(ln n)), at least 1, at most n.
int64_t informer_count(double factor, int64_t n);
// BigBird's blocks at or below which the pattern is not used (as HuggingFace's BigBirdModel falls
// back to full attention): 2 global + 3 window + 2 random.
int64_t bigbird_full_attention_blocks(int64_t global, int64_t random);
// Longformer's window as {keys before, keys after} each query: w / 2 and w / 2 (convention
// paper), w - w / 2 - 1 and w / 2 as the LRA code splits it (lra_code).
std::pair<int64_t, int64_t> longformer_band(const AttentionConfig& config);

}  // namespace lra
