#include "data/task_registry.h"

#include <stdexcept>

namespace lra {

#define LRA_TASK(name, ...)           \
  namespace tasks::name {             \
  prepare::Command prepare_command(); \
  }
#include "config/task_list.h"
#undef LRA_TASK

// The generators a registration line can name.
namespace tasks::listops {
TaskData generate(const Config& config, std::string& source);
}
namespace tasks::pathfinder {
TaskData generate(const Config& config, std::string& source);
}

const std::vector<TaskImplementation>& task_implementations() {
#define NO_GENERATOR nullptr
#define LISTOPS_GENERATOR &tasks::listops::generate
#define PATHFINDER_GENERATOR &tasks::pathfinder::generate
#define LRA_TASK(name, vocab_size, num_classes, towers, shape, generator, config) \
  TaskImplementation{&task_spec(#name), &tasks::name::prepare_command, generator},
  static const std::vector<TaskImplementation> table = {
#include "config/task_list.h"
  };
#undef LRA_TASK
#undef PATHFINDER_GENERATOR
#undef LISTOPS_GENERATOR
#undef NO_GENERATOR
  return table;
}

const TaskImplementation& task_implementation(const std::string& name) {
  const TaskSpec& spec = task_spec(name);  // throws for an unknown name
  for (const auto& implementation : task_implementations())
    if (implementation.spec == &spec) return implementation;
  throw std::logic_error("task '" + name + "' has no data implementation");
}

}  // namespace lra
