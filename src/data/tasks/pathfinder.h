// Pathfinder and Path-X share one reader, one generator and one set of lra_prepare options; they
// differ in the image side and the release folder.
#pragma once
#include <string>

#include "data/prepare_command.h"

namespace lra::tasks::pathfinder {

// lra_prepare <task>: read the release's PNG tree, or --generate the set.
prepare::Command command(const std::string& task, const std::string& description,
                         const std::string& release_folder);

}  // namespace lra::tasks::pathfinder
