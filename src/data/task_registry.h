// The LRA tasks' data functions: the LibTorch half of each registration line
// (src/config/task_list.h), looked up by task name.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "config/tasks.h"
#include "data/dataset.h"
#include "data/prepare_command.h"

namespace lra {

// data.source: synthetic: the data `config` asks for. Sets `source` to where it came from (the
// cached prepared folder, or that it was generated in memory), for messages.
using TaskGeneratorFunction = TaskData (*)(const Config& config, std::string& source);

// What src/data/tasks/<name>.cpp defines in namespace lra::tasks::<name>, and the generator its
// registration line names.
struct TaskImplementation {
  const TaskSpec* spec = nullptr;
  // lra_prepare <name>: its options and its reader.
  prepare::Command (*prepare_command)() = nullptr;
  TaskGeneratorFunction generate = nullptr;  // nullptr: no data.source: synthetic
};

// Every registered task, in registration order.
const std::vector<TaskImplementation>& task_implementations();
// Throws std::invalid_argument naming the registered tasks.
const TaskImplementation& task_implementation(const std::string& name);

}  // namespace lra
