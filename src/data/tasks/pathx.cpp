// Path-X: Pathfinder at 128x128 (src/data/tasks/pathfinder.cpp does the work).
#include "data/tasks/pathfinder.h"

namespace lra::tasks::pathx {

prepare::Command prepare_command() {
  return tasks::pathfinder::command("pathx", "Path-X (128x128) from the PNG tree, or --generate",
                                    "lra_release/pathfinder128");
}

}  // namespace lra::tasks::pathx
