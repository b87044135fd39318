// The LRA tasks, in the order the papers' tables list them.
#pragma once
#include <string>
#include <vector>

namespace lra {

const std::vector<std::string>& task_names();

}  // namespace lra
