// Text (IMDB, byte level) from the aclImdb/{train,test}/{pos,neg}/*.txt tree.
#pragma once
#include <cstdint>
#include <string>

#include "config/tasks.h"
#include "data/raw/common.h"

namespace lra::raw {

struct TextOptions {
  int64_t max_length = task_spec("text").max_length;  // peers/paper 4000, official config 1000
  uint64_t seed = 0;                                  // order of the reviews inside each split
};

// `dir` is aclImdb/ or the folder that contains it. Labels: neg 0, pos 1 (tfds imdb_reviews).
// Each review is stripped of leading/trailing ASCII whitespace (as tfds does), encoded as
// byte + 1 and cut to max_length. val is a copy of test, as in the official pipeline. A review
// that is a symbolic link leading outside `dir` is refused.
Prepared prepare_text(const std::string& dir, const TextOptions& options,
                      const Progress& progress = {});

}  // namespace lra::raw
