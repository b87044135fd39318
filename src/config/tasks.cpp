#include "config/tasks.h"

#include <stdexcept>

namespace lra {

const std::vector<TaskSpec>& task_specs() {
#define ONE_TOWER false
#define TWO_TOWERS true
#define SEQUENCE(length) length, 0
#define IMAGE(side) (side) * (side), side
#define NO_GENERATOR TaskGenerator::kNone
#define LISTOPS_GENERATOR TaskGenerator::kListOps
#define PATHFINDER_GENERATOR TaskGenerator::kPathfinder
#define LRA_TASK(name, vocab_size, num_classes, towers, shape, generator, config) \
  TaskSpec{#name, vocab_size, num_classes, towers, shape, generator, config},
  static const std::vector<TaskSpec> specs = {
#include "config/task_list.h"
  };
#undef LRA_TASK
#undef PATHFINDER_GENERATOR
#undef LISTOPS_GENERATOR
#undef NO_GENERATOR
#undef IMAGE
#undef SEQUENCE
#undef TWO_TOWERS
#undef ONE_TOWER
  return specs;
}

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const auto& spec : task_specs()) list.push_back(spec.name);
    return list;
  }();
  return names;
}

const TaskSpec* find_task(const std::string& name) {
  for (const auto& spec : task_specs())
    if (spec.name == name) return &spec;
  return nullptr;
}

const TaskSpec& task_spec(const std::string& name) {
  if (const TaskSpec* spec = find_task(name)) return *spec;
  std::string known;
  for (const auto& task : task_names()) known += (known.empty() ? "" : ", ") + task;
  throw std::invalid_argument("unknown task '" + name + "' (" + known + ")");
}

std::string generated_task_list() {
  std::vector<std::string> names;
  for (const auto& spec : task_specs())
    if (spec.has_generator()) names.push_back(spec.name);
  std::string list;
  for (size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return list;
}

}  // namespace lra
