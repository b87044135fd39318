// What the project knows about an LRA task without reading its data: the LibTorch-free half of
// its registration line (task_list.h). The config checks its data.* settings against it, the
// prepared format and the raw readers take their task's shape from it, lra_report orders its
// columns by it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra {

// The built-in generator behind `data.source: synthetic`, and so which data.* block configures
// it.
enum class TaskGenerator {
  kNone,
  kListOps,     // data.synthetic.*: expressions generated in memory
  kPathfinder,  // data.pathfinder.*: images generated into a cached prepared folder
};

struct TaskSpec {
  std::string name;
  int64_t vocab_size = 0;   // of the default preparation, pad id 0 included
  int64_t num_classes = 0;  // of the default preparation
  bool two_tower = false;   // each example is a pair of documents (tokens2), one encoder for both
  int64_t max_length = 0;   // default padded length (per document); an image's pixel count
  int64_t image_side = 0;   // 0 = not an image
  TaskGenerator generator = TaskGenerator::kNone;
  std::string config;  // its default config, relative to the repository root

  bool has_generator() const { return generator != TaskGenerator::kNone; }
};

// Every registered task, in registration order (the papers' table order).
const std::vector<TaskSpec>& task_specs();
const std::vector<std::string>& task_names();
// nullptr for a name that is not a registered task.
const TaskSpec* find_task(const std::string& name);
// Throws std::invalid_argument naming the registered tasks.
const TaskSpec& task_spec(const std::string& name);

// "listops, pathfinder and pathx": the tasks with a generator, for messages.
std::string generated_task_list();

}  // namespace lra
