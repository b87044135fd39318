#include "config/tasks.h"

namespace lra {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"listops", "text",       "retrieval",
                                                 "image",   "pathfinder", "pathx"};
  return names;
}

}  // namespace lra
