// Retrieval (AAN) from the LRA release: tsv_data/new_aan_pairs.{train,eval,test}.tsv.
#pragma once
#include <cstdint>
#include <string>

#include "config/tasks.h"
#include "data/raw/common.h"

namespace lra::raw {

struct RetrievalOptions {
  int64_t max_length = task_spec("retrieval").max_length;  // per document
  int64_t max_bytes = 10000;  // each text is first cut to this many bytes (official pipeline)
};

// Lines: label \t id1 \t id2 \t text1 \t text2, no header, no quoting. The label is read as a
// float and truncated to an int (official: float32 then int32) and must be 0 or 1.
// eval.tsv becomes the val split.
Prepared prepare_retrieval(const std::string& dir, const RetrievalOptions& options,
                           const Progress& progress = {});

}  // namespace lra::raw
