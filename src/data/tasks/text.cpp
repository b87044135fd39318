// Text: lra_prepare text reads IMDB's aclImdb tree (src/data/raw/imdb.cpp).
#include <memory>

#include "data/raw/imdb.h"
#include "data/task_registry.h"

namespace lra::tasks::text {

prepare::Command prepare_command() {
  auto o = std::make_shared<raw::TextOptions>();
  prepare::Command c;
  c.description = "IMDB byte-level from the aclImdb tree";
  c.input_help = "aclImdb/ (or the folder containing it)";
  c.options = {
      {"--max-length", &o->max_length, "bytes kept (official config 1000)", prepare::positive()},
      {"--seed", &o->seed, "order of reviews within a split"},
  };
  c.run = [o](const prepare::Request& request) -> std::optional<raw::Prepared> {
    return raw::prepare_text(prepare::require_input(request), *o, request.progress);
  };
  return c;
}

}  // namespace lra::tasks::text
