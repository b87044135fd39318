// In-memory task data: per split a padded token matrix and labels, gathered into batches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "config/config.h"

namespace lra {

struct Split {
  std::string name;
  torch::Tensor tokens;   // (N, L) uint8 / int16 / int32 (as the vocabulary needs), 0 = pad
  torch::Tensor tokens2;  // (N, L) second document (retrieval only), else undefined
  torch::Tensor labels;   // (N,) int64
  int64_t size() const { return labels.size(0); }
};

struct Batch {
  torch::Tensor tokens;          // (B, L) int64
  torch::Tensor tokens2;         // (B, L) int64, retrieval only
  torch::Tensor labels;          // (B,) int64
  std::vector<int64_t> indices;  // (B,) the examples' rows in their split, in batch order
};

struct TaskData {
  std::string task;  // a registered task (src/config/task_list.h)
  int64_t vocab_size = 0;
  int64_t num_classes = 0;
  int64_t max_length = 0;
  Split train, val, test;
};

// Builds the splits the config asks for: made by the task's generator (data.source: synthetic;
// ListOps in memory, Pathfinder and Path-X through a cached prepared folder) or read from
// data.dir.
TaskData load_task_data(const Config& config);

// What cutting a split's sequences to `length` tokens loses: how many sequences (both documents
// of a retrieval pair count) have a real (non-pad) token at or beyond `length`, out of how many,
// and the longest real length among them.
struct CutCount {
  int64_t cut = 0, total = 0, longest = 0;
};
CutCount count_cut(const Split& split, int64_t length);

// Pads variable-length token lists into an (N, max_length) uint8 matrix; throws if one is longer.
torch::Tensor pad_tokens(const std::vector<std::vector<uint8_t>>& sequences, int64_t max_length);

// Rows `indices` of a split as int64 tensors.
Batch gather_batch(const Split& split, const std::vector<int64_t>& indices);

// The most frequent label and the accuracy of always predicting it.
std::pair<int64_t, double> majority_class(const Split& split, int64_t num_classes);

}  // namespace lra
