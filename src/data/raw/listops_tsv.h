// ListOps from the LRA release: listops-1000/basic_{train,val,test}.tsv (header Source\tTarget).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/tasks.h"
#include "data/raw/common.h"

namespace lra::raw {

struct ListOpsOptions {
  // "fixed": official 2021 pipeline (parentheses dropped, "]" kept), ids of data/listops.h,
  // vocab 16. "peer": the 2020 tokenizer of the PyTorch peers' pickles (every bracket dropped).
  std::string tokenization = "fixed";
  // Longer expressions are cut and counted in meta (truncated).
  int64_t max_length = task_spec("listops").max_length;
};

// Peer tokenization ids: pad 0, digits 0..9 -> 1..10, MIN 11, MAX 12, MED 13, SM 14 (vocab 15):
// the fixed ids without the closing token. The peers' own ids came from a set-ordered tfds
// vocabulary, so only the token sequence, not the numbering, matches their pickles.
constexpr int64_t kListOpsPeerVocab = 15;
std::vector<uint8_t> tokenize_listops_peer(const std::string& expression);

// `dir` holds basic_train.tsv, basic_val.tsv, basic_test.tsv.
Prepared prepare_listops(const std::string& dir, const ListOpsOptions& options,
                         const Progress& progress = {});

}  // namespace lra::raw
