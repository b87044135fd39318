// The task registry: every registration line (src/config/task_list.h) has its data half, its
// lra_prepare subcommand and its default config, and the spec agrees with what the readers and
// generators produce.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "config/config.h"
#include "config/tasks.h"
#include "data/listops.h"
#include "data/task_registry.h"

namespace lra {
namespace {

TEST(TaskRegistry, EveryTaskHasItsDataHalfInRegistrationOrder) {
  ASSERT_EQ(task_implementations().size(), task_specs().size());
  for (size_t i = 0; i < task_specs().size(); ++i) {
    const TaskImplementation& task = task_implementations()[i];
    EXPECT_EQ(task.spec, &task_specs()[i]);
    EXPECT_EQ(&task_implementation(task.spec->name), &task);
    EXPECT_EQ(task.generate != nullptr, task.spec->has_generator()) << task.spec->name;
    const prepare::Command command = task.prepare_command();
    EXPECT_FALSE(command.description.empty()) << task.spec->name;
    EXPECT_TRUE(command.run) << task.spec->name;
  }
  EXPECT_THROW(task_implementation("mnist"), std::invalid_argument);
}

TEST(TaskRegistry, DefaultConfigsTrainTheirTask) {
  for (const TaskSpec& spec : task_specs()) {
    const Config config = load_config(std::string(LRA_SOURCE_DIR) + "/" + spec.config);
    EXPECT_EQ(config.task, spec.name) << spec.config;
    EXPECT_EQ(config.data.source == "synthetic", spec.has_generator()) << spec.config;
  }
}

TEST(TaskRegistry, SpecsAgreeWithTheirShapes) {
  for (const TaskSpec& spec : task_specs()) {
    if (spec.image_side > 0) {
      EXPECT_EQ(spec.max_length, spec.image_side * spec.image_side) << spec.name;
    }
    EXPECT_GE(spec.vocab_size, 2) << spec.name;
    EXPECT_GE(spec.num_classes, 2) << spec.name;
  }
  EXPECT_EQ(task_spec("listops").vocab_size, listops::kVocabSize);
  EXPECT_EQ(task_spec("listops").num_classes, listops::kNumClasses);
  EXPECT_EQ(generated_task_list(), "listops, pathfinder and pathx");
  EXPECT_EQ(find_task("mnist"), nullptr);
}

TEST(TaskRegistryCli, PrepareHelpListsEveryTask) {
  FILE* pipe = popen((std::string(LRA_PREPARE_BIN) + " --help 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string help;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) help.append(buf.data(), n);
  EXPECT_EQ(pclose(pipe), 0) << help;
  for (const std::string& task : task_names())
    EXPECT_NE(help.find("\n  " + task + " "), std::string::npos) << task << "\n" << help;
}

}  // namespace
}  // namespace lra
