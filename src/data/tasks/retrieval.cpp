// Retrieval: lra_prepare retrieval reads the AAN pairs of the LRA release
// (src/data/raw/aan_tsv.cpp).
#include <memory>

#include "data/raw/aan_tsv.h"
#include "data/task_registry.h"

namespace lra::tasks::retrieval {

prepare::Command prepare_command() {
  auto o = std::make_shared<raw::RetrievalOptions>();
  prepare::Command c;
  c.description = "AAN from new_aan_pairs.{train,eval,test}.tsv";
  c.input_help = "folder with new_aan_pairs.{train,eval,test}.tsv (lra_release/tsv_data)";
  c.options = {
      {"--max-length", &o->max_length, "per document", prepare::positive()},
      {"--max-bytes", &o->max_bytes, "text cut before encoding", prepare::positive()},
  };
  c.run = [o](const prepare::Request& request) -> std::optional<raw::Prepared> {
    return raw::prepare_retrieval(prepare::require_input(request), *o, request.progress);
  };
  return c;
}

}  // namespace lra::tasks::retrieval
